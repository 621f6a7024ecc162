"""``changecast serve``: the portal and API as a deployed process (uvicorn; ECS, a VM)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from changecast.cli.state import err_console, state_of

app = typer.Typer()


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=32, help="server processes")] = 1,
) -> None:
    """Serve the portal and API with uvicorn (mode ``aws`` unless CHANGECAST_MODE=local).

    X-Forwarded-For/-Proto are trusted only from CHANGECAST_WEB__FORWARDED_ALLOW_IPS (the load
    balancer's addresses or networks); with none listed, every client's own address is used.
    Everything the portal needs is checked before it listens (settings, config.json, the index
    schema), and the command exits 2 with the reason when something is missing.
    """
    import uvicorn

    from changecast.proxies import proxy_options
    from changecast.web.asgi import build_portal_runtime

    state = state_of(ctx)
    # Worker processes build the app from the environment: hand them the global options.
    if state.config is not None:
        os.environ["CHANGECAST_CONFIG"] = state.config
    if state.data_dir is not None:
        os.environ["CHANGECAST_DATA_DIR"] = str(state.data_dir)
    runtime = build_portal_runtime()
    proxies = runtime.settings.web.forwarded_allow_ips
    err_console.print(
        f"serving the portal on http://{host}:{port} ({workers} worker(s), "
        f"mode {runtime.settings.mode}, proxies trusted: {', '.join(proxies) or 'none'})",
        highlight=False,
    )
    uvicorn.run(
        "changecast.web.asgi:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **proxy_options(runtime.settings.web),
        server_header=False,
        access_log=False,
        log_level="warning",
    )

"""``changecast local up``: moto's server, simulated customer accounts, the API and the workers."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import structlog
import uvicorn
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from pydantic import ValidationError

from changecast.bootstrap import Runtime
from changecast.customers.models import SimulatedSesLimits
from changecast.errors import ConflictError, InvalidInputError
from changecast.local import provision
from changecast.local.demo import HUB_ACCOUNT, demo_config, demo_ses_config
from changecast.local.persist import BucketMirror, saved_objects
from changecast.local.state_mirror import StateMirror
from changecast.local_runtime import (
    LocalRuntime,
    local_file,
    process_identity,
    read_running,
    write_runtime,
)
from changecast.proxies import proxy_options
from changecast.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

log = structlog.get_logger()


class Background(Protocol):
    """Something ``local up`` runs beside the API (a worker), given the running system's Runtime."""

    def start(self, runtime: Runtime) -> None: ...

    def stop(self) -> None: ...


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class PortInUseError(ConflictError):
    """The portal's port is taken; ``context["port"]`` names it (callers say how to choose)."""


def claim_port(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, held until the API serves on it.

    Claimed before anything is provisioned, so a busy port is said at once; as uvicorn does,
    ``SO_REUSEADDR`` lets a port left in TIME_WAIT by an earlier run be taken again.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise PortInUseError(
            f"port {port} on {host} is in use ({exc.strerror or exc})", port=port, host=host
        ) from None
    return sock


@dataclass
class LocalOptions:
    """What ``local up`` was asked for."""

    data_dir: Path
    customers: int = 3
    port: int = 8000
    aws_port: int = 0
    host: str = "127.0.0.1"
    demo: bool = True
    ses_max_24h: int | None = None
    """The embedded SES's daily quota (None: config.json's ``local_ses``, else the default)."""
    ses_rate: float | None = None
    """The embedded SES's max send rate (None: config.json's ``local_ses``, else the default)."""


@dataclass
class LocalSystem:
    """Starts and stops the embedded system; ``start`` returns once everything is ready."""

    options: LocalOptions
    api: Callable[[Runtime], FastAPI]
    """Builds the portal's ASGI app (``web.app.create_app``), given by the entry point."""
    background: list[Background] = field(default_factory=list)
    runtime: Runtime | None = None
    _moto: ThreadedMotoServer | None = None
    _mirror: BucketMirror | None = None
    _state: StateMirror | None = None
    _server: uvicorn.Server | None = None
    _server_thread: threading.Thread | None = None
    _listener: socket.socket | None = None

    def _write_config(self, portal_url: str) -> Settings:
        data_dir = self.options.data_dir
        config = demo_config(self.options.customers, portal_url=portal_url).model_copy(
            update={"local_ses": self._ses_limits(data_dir / "config.json")}
        )
        (data_dir / "config.json").write_text(
            config.model_dump_json(indent=2, exclude_none=True), encoding="utf-8"
        )
        ses = demo_ses_config()
        (data_dir / "SESConfig.json").write_text(
            json.dumps(ses.model_dump(mode="json", by_alias=True), indent=2), encoding="utf-8"
        )
        endpoint = f"http://127.0.0.1:{self.options.aws_port}"
        return Settings(
            mode="local",
            data_dir=data_dir,
            config=data_dir / "config.json",
            aws_endpoint_url=endpoint,
        )

    def _ses_limits(self, path: Path) -> SimulatedSesLimits:
        """The embedded SES's limits: the flags given, else config.json's, else the defaults.

        config.json is the one the last start wrote (an operator may have edited it since).
        """
        kept: dict[str, object] = {}
        try:
            written = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except ValueError:
            written = {}  # not JSON: written again from scratch, as always
        found = written.get("local_ses") if isinstance(written, dict) else None
        if found is not None:
            try:
                kept = SimulatedSesLimits.model_validate(found).model_dump()
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"]) or "local_ses"
                raise InvalidInputError(
                    f"{path}: local_ses {where}: {first['msg']}; fix it or remove local_ses"
                ) from None
        given = {
            "max_24_hour_send": self.options.ses_max_24h,
            "max_send_rate": self.options.ses_rate,
        }
        kept.update({name: value for name, value in given.items() if value is not None})
        return SimulatedSesLimits.model_validate(kept)

    def start(self) -> LocalRuntime:
        opts = self.options
        opts.data_dir.mkdir(parents=True, exist_ok=True)
        running = read_running(opts.data_dir)
        if running is not None:
            raise ConflictError(
                f"changecast local is already running on {opts.data_dir} ({running.portal_url})",
                portal_url=running.portal_url,
            )
        self._listener = claim_port(opts.host, opts.port)  # before anything is provisioned
        try:
            return self._start(opts)
        except BaseException:
            self.stop()
            raise

    def _start(self, opts: LocalOptions) -> LocalRuntime:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        if not opts.aws_port:
            opts.aws_port = free_port()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=opts.aws_port, verbose=False)
        self._moto.start()
        portal_url = f"http://{opts.host}:{opts.port}"
        runtime = Runtime(settings=self._write_config(portal_url))
        self.runtime = runtime
        customers = provision.provision(runtime.aws, runtime.config, demo_ses_config())
        events_queue = provision.create_event_pipeline(runtime.aws, runtime.config)
        restored = self._restore(runtime)
        provision.configure_notifications(
            runtime.aws, runtime.config, provision.queue_arns(runtime.aws, customers)
        )
        self._mirror = BucketMirror(
            account_id=HUB_ACCOUNT,
            bucket=runtime.config.s3_config.bucket_name,
            root=opts.data_dir / "s3",
        )
        self._mirror.start()
        self._state = StateMirror(
            data_dir=opts.data_dir,
            accounts=[(m.account_id, m.region) for m in runtime.config.customer_mappings.values()],
            dynamodb=runtime.aws.client("dynamodb"),
            table=provision.LEDGER_TABLE,
        )
        self._state.restore_ledger()
        self._state.start()
        self._prepare_index(runtime, restored=restored)
        local = LocalRuntime(
            aws_endpoint_url=runtime.settings.aws_endpoint_url or "",
            portal_url=portal_url,
            bucket=runtime.config.s3_config.bucket_name,
            hub_account_id=HUB_ACCOUNT,
            region=runtime.config.aws_region,
            customers=customers,
            pid=os.getpid(),
            process=process_identity(os.getpid()),
            events_queue_url=events_queue,
        )
        runtime.local = local
        for item in self.background:
            item.start(runtime)
        self._start_api(runtime)
        if opts.demo and not restored:
            from changecast.local.demo_changes import create_demo_changes

            create_demo_changes(runtime)
        write_runtime(opts.data_dir, local)
        log.info("local_up", portal=portal_url, aws=local.aws_endpoint_url)
        return local

    def _restore(self, runtime: Runtime) -> int:
        """Put back every object saved by an earlier run (before notifications exist)."""
        saved = saved_objects(self.options.data_dir / "s3")
        for key, body in saved.items():
            runtime.store.put(key, body)
        if saved:
            log.info("local_restored", objects=len(saved))
        return len(saved)

    def _prepare_index(self, runtime: Runtime, *, restored: int) -> None:
        """A missing or empty index is rebuilt from the restored bucket."""
        from changecast.actions.rebuild import rebuild_index
        from changecast.changes.models import ChangeQuery

        index = runtime.index
        if restored and index.find(ChangeQuery(page_size=1)).total == 0:
            report = rebuild_index(
                archive=runtime.archive,
                store=runtime.store,
                index=index,
                audit_index=runtime.audit_index,
                read_model=runtime.deliveries,
                surveys=runtime.surveys,
            )
            log.info("local_index_rebuilt", changes=report.changes)

    def _start_api(self, runtime: Runtime) -> None:
        config = uvicorn.Config(
            self.api(runtime),
            host=self.options.host,
            port=self.options.port,
            log_level="warning",
            log_config=None,  # uvicorn's loggers go where the process's logging goes
            access_log=False,
            **proxy_options(runtime.settings.web),  # never uvicorn's default trust of 127.0.0.1
        )
        self._server = uvicorn.Server(config)
        sockets = [self._listener] if self._listener is not None else None
        self._server_thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": sockets}, name="api", daemon=True
        )
        self._server_thread.start()
        for _ in range(200):
            if self._server.started:
                return
            if not self._server_thread.is_alive():
                raise ConflictError(
                    f"the API could not start on {self.options.host}:{self.options.port}"
                )
            threading.Event().wait(0.05)

    def stop(self) -> None:
        """Stop everything; the data directory keeps every change, draft and version."""
        local_file(self.options.data_dir).unlink(missing_ok=True)
        if self._server is not None:
            self._server.should_exit = True
        for item in reversed(self.background):
            item.stop()
        if self._server_thread is not None:
            self._server_thread.join(timeout=10)
        if self._mirror is not None:
            self._mirror.stop()
        if self._state is not None:
            self._state.stop()
        if self._moto is not None:
            self._moto.stop()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        log.info("local_down", data_dir=str(self.options.data_dir))

"""Shared CLI plumbing: the global options, the runtime they select, and output helpers."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from changecast.access.models import Actor, Role
from changecast.bootstrap import Runtime, build_runtime
from changecast.cli.json_output import camel_json
from changecast.errors import InvalidInputError
from changecast.settings import Settings, load_settings


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


OutputOpt = Annotated[
    OutputFormat,
    typer.Option("--output", "-o", help="text for people, json for scripts", case_sensitive=False),
]

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    """What the root callback parsed; the runtime is built on first use."""

    config: str | None = None
    data_dir: Path | None = None
    verbose: bool = False
    _runtime: Runtime | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        overrides: dict[str, Any] = {}
        if self.data_dir is not None:
            overrides["data_dir"] = self.data_dir
        if self.config is not None:
            overrides["config"] = self.config
        return load_settings(**overrides)

    def runtime(self) -> Runtime:
        if self._runtime is None:
            settings = self.settings()
            require_a_target(settings)
            self._runtime = build_runtime(settings)
        return self._runtime

    def actor(self) -> Actor:
        """Who the CLI acts as: ``CHANGECAST_ACTOR`` (an email) as a ChangeManager."""
        runtime = self.runtime()
        email = runtime.settings.actor or (
            "cli@changecast.local" if runtime.settings.mode == "local" else ""
        )
        if not email:
            raise InvalidInputError(
                "set CHANGECAST_ACTOR to your email address so your actions are attributed to you"
            )
        return Actor(email=email, display_name=email, role=Role.CHANGE_MANAGER)


def no_local_up(data_dir: Path) -> str:
    """What the CLI says when it has neither a running ``local up`` nor a config.json to use."""
    return (
        f"no local up is running on {data_dir}: start one with `make up` in the changecast "
        "clone (or `changecast local up`), or point at a running one with CHANGECAST_DATA_DIR "
        "or --data-dir; to act on real AWS instead, give --config or CHANGECAST_CONFIG"
    )


def require_a_target(settings: Settings) -> None:
    """Refuse to guess: without a ``local up`` and without any AWS setting, say so plainly.

    A command given no mode, no config.json and no endpoint would otherwise fall through to
    real AWS with whatever a stopped ``local up`` left in the data directory.
    """
    from changecast.local_runtime import read_running

    explicit = settings.mode or settings.config or settings.aws_endpoint_url
    if not explicit and read_running(settings.data_dir) is None:
        raise InvalidInputError(no_local_up(settings.data_dir))


@contextmanager
def said_by_the_output(state: CliState) -> Iterator[None]:
    """Inside, info and warning log lines are dropped: the command prints the same facts.

    Errors still show, and so does everything with ``--verbose``.
    """
    if state.verbose:
        yield
        return
    import structlog

    before = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    try:
        yield
    finally:
        structlog.configure(wrapper_class=before)


def state_of(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        raise RuntimeError("the root callback did not run")
    return obj


def emit_json(value: Any) -> None:
    """Write one JSON document to stdout, with camelCase keys (see ``json_output``)."""
    text = json.dumps(camel_json(value), indent=2, default=str, ensure_ascii=False)
    sys.stdout.write(text + "\n")

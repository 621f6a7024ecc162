"""Readiness: can this process do its work? Each check names what failed and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from changecast.errors import ChangecastError

if TYPE_CHECKING:
    from changecast.bootstrap import Runtime


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]


def _run(name: str, probe: object) -> Check:
    try:
        detail = probe() if callable(probe) else str(probe)
    except ChangecastError as exc:
        return Check(name, ok=False, detail=exc.message[:500])
    except Exception as exc:  # a probe's failure is its answer, never the endpoint's
        return Check(name, ok=False, detail=f"{type(exc).__name__}: {str(exc)[:300]}")
    return Check(name, ok=True, detail=str(detail))


def readiness(runtime: Runtime) -> Readiness:
    """config.json loaded, the bucket reachable, and the index at this release's schema."""

    def config() -> str:
        return f"{len(runtime.directory.codes)} customers from {runtime.settings.config_location}"

    def bucket() -> str:
        runtime.store.reachable()
        return f"s3://{runtime.store.bucket}"

    def index() -> str:
        from changecast.index.engine import SCHEMA_HEAD, require_schema

        require_schema(runtime.index.engine)
        return f"schema {SCHEMA_HEAD}"

    checks = [_run("config", config)]
    if checks[0].ok:
        checks.append(_run("bucket", bucket))
    else:
        checks.append(Check("bucket", ok=False, detail="not checked: config.json did not load"))
    checks.append(_run("index", index))
    return Readiness(checks)

"""``{data-dir}/local.json``: what a running ``changecast local up`` serves, for other commands."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from changecast.errors import InvalidInputError

LOCAL_FILE = "local.json"
LOCAL_ACCESS_KEY = "changecast-local"
LOCAL_SECRET_KEY = "changecast-local-secret"


class LocalCustomer(BaseModel):
    """One simulated customer account."""

    model_config = ConfigDict(frozen=True)

    account_id: str = Field(pattern=r"^\d{12}$")
    queue_url: str
    dlq_url: str


class LocalRuntime(BaseModel):
    """The file ``local up`` writes when it is ready, and removes when it stops."""

    model_config = ConfigDict(frozen=True)

    aws_endpoint_url: str
    portal_url: str
    bucket: str
    hub_account_id: str = Field(pattern=r"^\d{12}$")
    region: str = "us-east-1"
    customers: dict[str, LocalCustomer]
    pid: int
    ledger_table: str = "changecast-ledger"


def local_file(data_dir: Path) -> Path:
    return data_dir / LOCAL_FILE


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_running(data_dir: Path) -> LocalRuntime | None:
    """The embedded system running on ``data_dir``, or None when there is none (or it died)."""
    path = local_file(data_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path}: cannot be read: {exc}", file=str(path)) from None
    try:
        runtime = LocalRuntime.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInputError(f"{path}: is not a local runtime file: {exc}") from None
    return runtime if _alive(runtime.pid) else None


def write_runtime(data_dir: Path, runtime: LocalRuntime) -> Path:
    path = local_file(data_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(runtime.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(path)
    return path

"""``{data-dir}/local.json``: what a running ``changecast local up`` serves, for other commands."""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from changecast.errors import InvalidInputError

LOCAL_FILE = "local.json"
OUTBOX_DIR = "outbox"
"""In the data directory: ``{account}.jsonl``, one line per message the embedded SES accepted."""
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
    process: str | None = None
    """Who wrote the file: host, boot and process start (see ``process_identity``)."""
    events_queue_url: str | None = None
    """The hub ``ses-events`` queue the simulated SES accounts publish to (through SNS)."""


def local_file(data_dir: Path) -> Path:
    return data_dir / LOCAL_FILE


def process_identity(pid: int) -> str | None:
    """``host/boot-id/start-ticks`` of a live process: unlike its pid, never reused.

    None when the process does not exist, or where ``/proc`` cannot tell (not Linux).
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    if len(fields) < 20:  # starttime is field 22 of proc(5): the 20th after the name
        return None
    return f"{socket.gethostname()}/{boot}/{fields[19]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_ours(runtime: LocalRuntime) -> bool:
    """Whether the process that wrote ``runtime`` still runs (not a stale or copied file).

    A pid alone is not enough: after a reboot, or on another machine, the same pid is some
    other process. Where ``/proc`` exists the writer's start time and boot must match too.
    """
    if not _alive(runtime.pid):
        return False
    current = process_identity(runtime.pid)
    if current is None:
        return runtime.process is None and not Path("/proc").is_dir()
    return runtime.process == current


def read_running(data_dir: Path) -> LocalRuntime | None:
    """The embedded system running on ``data_dir``, or None when there is none.

    A file left by a ``local up`` that died, or written by another machine or process, counts
    as none.
    """
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
    return runtime if is_ours(runtime) else None


def write_runtime(data_dir: Path, runtime: LocalRuntime) -> Path:
    path = local_file(data_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(runtime.model_dump_json(indent=2), encoding="utf-8")
    tmp.replace(path)
    return path


def outbox_path(data_dir: Path, account_id: str) -> Path:
    return data_dir / OUTBOX_DIR / f"{account_id}.jsonl"


def outbox_sent_since(data_dir: Path, account_id: str, since: datetime) -> int:
    """Emails (one per recipient) the embedded SES accepted in ``account_id`` from ``since``.

    Counts the outbox lines stamped ``sentAt`` (``local up`` stamps each line when it saves it,
    within a second of the send); lines without a stamp (written before stamps existed) and
    unreadable lines do not count.
    """
    path = outbox_path(data_dir, account_id)
    if not path.is_file():
        return 0
    count = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                item = json.loads(line)
                stamp = datetime.fromisoformat(str(item["sentAt"]))
                if stamp >= since:
                    count += max(1, len(item.get("destinations") or ()))
            except (ValueError, KeyError, TypeError):
                continue
    return count

"""Keeps the embedded SES outbox and the delivery ledger on disk across ``local up`` restarts.

moto keeps both in memory. ``{data-dir}/outbox/{account}.jsonl`` gets one line per message SES
accepted (appended once, in the order SES accepted them, stamped ``sentAt``: the embedded SES's
daily quota counts them), and ``{data-dir}/ledger.json`` a copy of
every ledger item, written atomically. A thread syncs both every second and once more at stop; at
start the ledger is put back before any worker runs, so that a restarted system never sends a
recipient a message the ledger says was sent. A SIGKILL loses at most the last second.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from changecast.local import moto_store
from changecast.local.moto_store import MotoMail
from changecast.local_runtime import outbox_path

log = structlog.get_logger()

SYNC_SECONDS = 1.0
LEDGER_FILE = "ledger.json"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def saved_mail(data_dir: Path, account_id: str) -> list[MotoMail]:
    """What earlier runs saved for one account, oldest first; a torn last line is skipped."""
    path = outbox_path(data_dir, account_id)
    if not path.exists():
        return []
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
            found.append(
                MotoMail(
                    message_id=str(item["messageId"]),
                    source=str(item["source"]),
                    destinations=tuple(str(a) for a in item["destinations"]),
                    subject=item.get("subject"),
                    body=item.get("body"),
                    raw=item.get("raw"),
                )
            )
        except (ValueError, KeyError, TypeError):
            log.warning("outbox_line_skipped", path=str(path))
    return found


def all_mail(data_dir: Path | None, account_id: str, region: str) -> list[MotoMail]:
    """Saved messages of earlier runs, then this run's messages not saved yet; no duplicates."""
    saved = saved_mail(data_dir, account_id) if data_dir is not None else []
    seen = {mail.message_id for mail in saved}
    live = [m for m in moto_store.sent_mail(account_id, region) if m.message_id not in seen]
    return saved + live


def mail_line(mail: MotoMail, saved_at: datetime) -> str:
    """One outbox line: the message, stamped ``sentAt`` (when it was saved)."""
    return json.dumps(
        {
            "messageId": mail.message_id,
            "sentAt": saved_at.isoformat(),
            "source": mail.source,
            "destinations": list(mail.destinations),
            "subject": mail.subject,
            "body": mail.body,
            "raw": mail.raw,
        }
    )


class StateMirror:
    """Mirrors the outbox of ``accounts`` (id, region) and the ledger ``table`` to ``data_dir``."""

    def __init__(
        self,
        *,
        data_dir: Path,
        accounts: Iterable[tuple[str, str]],
        dynamodb: Any,
        table: str,
    ) -> None:
        self.data_dir = data_dir
        self.accounts = sorted(set(accounts))
        self.dynamodb = dynamodb
        self.table = table
        self._saved: dict[str, set[str]] = {}
        self._ledger_text: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def restore_ledger(self) -> int:
        """Put the saved ledger items back (before workers start); returns how many."""
        path = self.data_dir / LEDGER_FILE
        if not path.exists():
            return 0
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            log.warning("ledger_copy_unreadable", path=str(path))
            return 0
        for start in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            pending: dict[str, Any] = {self.table: batch}
            while pending:
                answer = self.dynamodb.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
        self._ledger_text = path.read_text(encoding="utf-8")
        if items:
            log.info("local_ledger_restored", items=len(items))
        return len(items)

    def sync(self) -> None:
        with self._lock:
            for account_id, region in self.accounts:
                self._sync_mail(account_id, region)
            self._sync_ledger()

    def _sync_mail(self, account_id: str, region: str) -> None:
        saved = self._saved.get(account_id)
        if saved is None:
            saved = {mail.message_id for mail in saved_mail(self.data_dir, account_id)}
            self._saved[account_id] = saved
        new = [m for m in moto_store.sent_mail(account_id, region) if m.message_id not in saved]
        if not new:
            return
        path = outbox_path(self.data_dir, account_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)  # within a second of the sends (the sync's period)
        with path.open("a", encoding="utf-8") as out:
            out.write("".join(mail_line(mail, now) + "\n" for mail in new))
        saved.update(mail.message_id for mail in new)

    def _sync_ledger(self) -> None:
        items: list[Any] = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=self.table):
            items.extend(page.get("Items", []))
        items.sort(key=lambda item: (item["pk"]["S"], item["sk"]["S"]))
        text = json.dumps(items, sort_keys=True)
        if text != self._ledger_text:
            _write_atomic(self.data_dir / LEDGER_FILE, text)
            self._ledger_text = text

    def start(self) -> None:
        self.sync()
        self._thread = threading.Thread(target=self._run, name="state-mirror", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SYNC_SECONDS):
            try:
                self.sync()
            except Exception:  # a top-level loop: log and keep mirroring
                log.exception("state_mirror_failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.sync()
        except Exception:  # stopping: what could not be saved is logged, the stop goes on
            log.exception("state_mirror_failed")

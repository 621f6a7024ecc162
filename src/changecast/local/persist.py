"""Keeps the embedded bucket on disk: restore at start, mirror changes while running, flush at stop.

moto keeps everything in memory, so ``{data-dir}/s3/`` holds a copy of every object. A mirror
thread syncs it every half second; a SIGKILL loses at most that much.
"""

from __future__ import annotations

import threading
from pathlib import Path

import structlog

from changecast.local import moto_store

log = structlog.get_logger()

SYNC_SECONDS = 0.5


def _path_for(root: Path, key: str) -> Path:
    target = (root / key).resolve()
    if not target.is_relative_to(root.resolve()):
        raise ValueError(f"refusing key outside the mirror: {key!r}")
    return target


def saved_objects(root: Path) -> dict[str, bytes]:
    """Every object saved under ``root`` (key -> body)."""
    if not root.exists():
        return {}
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.endswith(".partial")
    }


class BucketMirror:
    """Mirrors one moto bucket into a folder, in a background thread."""

    def __init__(self, *, account_id: str, bucket: str, root: Path) -> None:
        self.account_id = account_id
        self.bucket = bucket
        self.root = root
        self.known: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def sync(self) -> int:
        """Write new and changed objects, delete removed ones; returns how many changed."""
        with self._lock:
            current = moto_store.bucket_etags(self.account_id, self.bucket)
            changed = 0
            for key, etag in current.items():
                if self.known.get(key) == etag:
                    continue
                body = moto_store.object_body(self.account_id, self.bucket, key)
                if body is None:
                    continue
                path = _path_for(self.root, key)
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_name(path.name + ".partial")
                partial.write_bytes(body)
                partial.replace(path)
                self.known[key] = etag
                changed += 1
            for key in set(self.known) - set(current):
                _path_for(self.root, key).unlink(missing_ok=True)
                del self.known[key]
                changed += 1
            return changed

    def start(self) -> None:
        self.known = {}
        self.sync()
        self._thread = threading.Thread(target=self._run, name="bucket-mirror", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SYNC_SECONDS):
            try:
                self.sync()
            except Exception:  # a top-level loop: log and keep mirroring
                log.exception("bucket_mirror_failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sync()

"""A private PostgreSQL with password (scram-sha-256) authentication, for credential tests.

The machine's PostgreSQL trusts every local connection, so a rotated password would prove
nothing there. This one is started by ``initdb`` + ``pg_ctl`` as the ``postgres`` user in a temp
directory on a free port; a missing binary fails the test (it is never skipped).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SUPERUSER_PASSWORD = "superuser-password-for-tests"


@dataclass(frozen=True)
class PrivatePostgres:
    port: int
    database: str = "postgres"

    def url(self, user: str | None = None, password: str | None = None) -> str:
        """``postgresql+psycopg://[user[:password]@]127.0.0.1:port/db``."""
        auth = ""
        if user is not None:
            auth = user + (f":{password}" if password is not None else "") + "@"
        return f"postgresql+psycopg://{auth}127.0.0.1:{self.port}/{self.database}"

    def superuser_url(self) -> str:
        return self.url("postgres", SUPERUSER_PASSWORD)

    def libpq(self, user: str = "postgres", password: str = SUPERUSER_PASSWORD) -> str:
        """A libpq URL for psycopg.connect (as ``user``)."""
        return self.url(user, password).replace("+psycopg", "")


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise AssertionError("no /usr/lib/postgresql/*/bin/initdb: install postgresql")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(*command: str) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, *command], check=True, capture_output=True, text=True, timeout=120
    )


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Start a scram-sha-256 PostgreSQL cluster; stop and delete it afterwards."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="changecast-pg-"))
    data = root / "data"
    pwfile = root / "pw"
    pwfile.write_text(SUPERUSER_PASSWORD + "\n", encoding="utf-8")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    root.chmod(0o700)
    port = _free_port()
    try:
        _as_postgres(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--no-sync",
        )
        _as_postgres(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-w",
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        try:
            yield PrivatePostgres(port=port)
        finally:
            _as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)

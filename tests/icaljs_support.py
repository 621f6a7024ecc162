"""Mozilla's ical.js (pinned in tests/icaljs, installed with ``npm ci``) as a checker of our files.

``icaljs_times`` parses iCalendar files with ical.js (node) and returns each VEVENT's times in
UTC as ical.js computes them from the file's own VTIMEZONEs. The install is reproducible: the
package-lock.json pins ical.js by integrity hash; ``ensure_icaljs`` runs ``npm ci`` when the
installed copy is missing or older than the lock. It fails (never skips) when node or npm is
missing or the install fails: the check is part of the suite on every machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent / "icaljs"
LOCK = ROOT / "package-lock.json"
INSTALLED = ROOT / "node_modules" / ".package-lock.json"
NODE_MAJOR = 20


class IcalJsUnavailableError(RuntimeError):
    """node/npm missing, or ``npm ci`` failed: the test fails with this message."""


def ensure_icaljs() -> Path:
    """``npm ci`` in tests/icaljs unless what is installed matches the lock; the script's path."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise IcalJsUnavailableError(
            "the ical.js check needs node (v20) and npm: install them (Debian: apt-get install "
            "nodejs npm), then run the tests again"
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    major = int(version.stdout.strip().lstrip("v").split(".")[0])
    if major < NODE_MAJOR:
        raise IcalJsUnavailableError(f"ical.js needs node >= {NODE_MAJOR}, found {version.stdout}")
    fresh = INSTALLED.is_file() and INSTALLED.stat().st_mtime >= LOCK.stat().st_mtime
    if not fresh:
        done = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise IcalJsUnavailableError(f"npm ci in {ROOT} failed: {done.stderr.strip()[-500:]}")
    return ROOT / "check.mjs"


@dataclass(frozen=True)
class IcalJsEvent:
    """One VEVENT as ical.js reads it."""

    uid: str
    tzid: str | None
    start: datetime
    end: datetime
    status: str | None
    sequence: int | None


@dataclass(frozen=True)
class IcalJsFile:
    """One parsed file: its METHOD, the TZIDs of its VTIMEZONEs and its events."""

    method: str | None
    tzids: list[str]
    events: list[IcalJsEvent]


def _event(raw: dict[str, Any]) -> IcalJsEvent:
    return IcalJsEvent(
        uid=raw["uid"],
        tzid=raw["tzid"],
        start=datetime.fromisoformat(raw["start"]),
        end=datetime.fromisoformat(raw["end"]),
        status=raw["status"],
        sequence=raw["sequence"],
    )


def icaljs_times(script: Path, files: list[Path]) -> list[IcalJsFile]:
    """Each file as ical.js reads it (node runs with TZ=UTC: nothing depends on the host)."""
    done = subprocess.run(
        ["node", str(script), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TZ": "UTC"},
    )
    if done.returncode != 0:
        raise AssertionError(f"ical.js could not parse the files: {done.stderr.strip()[-2000:]}")
    return [
        IcalJsFile(method=f["method"], tzids=f["tzids"], events=[_event(e) for e in f["events"]])
        for f in json.loads(done.stdout)
    ]

"""Benchmark the footprint of what we deploy: install size, Lambda zips, cold import, --help.

Run: ``uv run python bench/footprint.py [--runs 7]``. It

(a) creates a fresh venv in a temp dir (``uv venv`` + ``uv pip install --compile-bytecode .``,
    i.e. ``pip install .`` with its .pyc files; the versions are resolved fresh, not read from
    uv.lock) and measures its site-packages (target <= 180 MB) and that ``import moto`` fails;
(b) builds the x86_64 worker and portal zips with the real builder (pip from PyPI or its
    cache) and reports their sizes (worker <= 40 MB zipped, <= 150 MB unzipped; the portal
    against Lambda's 250 MB unzipped limit);
(c) unzips the worker into an empty folder and times ``import
    changecast.workers.lambda_handler`` in ``python -I -S`` with only that folder on sys.path
    (median of ``--runs`` fresh interpreters; target <= 0.4 s). The informational row beside it
    adds what the handler imports lazily (icalendar, for invites only); rows below name the
    heaviest imports by ``-X importtime`` cumulative microseconds (median over the runs);
(d) times ``changecast --help`` in the fresh venv (median, target <= 0.3 s) and checks that it
    imported no boto3.

MB here is 10^6 bytes. Timings are wall clock on this machine, which other work shares: the load
average is printed with the table, and the one at (c)'s start in its row.

``--import-only [--worker-zip PATH]`` runs (c) alone, on a zip built from this checkout (or the
one given, e.g. from ``changecast package lambda --kind worker``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from changecast.packaging.build import PackageManifest, build
from changecast.packaging.kinds import KINDS

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000
INSTALL_MB = 180
WORKER_ZIP_MB = 40
WORKER_UNZIPPED_MB = 150
LAMBDA_UNZIPPED_MB = 250
IMPORT_S = 0.4
HELP_S = 0.3
console = Console(width=110)

IMPORT_PROBE = """
import sys, time
sys.path.insert(0, sys.argv[1])
start = time.perf_counter()
import changecast.workers.lambda_handler
{extra}
print(time.perf_counter() - start)
"""
BARE_PROBE = "import sys, time\nprint(0.0)"
HELP_PROBE = """
import sys
sys.argv = ["changecast", "--help"]
from changecast.cli.main import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write("boto3-loaded=%s\\n" % ("boto3" in sys.modules))
"""


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def fresh_venv(where: Path) -> Path:
    """``uv venv`` + ``uv pip install .``; returns the venv's python."""
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is not on PATH")
    venv = where / "venv"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python), str(ROOT)],
        check=True,
    )
    return python


def site_packages(python: Path) -> Path:
    answer = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(answer.stdout.strip())


def imports_moto(python: Path) -> bool:
    done = subprocess.run([str(python), "-c", "import moto"], capture_output=True, check=False)
    return done.returncode == 0


def timed(command: list[str], runs: int, *, env: dict[str, str] | None = None) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env=env)
        times.append(time.perf_counter() - start)
    return times


def import_times(folder: Path, runs: int, extra: str = "") -> list[float]:
    return [wall for wall, _cpu in import_costs(folder, runs, extra)]


def import_costs(
    folder: Path, runs: int, extra: str = "", *, bare: bool = False
) -> list[tuple[float, float]]:
    """(wall seconds of the import, CPU seconds of the whole interpreter) per fresh run.

    ``bare``: the same interpreter importing nothing (its start-up, to subtract).
    """
    probe = BARE_PROBE if bare else IMPORT_PROBE.format(extra=extra)
    found = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", probe, str(folder)],
            capture_output=True,
            text=True,
            check=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        found.append((float(done.stdout.strip().splitlines()[-1]), cpu))
    return found


WATCHED = (
    "aws_lambda_powertools",
    "aws_lambda_powertools.utilities.batch",
    "changecast.bootstrap",
    "changecast.workers.processing",
    "changecast.workers.wiring",
    "boto3",
    "pydantic_settings",
    "structlog",
    "asyncio",
    "jinja2",
)


def import_breakdown(folder: Path, runs: int) -> dict[str, int]:
    """Median ``-X importtime`` cumulative microseconds of ``WATCHED`` modules (0: not loaded)."""
    seen: dict[str, list[int]] = {name: [] for name in WATCHED}
    for _ in range(runs):
        done = subprocess.run(
            [
                sys.executable,
                "-I",
                "-S",
                "-X",
                "importtime",
                "-c",
                IMPORT_PROBE.format(extra=""),
                str(folder),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        found = {}
        for line in done.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[1].strip().isdigit():
                found[parts[2].strip()] = int(parts[1])
        for name in WATCHED:
            seen[name].append(found.get(name, 0))
    return {name: int(statistics.median(values)) for name, values in seen.items()}


def cold_import_rows(folder: Path, runs: int) -> list[tuple[str, str, str, bool | None]]:
    """(c): the handler's cold import from the unzipped worker, and what weighs most in it."""
    load = os.getloadavg()[0]
    costs = import_costs(folder, runs)
    times = [wall for wall, _cpu in costs]
    cold = statistics.median(times)
    cpu = statistics.median(used for _wall, used in costs)
    bare = statistics.median(used for _wall, used in import_costs(folder, runs, bare=True))
    lazy = statistics.median(import_times(folder, runs, extra="import icalendar"))
    rows: list[tuple[str, str, str, bool | None]] = [
        (
            f"handler cold import (median of {runs}, load {load:.1f})",
            f"{cold:.3f} s",
            f"<= {IMPORT_S} s",
            cold <= IMPORT_S,
        ),
        (
            "  its CPU, user+sys, less a bare python's",
            f"{cpu - bare:.3f} s",
            "(informational)",
            None,
        ),
        ("  + icalendar (lazy, invites only)", f"{lazy:.3f} s", "(informational)", None),
    ]
    for name, micros in import_breakdown(folder, runs).items():
        shown = f"{micros / 1000:.0f} ms" if micros else "not imported"
        rows.append((f"  importtime cumulative {name}", shown, "(informational)", None))
    return rows


def import_only(runs: int, worker_zip: Path | None) -> None:
    """Build (or take) the worker zip and run (c) alone."""
    with tempfile.TemporaryDirectory(prefix="changecast-import-") as scratch:
        work = Path(scratch)
        if worker_zip is None:
            console.print("building the x86_64 worker zip ...")
            worker_zip = work / "dist" / build(KINDS["worker"], "x86_64", work / "dist").file
        with zipfile.ZipFile(worker_zip) as archive:
            archive.extractall(work / "task")
        console.print(f"(c) cold import of the unzipped worker, {runs} fresh interpreters ...")
        rows = cold_import_rows(work / "task", runs)
    table = Table(title=f"Worker handler cold import ({worker_zip.name}, CPython 3.11)")
    for column in ("metric", "measured", "target", "result"):
        table.add_column(column, justify="right" if column != "metric" else "left")
    for metric, measured, target, ok in rows:
        table.add_row(metric, measured, target, "-" if ok is None else verdict(ok))
    console.print(table)
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    console.print(f"load average {load} on {os.cpu_count()} CPUs (timings are wall clock)")
    raise SystemExit(1 if any(ok is False for *_, ok in rows) else 0)


def help_loads_boto3(python: Path) -> bool:
    done = subprocess.run(
        [str(python), "-c", HELP_PROBE], capture_output=True, text=True, check=True
    )
    return "boto3-loaded=True" in done.stderr


def verdict(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red]FAIL[/red]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--import-only", action="store_true", help="only (c), the cold import")
    parser.add_argument("--worker-zip", type=Path, help="with --import-only: this worker zip")
    args = parser.parse_args()
    if args.import_only:
        import_only(args.runs, args.worker_zip)
    rows: list[tuple[str, str, str, bool | None]] = []
    with tempfile.TemporaryDirectory(prefix="changecast-footprint-") as scratch:
        work = Path(scratch)
        console.print("(a) fresh venv: uv venv + uv pip install --compile-bytecode . ...")
        python = fresh_venv(work)
        installed = folder_bytes(site_packages(python)) / MB
        moto = imports_moto(python)
        rows.append(
            (
                "site-packages of `pip install .`",
                f"{installed:.1f} MB",
                f"<= {INSTALL_MB} MB",
                installed <= INSTALL_MB,
            )
        )
        rows.append(("`import moto` in that venv", "works" if moto else "fails", "fails", not moto))

        console.print("(b) building the x86_64 worker and portal zips ...")
        built: dict[str, PackageManifest] = {}
        for kind in ("worker", "portal"):
            built[kind] = build(KINDS[kind], "x86_64", work / "dist")
        worker, portal = built["worker"], built["portal"]
        rows += [
            (
                "worker zip, zipped",
                f"{worker.zipped_bytes / MB:.1f} MB",
                f"<= {WORKER_ZIP_MB} MB",
                worker.zipped_bytes <= WORKER_ZIP_MB * MB,
            ),
            (
                "worker zip, unzipped",
                f"{worker.unzipped_bytes / MB:.1f} MB",
                f"<= {WORKER_UNZIPPED_MB} MB",
                worker.unzipped_bytes <= WORKER_UNZIPPED_MB * MB,
            ),
            ("portal zip, zipped", f"{portal.zipped_bytes / MB:.1f} MB", "(informational)", None),
            (
                "portal zip, unzipped",
                f"{portal.unzipped_bytes / MB:.1f} MB",
                f"<= {LAMBDA_UNZIPPED_MB} MB (Lambda limit)",
                portal.unzipped_bytes <= LAMBDA_UNZIPPED_MB * MB,
            ),
        ]

        console.print(f"(c) cold import of the unzipped worker, {args.runs} fresh interpreters ...")
        folder = work / "task"
        with zipfile.ZipFile(work / "dist" / worker.file) as archive:
            archive.extractall(folder)
        rows += cold_import_rows(folder, args.runs)

        console.print("(d) changecast --help in the fresh venv ...")
        script = python.parent / "changecast"
        help_s = statistics.median(timed([str(script), "--help"], args.runs))
        boto3 = help_loads_boto3(python)
        rows.append(
            (
                "`changecast --help` wall (median)",
                f"{help_s:.3f} s",
                f"<= {HELP_S} s",
                help_s <= HELP_S,
            )
        )
        rows.append(("`--help` imports boto3", "yes" if boto3 else "no", "no", not boto3))

    table = Table(title="Deployable footprint (x86_64, CPython 3.11)")
    for column in ("metric", "measured", "target", "result"):
        table.add_column(column, justify="right" if column != "metric" else "left")
    for metric, measured, target, ok in rows:
        table.add_row(metric, measured, target, "-" if ok is None else verdict(ok))
    console.print(table)
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    console.print(
        f"load average {load} on {os.cpu_count()} CPUs; pip {worker.pip}; worker sha256 "
        f"{worker.sha256[:16]}...; glibc floor worker {worker.glibc}, portal {portal.glibc}"
    )
    console.print(
        "shortcuts: (a) resolves versions fresh (not uv.lock); (c) is import only: building "
        "the Runtime (config from S3) happens on the first event and is not timed"
    )
    console.print(json.dumps({"worker": worker.to_json()["sha256"]}))
    raise SystemExit(1 if any(ok is False for *_, ok in rows) else 0)


if __name__ == "__main__":
    main()

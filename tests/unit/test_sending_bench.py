"""Smoke test: the throughput bench runs the real send loop and its correctness rows pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "delivery_throughput.py"


def test_the_throughput_bench_delivers_everything_once_under_random_throttling() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--only", "chaos"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    rows = [line for line in out.splitlines() if line.startswith("│ chaos")]
    figures = [row.split("│")[2].strip() for row in rows]
    assert any(f.startswith("sent exactly once each") for f in figures)
    assert any(f.startswith("delivered, none failed") for f in figures)
    assert any(f.startswith("max attempts in any 1 s") for f in figures)
    assert all(row.rstrip("│ ").endswith("PASS") for row in rows)
    assert "Shortcuts:" in out

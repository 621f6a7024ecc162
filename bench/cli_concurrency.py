"""Per-customer fan-out: 30 customers, 200 ms injected into every AWS call.

Target: wall time ÷ slowest customer ≤ 1.3 with all customers at once; the sequential run
(--max-customer-concurrency 1) is printed for comparison. Runs on in-process moto.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog
from moto import mock_aws
from rich.console import Console
from rich.table import Table

from changecast.aws.sessions import AwsClients, AwsTarget
from changecast.bootstrap import Runtime
from changecast.cli.customer_aws import CustomerAws
from changecast.cli.fanout_run import FanoutResult, run_fanout
from changecast.cli.ses import topics_task
from changecast.cli.state import OutputFormat
from changecast.settings import Settings

CUSTOMERS = 30
LATENCY = 0.2
TARGET = 1.3


def _fake_aws_env(root: Path) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(root / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "none"),
    }.items():
        os.environ[name] = value


def _write_config(root: Path) -> Path:
    mappings = {
        f"c{i:02d}": {
            "customer_code": f"c{i:02d}",
            "customer_name": f"Customer {i:02d}",
            "ses_role_arn": f"arn:aws:iam::{300000000000 + i}:role/changecast-ses",
        }
        for i in range(CUSTOMERS)
    }
    config = {
        "s3_config": {"bucket_name": "changecast-bench"},
        "customer_mappings": mappings,
        "email_config": {
            "sender_address": "notices@example.com",
            "meeting_organizer": "calendar@example.com",
            "portal_base_url": "http://portal.test",
            "domain": "example.com",
        },
    }
    (root / "config.json").write_text(json.dumps(config), encoding="utf-8")
    examples = Path(__file__).resolve().parents[1] / "examples" / "SESConfig.json"
    (root / "SESConfig.json").write_text(examples.read_text(encoding="utf-8"), encoding="utf-8")
    return root / "config.json"


def _slow(**_: Any) -> None:
    time.sleep(LATENCY)


def _run(config: Path, *, latency: bool, apply: bool, concurrency: int | None) -> FanoutResult:
    runtime = Runtime(settings=Settings(config=config, data_dir=config.parent))
    hooks = (("before-call", _slow),) if latency else ()
    runtime.aws = AwsClients(target=AwsTarget(region="us-east-1"), event_hooks=hooks)
    aws = CustomerAws(runtime)
    mappings = [runtime.directory.get(code) for code in runtime.directory.codes]
    aws.warm()
    command = "ses topics apply" if apply else "ses topics plan"
    return run_fanout(
        command,
        mappings,
        topics_task(aws, apply=apply),
        concurrency=concurrency,
        output=OutputFormat.JSON,
    )


def _report(parallel: FanoutResult, sequential: FanoutResult) -> str:
    failed = len(parallel.failed) + len(sequential.failed)
    ratio = parallel.wall_seconds / parallel.slowest_seconds
    verdict = "PASS" if ratio <= TARGET and not failed else "FAIL"
    table = Table(title=f"ses topics plan, {LATENCY * 1000:.0f} ms per AWS call")
    columns = (
        "customers",
        "slowest customer",
        "wall time",
        "wall ÷ slowest",
        f"target ≤ {TARGET}",
        "sequential wall (concurrency 1)",
        "speed-up",
        "failed",
    )
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(
        str(len(parallel.outcomes)),
        f"{parallel.slowest_seconds:.2f}s",
        f"{parallel.wall_seconds:.2f}s",
        f"{ratio:.2f}",
        verdict,
        f"{sequential.wall_seconds:.2f}s",
        f"{sequential.wall_seconds / parallel.wall_seconds:.1f}x",
        str(failed),
    )
    Console(width=120).print(table)
    return verdict


def main() -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    with tempfile.TemporaryDirectory() as tmp, mock_aws():
        root = Path(tmp)
        _fake_aws_env(root)
        config = _write_config(root)
        _run(config, latency=False, apply=True, concurrency=None)
        parallel = _run(config, latency=True, apply=False, concurrency=None)
        sequential = _run(config, latency=True, apply=False, concurrency=1)
    verdict = _report(parallel, sequential)
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())

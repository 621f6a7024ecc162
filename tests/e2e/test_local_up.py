"""The embedded system as a new user runs it: local up, the CLI, restart, index rebuild."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import unquote_plus

import pytest

from changecast.local_runtime import read_running
from tests.builders import change_body
from tests.e2e.conftest import LocalUp

pytestmark = pytest.mark.e2e


def drain_change_keys(system: LocalUp, queue_url: str) -> list[str]:
    """Every S3 object key on a queue (S3's test events are skipped)."""
    sqs = system.client("sqs")
    keys: list[str] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        if not messages:
            return keys
        for message in messages:
            body = json.loads(message["Body"])
            keys += [unquote_plus(r["s3"]["object"]["key"]) for r in body.get("Records", [])]
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_local_up_submit_restart_and_rebuild(local_up: LocalUp, tmp_path: Path) -> None:
    local = local_up.start("--customers", "3", "--no-demo", "--no-workers")  # keep the queues
    assert sorted(local.customers) == ["acme", "globex", "initech"]
    config = json.loads((local_up.data_dir / "config.json").read_text())
    assert set(config["customer_mappings"]) == {"acme", "globex", "initech"}
    queues = {code: c.queue_url for code, c in local.customers.items()}
    for url in queues.values():
        drain_change_keys(local_up, url)

    body = tmp_path / "change.json"
    body.write_text(json.dumps(change_body(title="Rotate certificates on the bastion")))
    draft = local_up.cli("change", "new", "--from-file", str(body), "--output", "json")
    change_id = draft["changeId"]
    assert all(drain_change_keys(local_up, url) == [] for url in queues.values())

    submitted = local_up.cli("change", "submit", change_id, "--output", "json")
    assert submitted["complete"] is True
    for code, url in queues.items():
        assert drain_change_keys(local_up, url) == [
            f"customers/{code}/{change_id}-v1-submitted.json"
        ]
    listed = local_up.client("s3").list_objects_v2(Bucket=local.bucket, Prefix="archive/")
    keys = [item["Key"] for item in listed["Contents"]]
    assert f"archive/latest/{change_id}.json" in keys
    assert any(k.endswith(f"/{change_id}-v1.json") for k in keys)

    search = local_up.cli("change", "search", "bastion", "--output", "json")
    assert [item["changeId"] for item in search["items"]] == [change_id]

    assert local_up.stop() == 0
    assert not (local_up.data_dir / "local.json").exists()
    local_up.start("--customers", "3")
    shown = local_up.cli("change", "show", change_id, "--output", "json")
    assert shown["status"] == "submitted"
    assert local_up.cli("change", "search", "bastion", "--output", "json") == search
    listing = local_up.cli("change", "list", "--output", "json")

    for path in local_up.data_dir.glob("index.db*"):
        path.unlink()
    rebuilt = local_up.cli("index", "rebuild", "--output", "json")
    assert rebuilt["changes"] == 1
    after = local_up.cli("change", "search", "bastion", "--output", "json")
    assert json.dumps(after, sort_keys=True, indent=1) == json.dumps(
        search, sort_keys=True, indent=1
    )
    assert local_up.cli("change", "list", "--output", "json") == listing
    assert local_up.stop() == 0


def test_the_outbox_and_the_ledger_survive_a_restart(local_up: LocalUp) -> None:
    """The demo's mail is still listed after a restart, and the ledger still knows it was sent."""
    local_up.start("--customers", "2")
    imported = local_up.cli("identity", "import", "--all", "--dry-run", "--output", "json")
    for report in imported["customers"]:
        assert report["status"] == "ok"
        assert len(report["data"]["plan"]["changes"]) == 4, report  # the demo Identity Center
    accounts = local_up.cli("alt-contacts", "show", "--all", "--output", "json")
    for report in accounts["customers"]:
        names = {row["accountName"] for row in report["data"]["changes"]}
        assert len(names) == 3, names  # the management account and two members
    deadline = time.monotonic() + 60
    sent: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        sent = local_up.cli("local", "outbox", "--customer", "acme", "--output", "json")
        if len(sent) >= 3:
            break
        time.sleep(0.5)
    assert len(sent) >= 3, sent
    time.sleep(2.5)  # the mirror's next sync has run, and no delivery is in flight any more
    sent = local_up.cli("local", "outbox", "--customer", "acme", "--output", "json")
    table = local.ledger_table if (local := read_running(local_up.data_dir)) else ""
    before = local_up.client("dynamodb").scan(TableName=table)["Count"]
    assert before > 0
    assert local_up.stop() == 0
    assert (local_up.data_dir / "ledger.json").exists()

    local_up.start("--customers", "2")
    after = local_up.cli("local", "outbox", "--customer", "acme", "--output", "json")
    assert [item["messageId"] for item in after[: len(sent)]] == [
        item["messageId"] for item in sent
    ]
    assert [item["topic"] for item in after[: len(sent)]] == [item["topic"] for item in sent]
    assert local_up.client("dynamodb").scan(TableName=table)["Count"] >= before
    assert local_up.stop() == 0

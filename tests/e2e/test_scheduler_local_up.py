"""``local up``'s scheduler: a window 2 minutes away, a 1-minute reminder lead, two schedulers.

The scheduler thread inside ``local up`` ticks every second; a second instance
(``changecast scheduler tick``, separate processes) ticks beside it the whole time. Each
subscribed recipient gets exactly one reminder.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.builders import change_body
from tests.e2e.conftest import LocalUp

pytestmark = pytest.mark.e2e
CODES = ("acme", "globex")
SCHEDULER_ENV = {
    "CHANGECAST_SCHEDULER__INTERVAL_SECONDS": "1",
    "CHANGECAST_SCHEDULER__REMINDER_MINUTES": "1",
}


def outbox(up: LocalUp, code: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = json.loads(
        up.cli("local", "outbox", "--customer", code, "--json")
    )
    return items


def addresses(items: list[dict[str, object]], prefix: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for item in items:
        if str(item["subject"]).startswith(prefix):
            recipients = item["recipients"]
            assert isinstance(recipients, list)
            found.update(str(r) for r in recipients)
    return found


def test_one_reminder_per_subscriber_with_two_schedulers_ticking(
    local_up: LocalUp, tmp_path: Path
) -> None:
    local_up.start("--customers", "2", "--no-demo", env=SCHEDULER_ENV)
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=3)
    body = change_body(
        customers=list(CODES),
        start=f"{start:%Y-%m-%dT%H:%M}",
        end=f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M}",
        timezone="UTC",
    )
    source = tmp_path / "change.json"
    source.write_text(json.dumps(body), encoding="utf-8")
    created = local_up.cli("change", "new", "--from-file", str(source), "--output", "json")
    change_id = created["changeId"]
    local_up.cli("change", "submit", change_id)
    local_up.cli("change", "approve", change_id, env={"CHANGECAST_ACTOR": "bob@ccoe.example.com"})

    stop = threading.Event()
    ticks: list[int] = []

    def second_scheduler() -> None:
        while not stop.is_set():
            local_up.cli("scheduler", "tick", env=SCHEDULER_ENV)
            ticks.append(1)

    other = threading.Thread(target=second_scheduler, daemon=True)
    other.start()
    try:
        deadline = start + timedelta(seconds=20)  # the reminder is due from start - 1 min
        while datetime.now(UTC) < deadline:
            time.sleep(2)
    finally:
        stop.set()
        other.join(timeout=120)
    assert len(ticks) >= 2  # the second instance ticked while the reminder was due

    for code in CODES:
        items = outbox(local_up, code)
        announced = addresses(items, "[Approved]")
        reminded = addresses(items, "[Reminder]")
        assert announced, code  # the aws-announce subscribers the approval reached
        assert reminded == Counter(dict.fromkeys(announced, 1)), code
    keys = local_up.client("s3").list_objects_v2(Bucket="changecast-local", Prefix="customers/")[
        "Contents"
    ]
    reminders = sorted(k["Key"] for k in keys if k["Key"].endswith("-reminder.json"))
    assert reminders == [f"customers/{code}/{change_id}-v1-reminder.json" for code in CODES]
    assert local_up.stop() == 0

"""On a real ``local up``: the embedded SES's quota and rate are the operator's, not moto's.

moto says 200 emails a day at 1/s. ``local up --ses-max-24h N --ses-rate R`` writes config.json's
``local_ses``; preflight (the portal's gate and ``ses preflight``) checks today's sends, counted
from the outbox the embedded system keeps, against N. 2,000 sends earlier today (written as the
state mirror writes them) plus the real approval requests pass a quota of 5,000; restarted with
a quota of 2,000 (the rate kept from config.json), the same outbox is refused with the real
numbers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from changecast.local.demo import account_of
from changecast.local.moto_store import MotoMail
from changecast.local.state_mirror import mail_line
from changecast.local_runtime import outbox_path
from tests.e2e.conftest import LocalUp
from tests.e2e.test_delivery_e2e import Portal, eventually, new_change

pytestmark = pytest.mark.e2e
EARLIER = 2_000
ACME = account_of(0)


def seed_earlier_sends(up: LocalUp) -> None:
    """2,000 sends to acme's contacts in the last 20 hours, as an earlier run saved them."""
    path = outbox_path(up.data_dir, ACME)
    path.parent.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    with path.open("w", encoding="utf-8") as out:
        for number in range(EARLIER):
            mail = MotoMail(
                message_id=f"earlier-{number:05d}",
                source="change-notices@ccoe.example.com",
                destinations=(f"person-{number}@acme.example.com",),
                subject="An earlier notice",
                body="sent earlier today",
            )
            out.write(mail_line(mail, now - timedelta(seconds=36 * number)) + "\n")


def acme_quota(up: LocalUp, expect: int) -> dict[str, Any]:
    found = up.cli("ses", "preflight", "--customer", "acme", "--output", "json", expect=expect)
    (customer,) = found["customers"]
    return {c["check"]: c for c in customer["data"]["checks"]}


def test_the_operator_sets_the_embedded_ses_quota_and_rate(local_up: LocalUp) -> None:
    seed_earlier_sends(local_up)
    local = local_up.start(
        "--customers", "3", "--no-demo", "--ses-max-24h", "5000", "--ses-rate", "40"
    )
    config = json.loads((local_up.data_dir / "config.json").read_text())
    assert config["local_ses"] == {"max_24_hour_send": 5000, "max_send_rate": 40.0}
    portal = Portal(local_up, local.portal_url)
    try:
        change_id = new_change(portal, title="Quarterly patching")
        portal.act(change_id, "submit")  # the gate passes: 2,000 sent today of 5,000
        sent = len(portal.settled("acme", EARLIER + 2))  # + the two approval requests
        checks = eventually(  # the state mirror stamps the new sends within a second
            lambda: (
                found
                if "of 2998 remaining"
                in (found := acme_quota(local_up, 0))["daily_quota"]["reason"]
                else None
            )
        )
        assert sent == EARLIER + 2
        assert checks["daily_quota"]["status"] == "pass"
        assert checks["send_rate"]["reason"].startswith("send rate 40/s")
    finally:
        portal.close()
    assert local_up.stop() == 0

    local = local_up.start("--customers", "3", "--no-demo", "--ses-max-24h", "2000")
    checks = acme_quota(local_up, 1)
    assert checks["daily_quota"]["status"] == "fail"
    # 2,002 sent today (the earlier 2,000 and the two approval requests) of 2,000
    assert checks["daily_quota"]["reason"].startswith("today's remaining quota is 0 emails; this")
    assert checks["send_rate"]["reason"].startswith("send rate 40/s")  # kept in config.json
    portal = Portal(local_up, local.portal_url)
    try:
        change_id = new_change(portal, title="Refused by the quota", customers=["acme"])
        refused = portal.http.post(f"/api/changes/{change_id}/submit")
        assert refused.status_code != 200
        assert "today's remaining quota is 0 emails" in refused.text
    finally:
        portal.close()
    assert local_up.stop() == 0

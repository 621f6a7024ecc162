"""Issue 15's acceptance on the real ``local up``: simulator outcomes, replays, suppression.

initech's list holds SES's mailbox simulator addresses (opted in to ``aws-announce``). A change
approved for initech is mailed to them; the embedded simulator publishes what SES would, through
SNS to the ``ses-events`` queue, and the events worker thread applies it. ``changecast events
replay`` publishes every journaled event again, twice and newest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.aws.test_ses_events_pipeline import SIMULATED
from tests.builders import change_body
from tests.e2e.test_delivery_e2e import Portal, eventually, mine, running_portal

pytestmark = pytest.mark.e2e
CODE = "initech"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    yield from running_portal(tmp_path_factory, "ses-events")


def approved(portal: Portal) -> str:
    created = portal.http.post("/api/changes", json=change_body(customers=[CODE]))
    assert created.status_code == 201, created.text
    change_id = str(created.json()["changeId"])
    portal.act(change_id, "submit")
    portal.act(change_id, "approve")
    return change_id


def deliveries(portal: Portal, change_id: str) -> dict[str, Any]:
    answer = portal.http.get(f"/api/changes/{change_id}/deliveries", params={"recipients": "1"})
    assert answer.status_code == 200, answer.text
    (customer,) = answer.json()["customers"]
    return dict(customer)


def simulator_outcomes(portal: Portal, change_id: str) -> dict[str, tuple[str, str | None]]:
    people = deliveries(portal, change_id)["recipients"] or []
    return {
        p["address"]: (p["outcome"], p["reason"])
        for p in people
        if p["event"] == "approved" and p["address"] in SIMULATED
    }


def settled(portal: Portal, change_id: str) -> dict[str, tuple[str, str | None]]:
    def probe() -> dict[str, tuple[str, str | None]] | None:
        found = simulator_outcomes(portal, change_id)
        done = {a: o for a, (o, _r) in found.items()} == SIMULATED
        return found if done else None

    return eventually(probe, timeout=60)


def counts(portal: Portal, change_id: str) -> list[tuple[str, int, int, int]]:
    rows = [i["record"] for i in deliveries(portal, change_id)["current"] if i["record"]]
    return sorted((r["event"], r["delivered"], r["bounced"], r["complained"]) for r in rows)


def test_outcomes_replays_and_suppression_on_local_up(portal: Portal) -> None:
    change_id = approved(portal)
    outcomes = settled(portal, change_id)
    assert outcomes["bounce@simulator.amazonses.com"][1] == (
        "Permanent/General: smtp; 550 5.1.1 user unknown"
    )
    assert outcomes["complaint@simulator.amazonses.com"][1] == "abuse"
    approved_counts = eventually(
        lambda: next((c for c in counts(portal, change_id) if c[0] == "approved"), None)
    )
    assert approved_counts[2:] == (2, 1)  # bounce@ and suppressionlist@; complaint@
    page = portal.http.get(f"/changes/{change_id}").text
    assert "Bounced" in page and "Complained" in page

    before = (simulator_outcomes(portal, change_id), counts(portal, change_id))
    replayed = portal.system.cli(
        "events", "replay", "--reverse", "--times", "2", "--customer", CODE, "--output", "json"
    )
    assert replayed["published"] == 2 * replayed["events"] > 0
    # the worker applies the replay from the queue: wait until the queue is empty again
    sqs = portal.system.client("sqs")
    url = sqs.get_queue_url(QueueName="changecast-ses-events")["QueueUrl"]

    def drained() -> bool | None:
        found = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return True if set(found.values()) == {"0"} else None

    eventually(drained, timeout=60)
    assert (simulator_outcomes(portal, change_id), counts(portal, change_id)) == before
    dead = sqs.get_queue_url(QueueName="changecast-ses-events-dlq")["QueueUrl"]
    assert sqs.receive_message(QueueUrl=dead).get("Messages", []) == []

    listed = portal.system.cli("ses", "suppression", "list", "--customer", CODE, "-o", "json")
    assert "bounce@simulator.amazonses.com" in str(listed)
    later = approved(portal)

    def mailed() -> set[str] | None:
        items = [i for i in mine(portal.outbox(CODE), later) if "[Approved]" in i["subject"]]
        found = {r for item in items for r in item["recipients"]}
        return found if "success@simulator.amazonses.com" in found else None

    eventually(mailed)
    # the run has finished: its delivery record is there (so nothing more will be mailed)
    eventually(lambda: next((c for c in counts(portal, later) if c[0] == "approved"), None))
    recipients = mailed() or set()
    assert "bounce@simulator.amazonses.com" not in recipients
    assert "complaint@simulator.amazonses.com" not in recipients

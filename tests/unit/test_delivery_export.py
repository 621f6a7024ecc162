"""The drill-down's rows from ledger entries, the CSV export, and the SES rate thresholds."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from changecast.delivery.export import deliveries_csv
from changecast.delivery.ledger import Channel, LedgerEntry, LedgerState
from changecast.delivery.models import CustomerRates
from changecast.delivery.status import (
    ChangeDeliveries,
    CustomerDelivery,
    DeliveryState,
    recipient_outcomes,
)
from changecast.distribution.models import DistributionEvent

AT = datetime(2030, 1, 1, tzinfo=UTC)
CID = "11111111-1111-4111-8111-111111111111"


def entry(
    recipient: str, *, version: int = 2, event: str = "approved", **fields: object
) -> LedgerEntry:
    values: dict[str, object] = {
        "partition": f"acme#{CID}#v{version}#{event}",
        "channel": Channel.EMAIL,
        "recipient": recipient,
        "state": LedgerState.SENT,
        "topic": "aws-announce",
        "attempts": 1,
        "created_at": AT,
        "updated_at": AT,
        **fields,
    }
    return LedgerEntry(**values)  # type: ignore[arg-type]


def test_the_drill_down_shows_the_current_versions_outcomes_newest_event_first() -> None:
    entries = [
        entry("b@acme.example.com", event="submitted"),
        entry(
            "a@acme.example.com",
            outcome="bounced",
            outcome_detail="Permanent/General",
            outcome_at=AT + timedelta(minutes=5),
        ),
        entry("c@acme.example.com", state=LedgerState.FAILED, reason="MessageRejected"),
        entry("old@acme.example.com", version=1),
    ]
    found = recipient_outcomes(entries, 2)
    assert [(r.address, r.event, r.outcome, r.reason) for r in found] == [
        ("a@acme.example.com", DistributionEvent.APPROVED, "bounced", "Permanent/General"),
        ("c@acme.example.com", DistributionEvent.APPROVED, "failed", "MessageRejected"),
        ("b@acme.example.com", DistributionEvent.SUBMITTED, "sent", None),
    ]
    assert found[0].at == AT + timedelta(minutes=5)
    assert found[1].at == AT


def test_the_csv_neutralises_spreadsheet_formulas() -> None:
    hostile = entry("=HYPERLINK(1)@acme.example.com", state=LedgerState.FAILED, reason="+cmd")
    customer = CustomerDelivery(
        customer_code="acme",
        state=DeliveryState.PENDING,
        recipients=recipient_outcomes([hostile], 2),
    )
    text = deliveries_csv(ChangeDeliveries(change_id=CID, version=2, customers=[customer]))
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["recipient"] == "'=HYPERLINK(1)@acme.example.com"
    assert (row["reason"], row["state"], row["sent"]) == ("'+cmd", "pending", "")


def test_rates_raise_an_alarm_at_the_ses_review_thresholds() -> None:
    assert CustomerRates(customer_code="acme", sent=100, bounced=5).bounce_alarm
    assert not CustomerRates(customer_code="acme", sent=100, bounced=4).bounce_alarm
    assert CustomerRates(customer_code="acme", sent=1000, complained=1).complaint_alarm
    assert not CustomerRates(customer_code="acme", sent=1001, complained=1).complaint_alarm
    nothing = CustomerRates(customer_code="acme")
    assert (nothing.bounce_rate, nothing.bounce_alarm) == (None, False)

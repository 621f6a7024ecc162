"""The send path skips suppressed addresses, records them, and tags every message it sends."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime

from changecast.contacts.models import SuppressionReason
from changecast.delivery.ledger import Channel, LedgerState
from changecast.delivery.service import DeliveryRequest, deliver, delivery_key
from changecast.delivery.ses_events import message_tags
from changecast.delivery.suppression import SuppressionRecord
from changecast.distribution.models import DistributionEvent
from tests.delivery_support import stored_change
from tests.fakes.ledger import MemorySuppressions
from tests.unit.test_delivery_service import World

NEVER = threading.Event()
T0 = datetime(2030, 1, 1, tzinfo=UTC)


def test_a_suppressed_address_is_not_mailed_and_is_recorded_as_suppressed() -> None:
    world = World()
    suppressions = MemorySuppressions()
    suppressions.suppress(
        SuppressionRecord("acme", "Ops-Lead@acme.example.com", SuppressionReason.BOUNCE, T0, "x")
    )
    suppressions.suppress(  # another customer's suppression changes nothing for acme
        SuppressionRecord(
            "globex", "cloud-architect@acme.example.com", SuppressionReason.BOUNCE, T0
        )
    )
    deps = replace(world.deps(), suppressions=suppressions)
    request = DeliveryRequest.for_change(stored_change(), DistributionEvent.APPROVED)
    record = deliver(request, deps=deps, stop=NEVER)
    mailed = {m.to for m in world.mail.sent}
    assert "ops-lead@acme.example.com" not in mailed
    assert "cloud-architect@acme.example.com" in mailed
    key = delivery_key(request, "acme")
    states = {
        (e.channel.value, e.recipient): (e.state, e.outcome)
        for e in world.ledger.entries(key.partition)
    }
    assert states[("email", "ops-lead@acme.example.com")] == (LedgerState.SUPPRESSED, "suppressed")
    assert states[("invite", "ops-lead@acme.example.com")] == (LedgerState.SUPPRESSED, "suppressed")
    assert record.filtered >= 1

    suppressions.unsuppress("acme", "ops-lead@acme.example.com")
    deliver(request, deps=deps, stop=NEVER)  # removed from the list: the next run mails it
    assert "ops-lead@acme.example.com" in {m.to for m in world.mail.sent}


def test_every_message_carries_the_change_version_event_and_customer_tags() -> None:
    world = World()
    request = DeliveryRequest.for_change(stored_change(), DistributionEvent.APPROVED)
    deliver(request, deps=world.deps(), stop=NEVER)
    key = delivery_key(request, "acme")
    kinds = {m.kind: dict(m.tags) for m in world.mail.sent}
    assert kinds["simple"] == message_tags(key, Channel.EMAIL)
    assert kinds["raw"]["changecast-channel"] == "invite"
    assert kinds["raw"]["changecast-change"] == key.change_id

"""Pure decisions behind the fault handling: redelivery plans, permanent errors, final attempts."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from changecast.aws.errors import Permanent, permanent_send_error, translate
from changecast.changes.models import Change, ChangeStatus
from changecast.delivery.ledger import DeliveryKey
from changecast.delivery.models import ExecutionRecord, ExecutionStatus, delivery_record
from changecast.delivery.redelivery import redelivery_plan, trigger_refs
from changecast.delivery.results import SentSoFar, failed_record
from changecast.delivery.status import DeliveryState, event_delivery
from changecast.distribution.models import DistributionEvent
from changecast.errors import UpstreamError
from changecast.workers.messages import contradiction
from changecast.workers.processing import Attempt, Outcome, classify
from tests.delivery_support import CREATED, stored_change

E = DistributionEvent
CID = "0f0e0d0c-0b0a-4908-8706-050403020100"


def keys(*pairs: tuple[int, DistributionEvent]) -> list[str]:
    return [f"customers/acme/{CID}-v{v}-{e.value}.json" for v, e in pairs]


def change(status: ChangeStatus, version: int, approved: list[int]) -> Change:
    base = stored_change(status=status, version=version, change_id=CID, approved_before=False)
    history = [h.model_dump() for h in base.history]
    for v in approved:
        history.append(
            {"action": "approve", "status": "approved", "version": v, "at": CREATED, "by": "b@x"}
        )
    return base.model_copy(update={"history": [type(base.history[0])(**h) for h in history]})


def plan(current: Change, stored: list[tuple[int, DistributionEvent]], done: set[Any]) -> list[str]:
    refs = trigger_refs(reversed(keys(*stored)), customer="acme", change_id=CID)
    return redelivery_plan(current, refs, done)


def test_redelivery_queues_every_undelivered_event_in_version_then_workflow_order() -> None:
    current = change(ChangeStatus.SUBMITTED, 2, approved=[1])
    stored = [(1, E.SUBMITTED), (1, E.APPROVED), (2, E.SUBMITTED)]
    assert plan(current, stored, set()) == keys((1, E.APPROVED), (2, E.SUBMITTED))
    assert plan(current, stored, {(1, E.APPROVED)}) == keys((2, E.SUBMITTED))


def test_an_approval_request_is_never_redelivered_once_its_version_was_approved() -> None:
    approved = change(ChangeStatus.APPROVED, 1, approved=[1])
    assert plan(approved, [(1, E.SUBMITTED), (1, E.APPROVED)], set()) == keys((1, E.APPROVED))


def test_an_approval_is_superseded_by_a_later_approval_and_by_the_end_of_the_change() -> None:
    reapproved = change(ChangeStatus.APPROVED, 2, approved=[1, 2])
    stored = [(1, E.APPROVED), (2, E.SUBMITTED), (2, E.UPDATED)]
    assert plan(reapproved, stored, set()) == keys((2, E.UPDATED))
    cancelled = change(ChangeStatus.CANCELLED, 1, approved=[1])
    assert plan(cancelled, [(1, E.APPROVED), (1, E.CANCELLED)], set()) == keys((1, E.CANCELLED))


def test_other_customers_and_other_changes_triggers_are_ignored() -> None:
    found = trigger_refs(
        [
            f"customers/globex/{CID}-v1-submitted.json",
            f"customers/acme/{CID.replace('0f', 'aa')}-v1-submitted.json",
            f"customers/acme/{CID}-v1-bogus.json",
            *keys((1, E.SUBMITTED)),
        ],
        customer="acme",
        change_id=CID,
    )
    assert [r.key for r in found] == keys((1, E.SUBMITTED))


def client_error(code: str, message: str, status: int = 400) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "Op")


@pytest.mark.parametrize(
    ("code", "kind"),
    [("AccessDenied", Permanent.ROLE_DENIED), ("NoSuchEntity", Permanent.ROLE_MISSING)],
)
def test_an_assume_role_refusal_is_permanent_and_dead_lettered(code: str, kind: str) -> None:
    error = translate(client_error(code, "not authorized", 403), operation="AssumeRole arn:x")
    assert isinstance(error, UpstreamError) and not error.retryable
    assert error.context["permanent"] == kind
    assert classify(error).outcome is Outcome.DEAD


def test_access_denied_elsewhere_is_not_a_permanent_role_error() -> None:
    error = translate(client_error("AccessDenied", "no", 403), operation="GetObject k")
    assert "permanent" not in error.context


def test_a_paused_account_and_an_unverified_sender_are_permanent_but_a_recipient_is_not() -> None:
    paused = translate(client_error("SendingPausedException", "paused"), operation="SendEmail")
    assert isinstance(paused, UpstreamError) and paused.context["permanent"] == "sending_paused"
    unverified = client_error(
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: Notices@CCOE.example.com",
    )
    found = permanent_send_error(unverified, sender="notices@ccoe.example.com", operation="Send")
    assert found is not None and found.context["permanent"] == "sender_unverified"
    sandbox = client_error(
        "MessageRejected", "Email address is not verified. ...: someone@acme.example.com"
    )
    assert permanent_send_error(sandbox, sender="notices@ccoe.example.com", operation="S") is None
    assert permanent_send_error(sandbox, sender="", operation="S") is None


def test_the_last_two_receives_are_final_attempts() -> None:
    assert [Attempt(n, 5).final for n in range(1, 6)] == [False, False, False, True, True]
    assert Attempt(1, 1).final
    assert Attempt(4, 5).dead_reason("boom") == "dead-lettered after 4 receives: boom"


def test_an_embedded_event_that_contradicts_the_change_state_is_named() -> None:
    cancelled = stored_change(status=ChangeStatus.CANCELLED)
    reason = contradiction(E.COMPLETED, cancelled)
    assert reason is not None and "completed" in reason and "cancelled" in reason
    assert contradiction(E.CANCELLED, cancelled) is None
    assert contradiction(E.SUBMITTED, stored_change(status=ChangeStatus.APPROVED)) is not None


def test_a_dead_lettered_failure_shows_its_reason_and_what_was_sent() -> None:
    key = DeliveryKey("acme", CID, 1, E.COMPLETED)
    record: ExecutionRecord = failed_record(
        key=key,
        reason="dead-lettered after 5 receives: x",
        at=CREATED,
        so_far=SentSoFar(sent=22, failed=1),
        dead_lettered=True,
    )
    shown = event_delivery(E.COMPLETED, 1, delivery_record(record))
    assert (shown.state, shown.dead_lettered) == (DeliveryState.FAILED, True)
    assert shown.reason == "dead-lettered after 5 receives: x"
    assert (record.status, record.already_sent, record.failed) == (ExecutionStatus.FAILED, 22, 1)
    assert shown.model_dump(by_alias=True)["deadLettered"] is True
    assert event_delivery(E.COMPLETED, 1, None).state is DeliveryState.PENDING

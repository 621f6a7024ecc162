"""What the emails say: footers name the topic sent under, reasons, every changed field, CRLF."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime

import pytest

from changecast.changes.models import Action, Change, ChangeStatus, HistoryEntry
from changecast.changes.version_diff import word_diff
from changecast.delivery.diff import changed_fields
from changecast.delivery.mime import invite_message
from changecast.delivery.render import RenderedEmail, render_email
from changecast.distribution.models import DistributionEvent
from changecast.distribution.planner import plan_triggers
from changecast.local.demo import demo_config
from tests.builders import change_body
from tests.builders_announcements import announcement_body
from tests.delivery_support import stored_change

E, S, A = DistributionEvent, ChangeStatus, Action
CONFIG = demo_config(3, portal_url="http://portal.test")
ACME = CONFIG.customer_mappings["acme"]
AT = datetime(2030, 1, 3, 9, 0, tzinfo=UTC)
FOOTER = re.compile(r"subscribed to ([a-z-]+)")


def render(change: Change, event: DistributionEvent, **kwargs: object) -> RenderedEmail:
    return render_email(
        change=change,
        event=event,
        customer=ACME,
        email_config=CONFIG.email_config,
        was_approved=True,
        invite_sent=True,
        **kwargs,  # type: ignore[arg-type]
    )


def with_entry(change: Change, action: Action, status: ChangeStatus, comment: str) -> Change:
    entry = HistoryEntry(
        action=action, status=status, version=change.version, at=AT, by="m@x.com", comment=comment
    )
    return change.model_copy(update={"status": status, "history": [*change.history, entry]})


def v2_of(v1: Change, metadata: dict[str, object] | None = None, **body: object) -> Change:
    fields = change_body(customers=["acme"], **body)  # type: ignore[arg-type]
    fields["changeMetadata"].update(metadata or {})
    edited = Change.model_validate({**v1.to_json_dict(), **fields, "version": 2})
    entry = HistoryEntry(action=A.EDIT, status=S.SUBMITTED, version=2, at=AT, by="a@x.com")
    return edited.model_copy(update={"status": S.SUBMITTED, "history": [*v1.history, entry]})


@pytest.mark.parametrize(
    "event",
    [
        E.APPROVED,
        E.UPDATED,
        E.CANCELLED,
        E.WITHDRAWN,
        E.COMPLETED,
        E.REMINDER,
        E.WINDOW_OPEN,
        E.WINDOW_CLOSED,
        E.SURVEY,
    ],
)
def test_every_footer_names_the_topic_its_part_is_sent_under(event: DistributionEvent) -> None:
    v1 = stored_change(customers=["acme"])
    change, previous = v1, None
    if event in {E.UPDATED, E.WITHDRAWN}:
        change, previous = v2_of(v1, start="2030-03-02T10:00", end="2030-03-02T12:00"), v1
    rendered = render(change, event, previous=previous)
    for part in (rendered.text, rendered.html):
        assert set(FOOTER.findall(part)) == {rendered.topic}
    if rendered.invite is not None:
        assert rendered.invite.topic == "aws-calendar"
        for part in (rendered.invite.text, rendered.invite.html):
            assert set(FOOTER.findall(part)) == {"aws-calendar"}
        raw = invite_message(rendered, sender="s@x.com", sender_name="CCoE", change_id="c")
        body = raw.for_recipient("r@x.com").decode()
        assert "aws-announce" not in _decoded_parts(body)
        assert "aws-calendar" in _decoded_parts(body)


def _decoded_parts(raw: str) -> str:
    message = email.message_from_string(raw)
    found = []
    for part in message.walk():
        if part.get_content_type() in {"text/plain", "text/html"}:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found.append(payload.decode())
    return "".join(found)


def announcement(kind: str) -> Change:
    data = announcement_body(
        customers=["acme"],
        kind=kind,
        event={
            "implementationStart": "2030-04-02T15:00",
            "implementationEnd": "2030-04-02T16:00",
            "timezone": "Europe/Berlin",
        },
    )
    return Change.model_validate(
        {
            **data,
            "changeId": "11111111-2222-4333-8444-555555555555",
            "version": 1,
            "createdAt": "2030-01-02T08:00:00Z",
            "modifiedAt": "2030-01-02T08:00:00Z",
            "createdBy": "author@ccoe.example.com",
            "modifiedBy": "author@ccoe.example.com",
            "status": "approved",
        }
    )


@pytest.mark.parametrize(
    ("kind", "event", "topic"),
    [
        ("finops", E.SUBMITTED, "announce-approval"),
        ("finops", E.APPROVED, "finops-announce"),
        ("cic", E.APPROVED, "cic-announce"),
        ("general", E.CANCELLED, "general-updates"),
    ],
)
def test_announcement_footers_name_their_topic_and_their_invites_the_calendar(
    kind: str, event: DistributionEvent, topic: str
) -> None:
    rendered = render(announcement(kind), event)
    assert rendered.topic == topic
    for part in (rendered.text, rendered.html):
        assert set(FOOTER.findall(part)) == {topic}
    if event is not E.SUBMITTED:
        assert rendered.invite is not None
        for part in (rendered.invite.text, rendered.invite.html):
            assert set(FOOTER.findall(part)) == {"aws-calendar"}


def test_a_nudge_says_it_goes_to_the_author_not_to_a_topic() -> None:
    rendered = render(stored_change(customers=["acme"]), E.NUDGE)
    assert "Sent to you as the author or last editor of this change." in rendered.text
    assert FOOTER.findall(rendered.text) == []


def test_the_approval_request_footer_names_the_approval_topic() -> None:
    rendered = render(stored_change(status=S.SUBMITTED, approved_before=False), E.SUBMITTED)
    assert rendered.topic == "aws-approval"
    assert set(FOOTER.findall(rendered.text)) == {"aws-approval"}


def test_the_cancel_reason_reaches_the_cancel_email_through_the_trigger() -> None:
    approved = stored_change(customers=["acme"])
    reason = "The vendor postponed the certificate rollover."
    cancelled = with_entry(approved, A.CANCEL, S.CANCELLED, reason)
    triggers = plan_triggers(
        action=A.CANCEL,
        previous=approved,
        current=cancelled,
        archive_key="k",
        actor="m@x.com",
        at=AT,
    )
    assert [(t.event, t.reason) for t in triggers] == [(E.CANCELLED, reason)]
    # the worker renders the archived version (no cancel entry) with the trigger's reason
    rendered = render(approved, E.CANCELLED, reason=triggers[0].reason)
    assert f"Why it was cancelled: {reason}" in rendered.text
    assert reason in rendered.html
    assert rendered.invite is not None and reason in rendered.invite.text
    assert "Why it was cancelled" not in render(approved, E.CANCELLED).text


def test_a_withdrawal_gives_the_rejection_comment() -> None:
    v1 = stored_change(customers=["acme"])
    v2 = with_entry(
        v2_of(v1, start="2030-03-02T10:00", end="2030-03-02T12:00"),
        A.REJECT,
        S.REJECTED,
        "Clashes with the quarter close.",
    )
    rendered = render(v2, E.WITHDRAWN, previous=v1)  # no trigger reason: from the history
    assert "Why it was withdrawn: Clashes with the quarter close." in rendered.text


def test_an_edit_of_only_the_expected_impact_is_listed_as_a_word_diff() -> None:
    v1 = stored_change(customers=["acme"])
    v2 = v2_of(v1, metadata={"expectedCustomerImpact": "Up to 30 seconds of API errors."})
    rendered = render(v2, E.UPDATED, previous=v1)
    assert "Expected customer impact: [-None.-] {+Up to 30 seconds of API errors.+}" in (
        rendered.text
    )
    assert "<del" in rendered.html and "<ins" in rendered.html
    assert "30 seconds" in rendered.html
    diff_url = f"http://portal.test/changes/{v1.change_id}?compare=1&amp;to=2#diff"
    assert diff_url in rendered.html
    rows = changed_fields(v1, v2, customer=ACME)
    assert [row.label for row in rows] == ["Expected customer impact"]


def test_a_long_rewrite_says_changed_and_links_to_the_full_diff() -> None:
    v1 = stored_change(customers=["acme"])
    plan = "\n".join(f"Step {n}: drain node {n}, swap its listener, check it." for n in range(40))
    v2 = v2_of(v1, metadata={"rollbackPlan": plan, "testPlan": "Handshake and OCSP checks."})
    rendered = render(v2, E.UPDATED, previous=v1)
    url = f"http://portal.test/changes/{v1.change_id}?compare=1&to=2#diff"
    assert f"Rollback plan: changed (the full diff: {url})" in rendered.text
    assert "Test plan: Handshake {+and OCSP+} checks." in rendered.text
    assert "Step 39" not in rendered.text.split("Expected customer impact:")[0]


def test_the_update_lists_times_old_and_new_in_the_customers_timezone() -> None:
    v1 = stored_change(customers=["acme"])
    v2 = v2_of(
        v1, start="2030-03-01T11:00", end="2030-03-01T13:00", metadata={"changeReason": "Expiry."}
    )
    tokyo = ACME.model_copy(update={"timezone": "Asia/Tokyo"})
    rendered = render_email(
        change=v2, event=E.UPDATED, customer=tokyo, email_config=CONFIG.email_config, previous=v1
    )
    assert "Start: Sat 02 Mar 2030 00:00 JST → Sat 02 Mar 2030 01:00 JST" in rendered.text
    assert "End: Sat 02 Mar 2030 02:00 JST → Sat 02 Mar 2030 03:00 JST" in rendered.text
    assert "Reason for the change: [-Certificates expire soon.-] {+Expiry.+}" in rendered.text


def test_word_diff_keeps_context_and_elides_long_unchanged_runs() -> None:
    before = " ".join(f"w{n}" for n in range(30))
    after = before.replace("w15", "CHANGED")
    pieces = word_diff(before, after)
    assert pieces is not None
    assert [(p.tag, p.text) for p in pieces] == [
        ("equal", "… w11 w12 w13 w14"),
        ("delete", "w15"),
        ("insert", "CHANGED"),
        ("equal", "w16 w17 w18 w19 …"),
    ]
    assert word_diff("a " * 500, "b " * 500) is None
    spacing = word_diff("Swap listeners.\nThen check.", "Swap listeners. Then  check.")
    assert spacing is not None
    assert [p.text for p in spacing] == ["(only spacing or line breaks changed)"]


def test_forty_invites_with_long_titles_have_no_bare_lf() -> None:
    for number in range(40):
        title = f"Rotate TLS certificates on every load balancer in région {number} " * 3
        change = stored_change(customers=["acme"], meetingInvite={"title": title[:200]})
        rendered = render(change, E.APPROVED)
        name = "Équipe Cloud de la Compagnie Générale des Très Longs Noms " * (number % 3)
        prepared = invite_message(
            rendered, sender="s@x.com", sender_name=name or "CCoE", change_id="c"
        )
        raw = prepared.for_recipient(f"person-{number}@acme.example.com")
        assert re.search(rb"(?<!\r)\n", raw) is None, number
        assert re.search(rb"\r(?!\n)", raw) is None, number
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert b"Subject: =?utf-8?" in head
        assert b"\r\n " in head  # the long subject really is folded, with CRLF
        parsed = email.message_from_bytes(raw, policy=email.policy.SMTP)
        assert str(parsed["Subject"]) == f"Invitation: {title[:200]}".strip()
        if name:
            assert str(parsed["From"]).startswith("Équipe Cloud")

"""Edit after approval as pure rules: planner events, routes, SEQUENCEs, the diff and the emails."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from changecast.changes.models import Action, Change, ChangeStatus, HistoryEntry
from changecast.changes.workflow import TRANSITIONS, replaced_version
from changecast.delivery.diff import changed_fields
from changecast.delivery.invite import invite_sequence
from changecast.delivery.render import RenderedEmail, render_email
from changecast.delivery.router import CalendarMethod, route
from changecast.delivery.service import DeliveryRequest, load_replaced
from changecast.distribution.models import DistributionEvent, invite_changed
from changecast.distribution.planner import events_for, plan_triggers
from changecast.errors import NotFoundError
from changecast.local.demo import demo_config
from tests.builders import change_body, change_edit
from tests.delivery_support import CREATED, publish, stored_change
from tests.fakes.store import MemoryObjectStore

A, S, E = Action, ChangeStatus, DistributionEvent
CONFIG = demo_config(3, portal_url="http://portal.test")
ACME = CONFIG.customer_mappings["acme"]
AT = datetime(2030, 1, 2, 9, 0, tzinfo=UTC)


def entry(action: Action, status: ChangeStatus, version: int) -> HistoryEntry:
    return HistoryEntry(action=action, status=status, version=version, at=AT, by="a@x.com")


def after(actions: list[Action]) -> Change:
    """The latest document after ``actions`` (from submit on), as the services would leave it."""
    change = stored_change(status=S.SUBMITTED, approved_before=False, customers=["acme"])
    status, version, history = S.SUBMITTED, 1, list(change.history)
    for action in actions:
        status = TRANSITIONS[(status, action)]
        version += 1 if action is A.EDIT else 0
        history.append(entry(action, status, version))
    return change.model_copy(update={"status": status, "version": version, "history": history})


def v2_of(v1: Change, **body: object) -> Change:
    """Version 2 of ``v1``, edited after approval, with the fields of ``change_body(**body)``."""
    fields = change_body(customers=["acme"], **body)  # type: ignore[arg-type]
    edited = Change.model_validate({**v1.to_json_dict(), **fields, "version": 2})
    history = [*v1.history, entry(A.EDIT, S.SUBMITTED, 2)]
    return edited.model_copy(update={"status": S.SUBMITTED, "history": history})


@pytest.mark.parametrize(
    ("actions", "last", "events"),
    [
        ([], A.SUBMIT, [E.SUBMITTED]),
        ([A.APPROVE], A.APPROVE, [E.APPROVED]),
        ([A.APPROVE, A.EDIT], A.EDIT, [E.SUBMITTED]),
        ([A.APPROVE, A.EDIT, A.APPROVE], A.APPROVE, [E.UPDATED]),
        ([A.APPROVE, A.EDIT, A.REJECT], A.REJECT, [E.WITHDRAWN]),
        ([A.REJECT], A.REJECT, []),
        ([A.EDIT, A.REJECT], A.REJECT, []),
        ([A.EDIT, A.APPROVE], A.APPROVE, [E.APPROVED]),
        ([A.APPROVE, A.EDIT, A.APPROVE, A.CANCEL], A.CANCEL, [E.CANCELLED]),
        ([A.APPROVE, A.EDIT, A.APPROVE, A.COMPLETE], A.COMPLETE, [E.COMPLETED, E.SURVEY]),
    ],
)
def test_the_planner_emits_the_events_of_each_action_as_its_table_says(
    actions: list[Action], last: Action, events: list[DistributionEvent]
) -> None:
    assert events_for(last, current=after(actions)) == events


def test_triggers_of_a_replacing_version_name_the_approved_version_they_replace() -> None:
    current = after([A.APPROVE, A.EDIT, A.APPROVE, A.EDIT, A.APPROVE])
    assert (current.version, replaced_version(current.history, current.version)) == (3, 2)
    [trigger] = plan_triggers(
        action=A.APPROVE,
        previous=None,
        current=current,
        archive_key="archive/2030/01/02/x.json",
        actor="b@x.com",
        at=AT,
    )
    assert (trigger.event, trigger.replaces_version, trigger.invite_sent) == (E.UPDATED, 2, True)
    cancelled = after([A.APPROVE, A.EDIT, A.APPROVE, A.CANCEL])
    [cancel] = plan_triggers(
        action=A.CANCEL,
        previous=None,
        current=cancelled,
        archive_key="k",
        actor="b@x.com",
        at=AT,
    )
    assert (cancel.event, cancel.replaces_version, cancel.was_approved) == (E.CANCELLED, None, True)


@given(
    st.lists(
        st.tuples(
            st.sampled_from([A.APPROVE, A.EDIT, A.REJECT, A.CANCEL, A.COMPLETE]), st.booleans()
        ),
        max_size=12,
    )
)
def test_no_recipient_ever_gets_two_invites_with_the_same_sequence(
    steps: list[tuple[Action, bool]],
) -> None:
    """Any path: invite SEQUENCEs strictly grow, nothing follows a CANCEL, an edit mails no one."""
    actions: list[Action] = []
    invites: list[tuple[CalendarMethod, int]] = []
    for action, moved in steps:
        if (after(actions).status, action) not in TRANSITIONS:
            continue
        actions.append(action)
        current = after(actions)
        for event in events_for(action, current=current):
            chosen = route(
                event,
                was_approved=current.was_approved(),
                invite_sent=current.was_approved(),
                invite_changed=moved,
            )
            if action is A.EDIT:
                assert (chosen.topic, chosen.calendar) == ("aws-approval", None)
            if chosen.calendar is not None:
                invites.append((chosen.calendar, invite_sequence(current.version, chosen.calendar)))
    sequences = [sequence for _, sequence in invites]
    assert sequences == sorted(set(sequences))
    assert CalendarMethod.CANCEL not in [method for method, _ in invites[:-1]]


def test_an_edit_input_with_the_same_schedule_and_meeting_changes_no_invite() -> None:
    v1 = stored_change(customers=["acme"])
    edit = change_edit(1, customers=["acme"], title="Renamed")
    same = v1.model_copy(
        update={"change_metadata": edit.change_metadata, "meeting_invite": edit.meeting_invite}
    )
    assert not invite_changed(v1, same)
    moved = change_edit(1, customers=["acme"], start="2030-03-01T11:00", end="2030-03-01T12:00")
    assert invite_changed(v1, v1.model_copy(update={"change_metadata": moved.change_metadata}))


def test_the_sequence_is_the_version_and_one_more_for_a_cancel() -> None:
    assert invite_sequence(1, CalendarMethod.REQUEST) == 1
    assert invite_sequence(2, CalendarMethod.REQUEST) == 2
    assert invite_sequence(2, CalendarMethod.CANCEL) == 3


def test_the_diff_lists_only_changed_fields_in_the_customers_timezone() -> None:
    v1 = stored_change(customers=["acme"])
    v2 = v2_of(
        v1,
        title="Rotate TLS certificates, part 2",
        start="2030-03-01T11:00",
        end="2030-03-01T12:00",
        meetingInvite={"title": "TLS window", "location": "Room 4"},
    )
    tokyo = ACME.model_copy(update={"timezone": "Asia/Tokyo"})
    rows = {row.label: (row.old, row.new) for row in changed_fields(v1, v2, customer=tokyo)}
    assert rows == {
        "Title": ("Rotate TLS certificates", "Rotate TLS certificates, part 2"),
        "Start": ("Sat 02 Mar 2030 00:00 JST", "Sat 02 Mar 2030 01:00 JST"),
        "Location": ("Teams", "Room 4"),
    }
    local = {row.label: row.old for row in changed_fields(v1, v2, customer=ACME)}
    assert local["Start"] == "Fri 01 Mar 2030 10:00 EST"  # no customer zone: the schedule's


def render(
    change: Change, event: DistributionEvent, previous: Change | None = None
) -> RenderedEmail:
    return render_email(
        change=change,
        event=event,
        customer=ACME,
        email_config=CONFIG.email_config,
        previous=previous,
        was_approved=True,
        invite_sent=True,
    )


@pytest.mark.parametrize(
    ("event", "label"),
    [
        (E.SUBMITTED, "approval request"),
        (E.APPROVED, "approved"),
        (E.UPDATED, "updated"),
        (E.COMPLETED, "completed"),
        (E.CANCELLED, "cancelled"),
    ],
)
def test_every_email_states_its_event_and_version_whatever_the_archived_status(
    event: DistributionEvent, label: str
) -> None:
    archived = stored_change(status=S.SUBMITTED, version=3)  # versions are archived submitted
    rendered = render(archived, event)
    assert rendered.subject.endswith("(version 3)")
    for part in (rendered.text, rendered.html):
        assert f"(version 3, {label})" in part
        assert "submitted)" not in part


def test_an_update_without_a_new_schedule_or_meeting_sends_no_invite() -> None:
    v1 = stored_change(customers=["acme"])
    retitled = render(v2_of(v1, title="Renamed"), E.UPDATED, previous=v1)
    assert retitled.invite is None
    assert "Title: Rotate TLS certificates → Renamed" in retitled.text
    assert "The calendar invite is unchanged." in retitled.text
    moved = render(v2_of(v1, start="2030-03-02T10:00", end="2030-03-02T12:00"), E.UPDATED, v1)
    assert moved.invite is not None
    assert (moved.invite.method, moved.invite.invite.sequence) == (CalendarMethod.REQUEST, 2)


def test_a_withdrawal_describes_and_cancels_the_approved_version() -> None:
    v1 = stored_change(customers=["acme"])
    v2 = v2_of(v1, start="2030-03-08T10:00", end="2030-03-08T12:00")
    rendered = render(v2, E.WITHDRAWN, previous=v1)
    assert rendered.topic == "aws-announce"
    title = "Change notification: Rotate TLS certificates"
    assert rendered.subject == f"[Withdrawn] {title} (version 1)"
    assert "Version 2 of this change for Acme Corporation was rejected" in rendered.text
    assert "Fri 01 Mar 2030 10:00 EST" in rendered.text and "08 Mar" not in rendered.text
    assert rendered.invite is not None
    calendar = icalendar.Calendar.from_ical(rendered.invite.invite.ics)
    event = calendar.walk("VEVENT")[0]
    assert (calendar["METHOD"], event["SEQUENCE"], event.decoded("DTSTART").day) == (
        "CANCEL",
        3,
        1,
    )
    uninvited = render_email(
        change=v2,
        event=E.WITHDRAWN,
        customer=ACME,
        email_config=CONFIG.email_config,
        previous=v1,
        was_approved=True,
        invite_sent=False,
    )
    assert uninvited.invite is None


def test_the_worker_loads_the_replaced_version_named_or_derived() -> None:
    store = MemoryObjectStore()
    v1 = stored_change(customers=["acme"])
    v2 = v2_of(v1, title="Second")
    publish(store, v1, E.APPROVED, "acme")
    publish(store, v2, E.UPDATED, "acme")
    named = DeliveryRequest(v2, E.UPDATED, was_approved=True, invite_sent=True, replaces_version=1)
    derived = DeliveryRequest.for_change(v2, E.UPDATED)
    for request in (named, derived):
        loaded = load_replaced(request, store=store)
        assert loaded is not None and (loaded.version, loaded.title) == (1, v1.title)
    assert load_replaced(DeliveryRequest.for_change(v2, E.COMPLETED), store=store) is None
    assert v2.created_at == CREATED
    store.objects.clear()
    assert load_replaced(derived, store=store) is None  # an old trigger: only the diff is lost
    with pytest.raises(NotFoundError):
        load_replaced(named, store=store)

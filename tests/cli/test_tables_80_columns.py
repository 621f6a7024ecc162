"""At 80 columns no table cuts what people copy: ids and addresses stay whole, nothing ends in "…".

Values are as long as real ones get: UUIDs, long email addresses, 12-digit account ids.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table

from changecast.changes.models import (
    Action,
    ChangePage,
    ChangeStatus,
    ChangeSummary,
    HistoryEntry,
)
from changecast.cli import changes as change_commands
from changecast.cli import state
from changecast.cli.alt_contacts import changes_table
from changecast.cli.contact_views import contact_plan_table, contacts_table
from changecast.cli.fanout_run import CustomerOutcome, FanoutResult, Status, summary_table
from changecast.contacts.alternate import AltAction, AltChange
from changecast.contacts.models import (
    AlternateContact,
    AlternateContactType,
    Contact,
    ContactAction,
    ContactChange,
    ContactPlan,
)
from tests.cli.ses_harness import World, moto_world

LONG_EMAILS = (
    "firstname.lastname-contractor@subsidiary.example-corp.com",
    "platform-notifications+approvals@operations.example.org",
)
CHANGE_ID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
PREFS = ("aws-approval", "aws-announce", "aws-calendar")


def rendered(table: Table) -> str:
    out = io.StringIO()
    Console(width=80, file=out).print(table)
    return out.getvalue()


def assert_whole(text: str, *values: str) -> None:
    assert "…" not in text, text
    for value in values:
        assert any(value in line for line in text.splitlines()), (value, text)
    assert max(len(line) for line in text.splitlines()) <= 80


def contact(email: str) -> Contact:
    found = Contact(email=email)
    for i, topic in enumerate(PREFS):
        found = found.with_preference(topic, "OPT_IN" if i % 2 else "OPT_OUT")
    return found


def test_contact_tables_keep_each_email_whole() -> None:
    people = [contact(e) for e in LONG_EMAILS]
    assert_whole(rendered(contacts_table(people, "list changecast")), *LONG_EMAILS)
    plan = ContactPlan(
        list_name="changecast",
        changes=tuple(
            ContactChange(
                email=p.email,
                action=ContactAction.UPDATE,
                before=Contact(email=p.email),
                after=p,
                detail="roles ChangeManager, Auditor; topics from Identity Center groups",
            )
            for p in people
        ),
    )
    assert_whole(rendered(contact_plan_table(plan)), *LONG_EMAILS)


def test_alternate_contact_plans_keep_each_account_id_whole() -> None:
    person = AlternateContact(
        contact_type=AlternateContactType.SECURITY,
        name="Security Operations Centre",
        title="Duty officer",
        email=LONG_EMAILS[0],
        phone="+44 20 7946 0000",
    )
    accounts = ("210987654321", "123456789012")
    changes = [
        AltChange(
            account_id=account,
            account_name="workload-production-eu-west-1",
            contact_type=AlternateContactType.SECURITY,
            action=AltAction.REPLACE,
            before=person,
            after=person,
        )
        for account in accounts
    ]
    assert_whole(rendered(changes_table(changes)), *accounts)


def test_the_summary_keeps_each_customer_code_whole() -> None:
    codes = ("northwind-traders-emea", "contoso-pharmaceuticals")
    outcomes = tuple(
        CustomerOutcome(
            code=code,
            name=code.title(),
            status=Status.FAILED,
            seconds=1.25,
            detail=f"SES answered AccessDenied for arn:aws:iam::123456789012:role/{code}-ses",
            data={},
            error_kind="upstream",
        )
        for code in codes
    )
    result = FanoutResult(command="ses topics apply", outcomes=outcomes, wall_seconds=1.3)
    text = rendered(summary_table(result))
    assert_whole(text, *codes)
    assert "AccessDenied" in text


def test_change_list_keeps_the_change_id_whole(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state.console, "_width", 80)
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    item = ChangeSummary(
        change_id=CHANGE_ID,
        version=3,
        status=ChangeStatus.SUBMITTED,
        title="Rotate the bastion host keys in every production account before the audit",
        customer_codes=["acme", "globex", "initech", "umbrella"],
        created_by=LONG_EMAILS[0],
        modified_by=LONG_EMAILS[1],
        created_at=at,
        modified_at=at,
    )
    change_commands._print_page(ChangePage(items=[item], total=1, page=1, page_size=25))
    assert_whole(capsys.readouterr().out, CHANGE_ID)


# --- the real commands, at COLUMNS=80 ---


@pytest.fixture
def world(aws_env: None, tmp_path: Path) -> Iterator[World]:
    yield from moto_world(tmp_path)


def test_contacts_list_and_add_at_80_columns(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert world.invoke("ses", "topics", "apply", "-c", "acme").code == 0
    added = world.invoke("ses", "contacts", "add", *LONG_EMAILS, "-t", "aws-approval", "-c", "acme")
    assert added.code == 0, added.stderr
    assert max(len(line) for line in added.stdout.splitlines()) == 80  # the rule spans it
    assert_whole(added.stdout, *LONG_EMAILS)
    listed = world.invoke("ses", "contacts", "list", "-c", "acme")
    assert listed.code == 0
    assert_whole(listed.stdout, *LONG_EMAILS)


# --- every width: prose wraps first, headers never split, ids whole ---

TITLE = "Rotate the bastion host keys in every production account before the audit"
OTHER_ID = "5b7c1137-fbc0-4f41-9461-065bd61dc9e4"


def header_lines(text: str) -> list[str]:
    """The lines of a table's header: those before the rule under it."""
    lines = [line for line in text.splitlines() if line.strip()]
    block: list[str] = []
    for line in lines:
        if set(line.strip()) <= set("┏┓┳━─┡┩╇ "):
            if block:
                return block
            continue
        block.append(line)
    return block


def assert_fits(text: str, width: int, headers: tuple[str, ...], *values: str) -> None:
    assert "…" not in text, text
    assert max(len(line) for line in text.splitlines()) <= width, text
    for value in values:
        assert any(value in line for line in text.splitlines()), (value, text)
    top = header_lines(text)
    for header in headers:
        assert any(header in line for line in top), (header, top)


def summaries() -> list[ChangeSummary]:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    return [
        ChangeSummary(
            change_id=change_id,
            version=3,
            status=ChangeStatus.SUBMITTED,
            title=title,
            customer_codes=["acme", "globex", "initech", "umbrella"],
            created_by=LONG_EMAILS[0],
            modified_by=LONG_EMAILS[1],
            created_at=at,
            modified_at=at,
        )
        for change_id, title in ((CHANGE_ID, TITLE), (OTHER_ID, "Enable GuardDuty"))
    ]


@pytest.mark.parametrize("width", [80, 120])
def test_change_list_fits_with_the_title_wrapping_first(
    width: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state.console, "_width", width)
    page = ChangePage(items=summaries(), total=2, page=1, page_size=25)
    change_commands._print_page(page)
    text = capsys.readouterr().out
    headers = ("id", "status", "v", "title", "customers")
    assert_fits(text, width, (*headers, *(("modified",) if width >= 100 else ())))
    assert_fits(text, width, (), CHANGE_ID, OTHER_ID, "submitted", "umbrella")
    if width >= 120:  # room enough: the title gets the room, the time stays on one line
        assert "Rotate the bastion host" in text, text
        assert "2026-12-01 09:30" in text


@pytest.mark.parametrize(
    ("width", "emails"), [(80, ("alice.example@ccoe.example.com",)), (120, LONG_EMAILS)]
)
def test_the_history_table_never_splits_a_header_or_an_address(
    width: int, emails: tuple[str, ...]
) -> None:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    entries = [
        HistoryEntry(
            at=at,
            action=Action.APPROVE,
            by=email,
            version=12,
            status=ChangeStatus.APPROVED,
            comment="CAB approved after the rollback plan was reviewed by the platform team",
        )
        for email in emails
    ]
    out = io.StringIO()
    Console(width=width, file=out).print(change_commands.history_table(entries, wide=width >= 100))
    text = out.getvalue()
    wide = ("status", "version") if width >= 100 else ("v",)
    headers = ("at (UTC)", "action", *wide, "by", "comment")
    assert_fits(text, width, headers, *emails, "approved", "2026-12-01", "12")

"""Preflight: the pure checks, the cached service on fake SES accounts, and the gate."""

from __future__ import annotations

from datetime import timedelta

import pytest

from changecast.actions.gates import pass_gates, run_gates
from changecast.actions.preflight_gate import PreflightGate, topics_for
from changecast.changes.models import Action, ChangeStatus
from changecast.contacts.models import Contact, ContactListInfo, ListTopic, TopicPreference
from changecast.customers.directory import CustomerDirectory
from changecast.customers.models import AppConfig, CustomerMapping
from changecast.delivery.preflight import (
    AccountFacts,
    AudienceFacts,
    CheckName,
    CheckStatus,
    SenderIdentity,
    evaluate,
)
from changecast.delivery.preflight_service import Preflight
from changecast.delivery.router import Topics
from changecast.errors import PermissionDeniedError
from tests.contract.conftest import make_change
from tests.delivery_support import CREATED, StepClock
from tests.fakes.preflight import FakePreflightAccess, FakeSesProbe
from tests.fakes.ses import FakeSes

SENDER = "change-notices@ccoe.example.com"
DOMAIN = "ccoe.example.com"
LIST = "changecast"


def account(**changes: object) -> AccountFacts:
    base: dict[str, object] = {
        "domain": DOMAIN,
        "senders": (SenderIdentity(SENDER, "Success", DOMAIN),),
        "dkim_enabled": True,
        "dkim_status": "Success",
        "sending_enabled": True,
        "enforcement_status": "HEALTHY",
        "production_access": True,
        "max_24h": 1000.0,
        "sent_24h": 100.0,
        "max_rate": 14.0,
    }
    base.update(changes)
    return AccountFacts(**base)  # type: ignore[arg-type]


def statuses(facts: AccountFacts, audience: AudienceFacts | None = None) -> dict[str, str]:
    report = evaluate(
        customer_code="acme",
        customer_name="Acme",
        account=facts,
        audience=audience or AudienceFacts(emails=10, addresses=("a@acme.example.com",)),
        at=CREATED,
    )
    return {c.name.value: c.status.value for c in report.checks}


def test_a_healthy_production_account_passes_every_check() -> None:
    assert set(statuses(account()).values()) == {"pass"}


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"senders": (SenderIdentity(SENDER, "NotStarted"),)}, "sender_verified"),
        ({"senders": (SenderIdentity(SENDER, "Pending"),)}, "sender_verified"),
        ({"dkim_status": "Pending"}, "dkim_verified"),
        ({"dkim_enabled": False}, "dkim_verified"),
        ({"sending_enabled": False}, "sending_enabled"),
        ({"enforcement_status": "SHUTDOWN"}, "sending_enabled"),
        ({"production_access": False}, "production_access"),
        ({"sent_24h": 995.0}, "daily_quota"),
    ],
)
def test_each_problem_fails_exactly_its_check(changes: dict[str, object], failing: str) -> None:
    found = statuses(account(**changes))
    assert {name for name, status in found.items() if status == "fail"} == {failing}


def test_an_unknown_fact_is_a_warning_with_its_reason_never_a_pass() -> None:
    facts = account(
        production_access=None,
        sending_enabled=None,
        unknown={"production_access": "GetAccount is missing", "sending_enabled": "same"},
    )
    report = evaluate(
        customer_code="acme",
        customer_name="Acme",
        account=facts,
        audience=AudienceFacts(emails=1, addresses=("a@acme.example.com",), unverified=("x",)),
        at=CREATED,
    )
    assert report.ok
    assert report.status is CheckStatus.WARN
    sandbox = next(c for c in report.checks if c.name is CheckName.SANDBOX)
    assert sandbox.status is CheckStatus.WARN
    assert "GetAccount is missing" in sandbox.reason


def test_the_sandbox_passes_when_every_recipient_is_verified_and_names_the_unverified() -> None:
    verified = AudienceFacts(emails=2, addresses=("a@x.example", "b@x.example"), unverified=())
    assert statuses(account(production_access=False), verified)["production_access"] == "pass"
    some = AudienceFacts(
        emails=2, addresses=("a@x.example", "b@x.example"), unverified=("b@x.example",)
    )
    report = evaluate(
        customer_code="acme",
        customer_name="Acme",
        account=account(production_access=False),
        audience=some,
        at=CREATED,
    )
    assert [c.reason for c in report.failed] == [
        "in the SES sandbox: 1 of 2 recipients are not verified identities (b@x.example)"
    ]


def test_the_quota_must_cover_the_emails_and_an_unlimited_quota_always_does() -> None:
    big = AudienceFacts(emails=901, addresses=("a@x.example",))
    assert statuses(account(), big)["daily_quota"] == "fail"
    assert (
        statuses(account(), AudienceFacts(emails=900, addresses=("a@x.example",)))["daily_quota"]
        == "pass"
    )
    assert statuses(account(max_24h=-1.0, sent_24h=10**9), big)["daily_quota"] == "pass"


# ---- the service on fake accounts -----------------------------------------------------------


def mapping(code: str, *, environment: str = "production") -> CustomerMapping:
    return CustomerMapping(
        customer_code=code,
        customer_name=code.title(),
        environment=environment,
        ses_role_arn=f"arn:aws:iam::123456789012:role/{code}",
    )


def contacts(*emails: str) -> FakeSes:
    ses = FakeSes()
    ses.create_contact_list(
        ContactListInfo(
            name=LIST,
            topics=(
                ListTopic(name="aws-approval", display_name="Approvals", default_status="OPT_OUT"),
            ),
        )
    )
    for email in emails:
        ses.create_contact(
            LIST,
            Contact(
                email=email, preferences=(TopicPreference(topic="aws-approval", status="OPT_IN"),)
            ),
        )
    return ses


def verified_probe() -> FakeSesProbe:
    probe = FakeSesProbe()
    probe.verify_domain(DOMAIN)
    return probe


def service(access: FakePreflightAccess, clock: StepClock) -> Preflight:
    return Preflight(access=access, senders=(SENDER,), domain=DOMAIN, clock=clock)


def test_a_report_is_cached_for_the_ttl_then_checked_again() -> None:
    access = FakePreflightAccess(
        probes={"acme": verified_probe()}, contact_lists={"acme": contacts("a@acme.example.com")}
    )
    clock = StepClock()
    preflight = service(access, clock)
    first = preflight.check(mapping("acme"), ["aws-approval"])
    assert first.ok and first.status is CheckStatus.PASS
    clock.at += timedelta(seconds=59)
    assert preflight.check(mapping("acme"), ["aws-approval"]) is first
    assert access.opened == ["acme"]
    clock.at += timedelta(seconds=2)
    preflight.check(mapping("acme"), ["aws-approval"])
    assert access.opened == ["acme", "acme"]


def test_a_failure_is_kept_only_briefly_so_a_fixed_account_is_seen_soon() -> None:
    probe = FakeSesProbe()  # nothing verified
    access = FakePreflightAccess(probes={"acme": probe}, contact_lists={"acme": contacts()})
    clock = StepClock()
    preflight = service(access, clock)
    assert not preflight.check(mapping("acme"), ["aws-approval"]).ok
    probe.verify_domain(DOMAIN)  # someone fixes the account
    clock.at += timedelta(seconds=4)
    assert not preflight.check(mapping("acme"), ["aws-approval"]).ok  # still the cached failure
    clock.at += timedelta(seconds=2)
    assert preflight.check(mapping("acme"), ["aws-approval"]).ok
    assert access.opened == ["acme", "acme"]


def test_the_audience_rule_applies_and_the_sandbox_names_unverified_recipients() -> None:
    probe = verified_probe()
    probe.production_access = False
    probe.verify_address("ok@acme.example.com")
    access = FakePreflightAccess(
        probes={"acme": probe},
        contact_lists={"acme": contacts("ok@acme.example.com", "new@acme.example.com")},
    )
    report = service(access, StepClock()).check(mapping("acme"), ["aws-approval"])
    assert [c.reason for c in report.failed] == [
        "in the SES sandbox: 1 of 2 recipients are not verified identities (new@acme.example.com)"
    ]
    quota = next(c for c in report.checks if c.name is CheckName.QUOTA)
    assert quota.reason.startswith("2 emails of ")


def test_an_unreachable_account_fails_as_a_whole() -> None:
    access = FakePreflightAccess(
        unreachable={"acme": PermissionDeniedError("AssumeRole failed: AccessDenied")}
    )
    report = service(access, StepClock()).check(mapping("acme"), ["aws-approval"])
    assert [c.name for c in report.checks] == [CheckName.ACCOUNT]
    assert "AccessDenied" in report.summary()


# ---- the gate ------------------------------------------------------------------------------


def directory(*codes: str) -> CustomerDirectory:
    return CustomerDirectory(
        AppConfig.model_validate(
            {
                "aws_region": "us-east-1",
                "s3_config": {"bucket_name": "changecast-test"},
                "customer_mappings": {
                    code: mapping(code).model_dump(mode="json") for code in codes
                },
                "email_config": {
                    "sender_address": SENDER,
                    "meeting_organizer": SENDER,
                    "portal_base_url": "http://portal.test",
                    "domain": DOMAIN,
                },
            }
        )
    )


def test_the_gate_blocks_per_failing_customer_and_an_override_lets_it_through() -> None:
    access = FakePreflightAccess(
        probes={"acme": verified_probe(), "globex": FakeSesProbe()},
        contact_lists={"acme": contacts("a@acme.example.com"), "globex": contacts()},
    )
    gate = PreflightGate(
        preflight=service(access, StepClock()),
        directory=directory("acme", "globex"),
        topics=Topics(),
    )
    change = make_change(status=ChangeStatus.SUBMITTED, customers=("acme", "globex"))
    findings = run_gates([gate], change, Action.SUBMIT)
    assert [(f.gate, f.customer_code, f.blocking) for f in findings] == [
        ("preflight", "globex", True)
    ]
    assert "sender change-notices@ccoe.example.com is not verified" in findings[0].message
    with pytest.raises(Exception, match="refused by gate"):
        pass_gates([gate], change, action=Action.SUBMIT, overrides={}, by="a@x.example", at=CREATED)
    used = pass_gates(
        [gate],
        change,
        action=Action.SUBMIT,
        overrides={"preflight": "globex mails tomorrow; DNS is in"},
        by="alice@ccoe.example.com",
        at=CREATED,
    )
    assert [(o.gate, o.reason) for o in used] == [("preflight", "globex mails tomorrow; DNS is in")]


def test_submit_mails_approvers_and_approve_mails_announce_and_calendar() -> None:
    change = make_change(status=ChangeStatus.SUBMITTED)
    assert topics_for(change, Action.SUBMIT, Topics()) == ["aws-approval"]
    assert topics_for(change, Action.APPROVE, Topics()) == ["aws-announce", "aws-calendar"]
    assert topics_for(change, Action.REJECT, Topics()) == []

"""The renderer: every field, escaping, subjects, routing, per-customer templates and branding."""

from __future__ import annotations

import json
from pathlib import Path

import icalendar
import pytest

from changecast.changes.models import ChangeStatus
from changecast.delivery.render import RenderedEmail, TemplateSource, render_email
from changecast.delivery.router import CalendarMethod
from changecast.distribution.models import DistributionEvent
from changecast.errors import InvalidInputError
from changecast.local.demo import demo_config
from tests.delivery_support import stored_change

CONFIG = demo_config(3, portal_url="http://portal.test")
ACME = CONFIG.customer_mappings["acme"]


def render(
    event: DistributionEvent = DistributionEvent.APPROVED,
    templates: TemplateSource | None = None,
    **change: object,
) -> RenderedEmail:
    return render_email(
        change=stored_change(**change),  # type: ignore[arg-type]
        event=event,
        customer=ACME,
        email_config=CONFIG.email_config,
        templates=templates,
    )


def test_html_and_text_carry_every_field_of_the_change() -> None:
    rendered = render(change_id="11111111-2222-4333-8444-555555555555")
    for part in (rendered.html, rendered.text):
        for expected in (
            "Rotate TLS certificates",
            "CHG0001",
            "CCOE-1",
            "Certificates expire soon.",
            "Swap listeners one by one.",
            "Handshake checks.",
            "None.",
            "Swap back.",
            "America/New_York",
            "Fri 01 Mar 2030 10:00 EST",
            "Fri 01 Mar 2030 15:00 UTC",
            "http://portal.test/changes/11111111-2222-4333-8444-555555555555",
            "Acme Corporation",
            "{{amazonSESUnsubscribeUrl}}",
        ):
            assert expected in part, expected


def test_html_is_escaped_and_text_is_not() -> None:
    rendered = render(metadata={"changeReason": "<script>alert(1)</script> & co"})
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in rendered.html
    assert "<script>" not in rendered.html
    assert "<script>alert(1)</script> & co" in rendered.text


@pytest.mark.parametrize(
    ("event", "prefix", "topic", "method"),
    [
        (DistributionEvent.SUBMITTED, "[Approval requested]", "aws-approval", None),
        (DistributionEvent.APPROVED, "[Approved]", "aws-announce", CalendarMethod.REQUEST),
        (DistributionEvent.UPDATED, "[Updated]", "aws-announce", CalendarMethod.REQUEST),
        (DistributionEvent.WITHDRAWN, "[Withdrawn]", "aws-announce", CalendarMethod.CANCEL),
        (DistributionEvent.COMPLETED, "[Completed]", "aws-announce", None),
        (DistributionEvent.CANCELLED, "[Cancelled]", "aws-announce", CalendarMethod.CANCEL),
    ],
)
def test_each_event_has_its_subject_prefix_topic_and_calendar_method(
    event: DistributionEvent, prefix: str, topic: str, method: CalendarMethod | None
) -> None:
    rendered = render(event, emailNotification={"subject": "Cert rotation"})
    assert rendered.subject == f"{prefix} Cert rotation (version 1)"
    assert rendered.topic == topic
    assert (rendered.invite.method if rendered.invite else None) is method
    if rendered.invite is not None:
        assert rendered.invite.topic == "aws-calendar"
        calendar = icalendar.Calendar.from_ical(rendered.invite.invite.ics)
        assert calendar["METHOD"] == method


def test_cancelling_a_never_approved_change_goes_to_approvers_without_an_invite() -> None:
    rendered = render(
        DistributionEvent.CANCELLED, status=ChangeStatus.CANCELLED, approved_before=False
    )
    assert rendered.topic == "aws-approval"
    assert rendered.invite is None


def test_a_subject_with_cr_or_lf_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="CR or LF"):
        render(title="Patch\nBcc: all@example.com")


def test_a_customer_overrides_templates_and_branding_in_its_own_folder(tmp_path: Path) -> None:
    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / "approved.txt.j2").write_text(
        "ACME approved {{ change.title }} for {{ branding.name }}"
    )
    (folder / "branding.json").write_text(
        json.dumps(
            {"name": "Acme IT", "colour": "#aa0000", "logo_url": "https://acme.example/l.png"}
        )
    )
    rendered = render(templates=TemplateSource(tmp_path))
    assert rendered.text == "ACME approved Rotate TLS certificates for Acme IT"
    assert "#aa0000" in rendered.html and "https://acme.example/l.png" in rendered.html
    other = render_email(
        change=stored_change(customers=["initech"]),
        event=DistributionEvent.APPROVED,
        customer=CONFIG.customer_mappings["initech"],
        email_config=CONFIG.email_config,
        templates=TemplateSource(tmp_path),
    )
    assert other.text.startswith("Cloud change notices")


def test_an_override_using_an_unknown_variable_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "approved.html.j2").write_text("{{ change.no_such_field }}")
    with pytest.raises(InvalidInputError, match=r"approved\.html\.j2"):
        render(templates=TemplateSource(tmp_path))


def test_invalid_branding_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "branding.json").write_text(json.dumps({"colour": "red"}))
    with pytest.raises(InvalidInputError, match="branding"):
        render(templates=TemplateSource(tmp_path))

"""Announcements: the notice kind, routing by kind, safe Markdown, rendering, pipeline and index."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from changecast.access.models import Actor, Role
from changecast.actions import drafts, pipeline
from changecast.actions.context import ChangeDeps
from changecast.actions.pipeline import ActionRequest
from changecast.audit.service import AuditTrail
from changecast.changes.archive import ChangeArchive
from changecast.changes.models import (
    Action,
    AnnouncementKind,
    Change,
    ChangeInput,
    ChangeQuery,
    ChangeStatus,
    NoticeKind,
)
from changecast.customers.directory import CustomerDirectory
from changecast.customers.models import SESConfig
from changecast.delivery.markdown import markdown_html, markdown_text
from changecast.delivery.render import TemplateSource, render_email
from changecast.delivery.router import CalendarMethod, Topics, route
from changecast.distribution.models import DistributionEvent, Trigger
from changecast.distribution.planner import events_for
from changecast.errors import InvalidInputError, PermissionDeniedError
from changecast.ids import ChangeId
from changecast.index.audit_store import SqlAuditIndex
from changecast.index.engine import open_index
from changecast.index.store import SqlChangeIndex
from changecast.local.demo import demo_config, demo_ses_config
from tests.builders import change_input
from tests.builders_announcements import HOSTILE_MARKDOWN, announcement_body, announcement_input
from tests.fakes.metrics import MemoryMetrics
from tests.fakes.store import MemoryObjectStore

FIXTURE_SES = Path(__file__).resolve().parents[1] / "fixtures" / "ccm" / "SESConfig.json"
CONFIG = demo_config(3, portal_url="http://portal.test")
AUTHOR = Actor(email="author@ccoe.example.com", role=Role.CHANGE_MANAGER)
APPROVER = Actor(email="approver@ccoe.example.com", role=Role.CHANGE_MANAGER)
ANNOUNCEMENT_TOPICS = {
    "announce-approval",
    "cic-announce",
    "finops-announce",
    "inner-announce",
    "general-updates",
}
EVENT = {
    "implementationStart": "2030-04-02T15:00",
    "implementationEnd": "2030-04-02T16:00",
    "timezone": "Europe/Berlin",
}


def stored(change_id: str = "11111111-2222-4333-8444-555555555555", **body: object) -> Change:
    data = announcement_body(**body)  # type: ignore[arg-type]
    return Change.model_validate(
        {
            **data,
            "changeId": change_id,
            "version": 1,
            "createdAt": "2030-01-02T08:00:00Z",
            "modifiedAt": "2030-01-02T08:00:00Z",
            "createdBy": "author@ccoe.example.com",
            "modifiedBy": "author@ccoe.example.com",
            "status": "submitted",
        }
    )


# --- the model -------------------------------------------------------------------------------


def test_a_change_document_keeps_its_json_without_a_kind_field() -> None:
    data = change_input()
    assert data.kind is NoticeKind.CHANGE
    assert "kind" not in data.model_dump(mode="json", by_alias=True, exclude_none=True) or (
        data.model_dump(mode="json", by_alias=True)["kind"] == "change"
    )
    change = stored(kind="finops")
    dumped = change.to_json_dict()
    assert dumped["kind"] == "announcement"
    assert dumped["announcement"]["announcementKind"] == "finops"
    plain = change.model_copy(update={"kind": NoticeKind.CHANGE, "announcement": None})
    assert "kind" not in plain.to_json_dict()
    assert "announcement" not in plain.to_json_dict()


def test_an_announcement_round_trips_through_its_json() -> None:
    change = stored(links=[{"title": "Guide", "url": "https://finops.example.com"}])
    again = Change.model_validate_json(change.to_bytes())
    assert again == change
    assert again.announcement is not None
    assert again.announcement.announcement_kind is AnnouncementKind.FINOPS
    assert again.subject == "FinOps announcement: New cost allocation tags"


def test_input_refuses_an_announcement_without_its_fields_and_a_change_with_them() -> None:
    body = announcement_body()
    del body["announcement"]
    with pytest.raises(ValidationError, match="needs 'announcement'"):
        ChangeInput.model_validate(body)
    with pytest.raises(ValidationError, match="only for kind 'announcement'"):
        ChangeInput.model_validate({**announcement_body(), "kind": "change"})
    with pytest.raises(ValidationError, match="announcementKind"):
        ChangeInput.model_validate(announcement_body(kind="marketing"))


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,<b>", "vbscript:x", "https://a.example/<x>"]
)
def test_a_link_with_a_scheme_outside_the_allow_list_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="url"):
        announcement_input(links=[{"title": "bad", "url": url}])


# --- routing ---------------------------------------------------------------------------------


def test_the_reference_tools_ses_config_declares_every_announcement_topic() -> None:
    for config in (
        SESConfig.model_validate(json.loads(FIXTURE_SES.read_text())),
        demo_ses_config(),
    ):
        names = {topic.topic_name for topic in config.expanded_topics()}
        assert names >= ANNOUNCEMENT_TOPICS
        assert set(Topics.from_ses_config(config).announcement_topics()) == ANNOUNCEMENT_TOPICS


@pytest.mark.parametrize(
    ("kind", "topic"),
    [
        (AnnouncementKind.CIC, "cic-announce"),
        (AnnouncementKind.FINOPS, "finops-announce"),
        (AnnouncementKind.INNER, "inner-announce"),
        (AnnouncementKind.GENERAL, "general-updates"),
    ],
)
def test_an_announcement_goes_to_announce_approval_then_to_its_kinds_topic(
    kind: AnnouncementKind, topic: str
) -> None:
    asked = route(
        DistributionEvent.SUBMITTED, was_approved=False, invite_sent=False, announcement=kind
    )
    assert (asked.topic, asked.template, asked.calendar) == (
        "announce-approval",
        "announcement_approval_request",
        None,
    )
    published = route(
        DistributionEvent.APPROVED, was_approved=True, invite_sent=False, announcement=kind
    )
    assert (published.topic, published.template) == (topic, "announcement")
    assert published.calendar is CalendarMethod.REQUEST
    plain = route(
        DistributionEvent.APPROVED,
        was_approved=True,
        invite_sent=False,
        announcement=kind,
        has_event=False,
    )
    assert plain.calendar is None


def test_withdrawing_goes_to_the_kinds_topic_once_published_else_to_approvers() -> None:
    kind = AnnouncementKind.FINOPS
    published = route(
        DistributionEvent.CANCELLED, was_approved=True, invite_sent=True, announcement=kind
    )
    assert (published.topic, published.template) == ("finops-announce", "announcement_withdrawn")
    assert published.calendar is CalendarMethod.CANCEL
    never = route(
        DistributionEvent.CANCELLED, was_approved=False, invite_sent=False, announcement=kind
    )
    assert never.topic == "announce-approval" and never.calendar is None


def test_changes_still_route_as_before() -> None:
    chosen = route(DistributionEvent.APPROVED, was_approved=True, invite_sent=False)
    assert (chosen.topic, chosen.template) == ("aws-announce", "approved")


# --- Markdown --------------------------------------------------------------------------------


def test_markdown_html_has_no_script_no_raw_html_no_images_and_no_unsafe_links() -> None:
    html = str(markdown_html(HOSTILE_MARKDOWN))
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror" in html
    assert "<b>" not in html and "&lt;b&gt;bold html&lt;/b&gt;" in html
    assert "javascript:" not in " ".join(re.findall(r'href="([^"]*)"', html)).lower()
    assert re.findall(r'href="([^"]*)"', html) == [  # an image is only a link to it
        "https://tracker.example/p.gif",
        "https://finops.example.com/guide",
    ]
    assert "<h1>Budget news</h1>" in html


def test_markdown_text_drops_markup_and_spells_out_links() -> None:
    text = markdown_text("Tagging **matters**: see the [guide](https://finops.example.com).")
    assert text == "Tagging matters: see the guide (https://finops.example.com).\n"
    assert markdown_text("") == ""


# --- rendering -------------------------------------------------------------------------------


def test_a_published_announcement_renders_safely_with_the_customers_branding(
    tmp_path: Path,
) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "branding.json").write_text(
        json.dumps({"name": "Acme Cloud News", "colour": "#aa3300"})
    )
    change = stored(body=HOSTILE_MARKDOWN, event=EVENT)
    rendered = render_email(
        change=change,
        event=DistributionEvent.APPROVED,
        customer=CONFIG.customer_mappings["acme"],
        email_config=CONFIG.email_config,
        templates=TemplateSource(tmp_path),
        was_approved=True,
    )
    assert rendered.topic == "finops-announce"
    assert rendered.subject == (
        "[Published] FinOps announcement: New cost allocation tags (version 1)"
    )
    assert "#aa3300" in rendered.html and "Acme Cloud News" in rendered.html
    assert "<script" not in rendered.html and "<b>bold" not in rendered.html
    assert "javascript:" not in " ".join(re.findall(r'href="([^"]*)"', rendered.html)).lower()
    assert "Tag your resources by March." in rendered.html
    assert "Budget news" in rendered.text and "<h1>" not in rendered.text
    assert rendered.invite is not None and rendered.invite.method is CalendarMethod.REQUEST
    assert rendered.invite.topic == "aws-calendar"


def test_an_announcement_approval_request_goes_to_announce_approval_without_invite() -> None:
    rendered = render_email(
        change=stored(kind="inner"),
        event=DistributionEvent.SUBMITTED,
        customer=CONFIG.customer_mappings["globex"],
        email_config=CONFIG.email_config,
    )
    assert rendered.topic == "announce-approval"
    assert rendered.subject.startswith("[Approval requested] InnerSource announcement:")
    assert "before it is published" in rendered.text
    assert rendered.invite is None


# --- the one pipeline, the index and search --------------------------------------------------


class FixedClock:
    def now(self) -> datetime:
        return datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def sql(tmp_path: Path) -> Iterator[SqlChangeIndex]:
    index = open_index(f"sqlite:///{tmp_path / 'index.db'}")
    yield index
    index.close()


@pytest.fixture
def deps(store: MemoryObjectStore, sql: SqlChangeIndex) -> ChangeDeps:
    return ChangeDeps(
        archive=ChangeArchive(store),
        index=sql,
        directory=CustomerDirectory(CONFIG),
        clock=FixedClock(),
        audit=AuditTrail(store=store, index=SqlAuditIndex(sql.engine)),
        metrics=MemoryMetrics(),
    )


def test_an_announcement_goes_through_the_one_pipeline_with_four_eyes(
    deps: ChangeDeps, store: MemoryObjectStore, sql: SqlChangeIndex
) -> None:
    draft = drafts.create_draft(deps=deps, actor=AUTHOR, data=announcement_input())
    cid = ChangeId(draft.change_id)
    assert not [k for k in store.objects if k.startswith("customers/")]  # a draft sends nothing
    submitted = pipeline.perform(
        deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.SUBMIT)
    )
    assert submitted.change.status is ChangeStatus.SUBMITTED
    with pytest.raises(PermissionDeniedError):
        pipeline.perform(
            deps=deps, actor=AUTHOR, change_id=cid, request=ActionRequest(Action.APPROVE)
        )
    approved = pipeline.perform(
        deps=deps, actor=APPROVER, change_id=cid, request=ActionRequest(Action.APPROVE)
    )
    assert approved.change.status is ChangeStatus.APPROVED
    assert approved.change.announcement is not None
    triggers = sorted(k for k in store.objects if k.startswith("customers/"))
    assert triggers == [
        f"customers/{code}/{cid}-v1-{event}.json"
        for code in ("acme", "globex")
        for event in ("approved", "submitted")
    ]
    trigger = Trigger.model_validate_json(store.objects[triggers[0]])
    archived = Change.model_validate_json(store.objects[trigger.archive_key])
    assert archived.kind is NoticeKind.ANNOUNCEMENT
    summary = sql.summary(cid)
    assert summary is not None
    assert summary.kind is NoticeKind.ANNOUNCEMENT
    assert summary.announcement_kind is AnnouncementKind.FINOPS


def test_submit_refuses_an_announcement_with_neither_summary_nor_body(deps: ChangeDeps) -> None:
    draft = drafts.create_draft(
        deps=deps, actor=AUTHOR, data=announcement_input(summary="", body="")
    )
    with pytest.raises(InvalidInputError, match="summary or a body"):
        pipeline.perform(
            deps=deps,
            actor=AUTHOR,
            change_id=ChangeId(draft.change_id),
            request=ActionRequest(Action.SUBMIT),
        )


def test_search_finds_an_announcement_by_its_body_and_filters_by_kind(
    deps: ChangeDeps, sql: SqlChangeIndex
) -> None:
    announced = drafts.create_draft(
        deps=deps, actor=AUTHOR, data=announcement_input(body="Savings plans renew in *April*.")
    )
    changed = drafts.create_draft(deps=deps, actor=AUTHOR, data=change_input())
    found = sql.find(ChangeQuery(text="savings plans"))
    assert [s.change_id for s in found.items] == [announced.change_id]
    only = sql.find(ChangeQuery(kind=NoticeKind.ANNOUNCEMENT))
    assert [s.change_id for s in only.items] == [announced.change_id]
    rest = sql.find(ChangeQuery(kind=NoticeKind.CHANGE))
    assert [s.change_id for s in rest.items] == [changed.change_id]
    by_label = sql.find(ChangeQuery(text="finops"))
    assert [s.change_id for s in by_label.items] == [announced.change_id]


def test_completing_a_change_plans_a_survey_but_an_announcement_does_not() -> None:
    change = stored().model_copy(update={"kind": NoticeKind.CHANGE, "announcement": None})
    assert events_for(Action.COMPLETE, current=change) == [
        DistributionEvent.COMPLETED,
        DistributionEvent.SURVEY,
    ]
    assert events_for(Action.COMPLETE, current=stored()) == [DistributionEvent.COMPLETED]
    survey = route(DistributionEvent.SURVEY, was_approved=True, invite_sent=True)
    assert (survey.topic, survey.template, survey.calendar) == ("aws-announce", "survey", None)

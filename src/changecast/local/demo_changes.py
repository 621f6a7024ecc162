"""A few demo changes in different states, created through the real use cases on first start."""

from __future__ import annotations

from datetime import timedelta

from changecast.access.models import Actor, Role
from changecast.actions import drafts, pipeline
from changecast.actions.pipeline import ActionRequest
from changecast.bootstrap import Runtime
from changecast.changes.models import Action, ChangeInput
from changecast.ids import ChangeId

DEMO_ACTOR = Actor(
    email="alice@ccoe.example.com", display_name="Alice (demo author)", role=Role.CHANGE_MANAGER
)
"""Creates, submits and completes the demo changes."""
DEMO_APPROVER = Actor(
    email="bob@ccoe.example.com", display_name="Bob (demo approver)", role=Role.CHANGE_MANAGER
)
"""Approves them: four eyes hold in local mode too, so the author never approves her own."""


def _body(title: str, codes: list[str], days_ahead: int, hours: int = 2) -> ChangeInput:
    from datetime import UTC, datetime

    start = (datetime.now(UTC) + timedelta(days=days_ahead)).replace(
        hour=14, minute=0, second=0, microsecond=0, tzinfo=None
    )
    return ChangeInput.model_validate(
        {
            "changeMetadata": {
                "title": title,
                "customerCodes": codes,
                "tickets": {"serviceNow": f"CHG00{days_ahead + 41000}", "jira": "CCOE-1204"},
                "schedule": {
                    "implementationStart": start.strftime("%Y-%m-%dT%H:%M"),
                    "implementationEnd": (start + timedelta(hours=hours)).strftime(
                        "%Y-%m-%dT%H:%M"
                    ),
                    "timezone": "America/New_York",
                },
                "changeReason": "Keep the platform supported and secure.",
                "implementationPlan": "Roll out account by account behind a feature flag.",
                "testPlan": "Synthetic checks and smoke tests after each account.",
                "expectedCustomerImpact": "No downtime expected; brief API latency possible.",
                "rollbackPlan": "Revert the change set with the pipeline's previous release.",
            },
            "meetingInvite": {"title": f"Change window: {title}", "location": "Microsoft Teams"},
        }
    )


def create_demo_changes(runtime: Runtime) -> None:
    """A submitted, an approved, a completed change and a draft, for the first few customers.

    Alice writes them and Bob approves them (sign in as either with dev login to try four eyes).
    """
    deps = runtime.changes
    codes: list[str] = list(runtime.directory.codes)
    first = codes[:3]
    a = drafts.create_draft(
        deps=deps, actor=DEMO_ACTOR, data=_body("Rotate TLS certificates on shared ALBs", first, 3)
    )
    pipeline.perform(
        deps=deps,
        actor=DEMO_ACTOR,
        change_id=ChangeId(a.change_id),
        request=ActionRequest(Action.SUBMIT),
    )
    b = drafts.create_draft(
        deps=deps, actor=DEMO_ACTOR, data=_body("Upgrade EKS clusters to 1.31", codes[:2], 6, 4)
    )
    pipeline.perform(
        deps=deps,
        actor=DEMO_ACTOR,
        change_id=ChangeId(b.change_id),
        request=ActionRequest(Action.SUBMIT),
    )
    pipeline.perform(
        deps=deps,
        actor=DEMO_APPROVER,
        change_id=ChangeId(b.change_id),
        request=ActionRequest(Action.APPROVE),
    )
    c = drafts.create_draft(
        deps=deps, actor=DEMO_ACTOR, data=_body("Decommission the legacy VPN", codes[-1:], 1)
    )
    pipeline.perform(
        deps=deps,
        actor=DEMO_ACTOR,
        change_id=ChangeId(c.change_id),
        request=ActionRequest(Action.SUBMIT),
    )
    pipeline.perform(
        deps=deps,
        actor=DEMO_APPROVER,
        change_id=ChangeId(c.change_id),
        request=ActionRequest(Action.APPROVE),
    )
    pipeline.perform(
        deps=deps,
        actor=DEMO_ACTOR,
        change_id=ChangeId(c.change_id),
        request=ActionRequest(Action.COMPLETE),
    )
    drafts.create_draft(
        deps=deps, actor=DEMO_ACTOR, data=_body("Enable GuardDuty malware protection", first[:1], 9)
    )

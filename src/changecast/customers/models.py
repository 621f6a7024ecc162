"""The shapes of config.json and SESConfig.json, with the deployed reference tool's field names."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from changecast.ids import CUSTOMER_CODE_PATTERN

ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$"
QUEUE_ARN_PATTERN = r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}$"
TOPIC_ARN_PATTERN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$"
EMAIL_PATTERN = r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,63}$"
_EMAIL = re.compile(EMAIL_PATTERN)

PRODUCTION_ENVIRONMENTS = frozenset({"prod", "production", "prd"})
DEFAULT_CONFIGURATION_SET_PREFIX = "changecast"
"""A customer's configuration set is ``changecast-{code}`` unless config.json names another."""


def is_email(value: str) -> bool:
    """A pragmatic check for one bare address (no display name)."""
    return bool(_EMAIL.match(value))


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)


class Blackout(_Model):
    """A window in which no change may run without an override (``blackouts`` in config.json).

    ``start`` and ``end`` are instants with an offset (``2030-12-20T00:00:00Z``); a change whose
    window touches ``[start, end]`` is blocked by the ``blackout`` gate.
    """

    start: datetime
    end: datetime
    reason: str = Field(min_length=1, max_length=300)

    @model_validator(mode="after")
    def _ordered(self) -> Blackout:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need an offset or Z (an instant, not a local time)")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class CustomerMapping(_Model):
    """One customer's entry under ``customer_mappings``."""

    customer_code: str = Field(pattern=CUSTOMER_CODE_PATTERN)
    customer_name: str = Field(min_length=1, max_length=120)
    environment: str = Field(default="production", min_length=1, max_length=40)
    region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    ses_role_arn: str = Field(pattern=ROLE_ARN_PATTERN)
    sqs_queue_arn: str | None = Field(default=None, pattern=QUEUE_ARN_PATTERN)
    identity_center_role_arn: str | None = Field(default=None, pattern=ROLE_ARN_PATTERN)
    restricted_recipients: tuple[str, ...] = ()
    blackouts: tuple[Blackout, ...] = ()
    """This customer's blackout windows, in addition to the global ones."""
    contact_list_name: str = Field(default="changecast", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    ses_configuration_set: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    """The SES configuration set of the customer's identity (event destination: the events
    topic); default ``changecast-{customer_code}``, the name the customer-account module
    creates. ``ses domain setup`` and ``doctor`` use it."""
    max_send_rate: float | None = Field(default=None, gt=0, le=10_000)
    ses_role_external_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9+=,.@:/-]{2,1224}$")
    """Sent as ``ExternalId`` when the worker assumes ``ses_role_arn`` (its trust policy asks)."""
    ses_admin_role_arn: str | None = Field(default=None, pattern=ROLE_ARN_PATTERN)
    """The customer's admin role (contact lists, topics, test sends), which operators and the
    portal assume; ``ses_role_arn`` (the sending role) trusts only this customer's worker."""
    ses_events_role_arn: str | None = Field(default=None, pattern=ROLE_ARN_PATTERN)
    """The customer's role that may only add to its account-level suppression list, assumed by
    the hub's SES events worker (Terraform output ``ses_events_role_arn``); without it the
    worker tries ``ses_role_arn``, which the deployed sending role refuses (then noted)."""
    ses_events_topic_arn: str | None = Field(default=None, pattern=TOPIC_ARN_PATTERN)
    """The SNS topic this account's SES events come through (Terraform output
    ``ses_events_topic_arn``). The events worker applies an event only to messages of the
    customer whose topic it came through; without this field, the customer's topic is any
    ``*-ses-events`` topic of its account and region that no other customer shares."""
    timezone: str | None = Field(default=None, max_length=64)
    """The IANA timezone the customer reads times in (an "updated" email's old → new times);
    when absent, the change's own schedule timezone."""
    reminder_hours: float = Field(default=24.0, ge=0, le=24 * 14)
    """How long before a window opens its reminder goes to ``aws-announce`` (0: no reminder);
    a fraction is allowed (0.5 is 30 minutes)."""
    window_notices: bool = False
    """Also announce "window open" and "window closed" to ``aws-announce``."""
    surveys: bool = True
    """Send a post-change survey (1-5 and a comment) to ``aws-announce`` after completion."""
    nudge_hours: float = Field(default=4.0, ge=0, le=24 * 14)
    """How long after its window closes an approved change that is still not completed or
    cancelled nudges its creator and last editor (0: never)."""

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value[:60]!r} is not an IANA timezone") from None
        return value

    @field_validator("restricted_recipients")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [address for address in value if not is_email(address)]
        if bad:
            raise ValueError(f"not an email address: {', '.join(bad[:3])}")
        return tuple(address.lower() for address in value)

    @property
    def is_production(self) -> bool:
        """Non-production customers mail only their restricted recipients."""
        return self.environment.lower() in PRODUCTION_ENVIRONMENTS

    @property
    def configuration_set_name(self) -> str:
        """``ses_configuration_set``, else ``changecast-{code}`` (what Terraform creates)."""
        return (
            self.ses_configuration_set or f"{DEFAULT_CONFIGURATION_SET_PREFIX}-{self.customer_code}"
        )

    @property
    def admin_role_arn(self) -> str:
        """The role for admin commands and portal reads: the admin role, else the sending role."""
        return self.ses_admin_role_arn or self.ses_role_arn

    @property
    def account_id(self) -> str:
        """The customer's AWS account id, read from its SES role ARN."""
        return self.ses_role_arn.split(":")[4]


class S3Config(_Model):
    """Where the system of record lives."""

    bucket_name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class EmailConfig(_Model):
    """Sender identity and links used in every email."""

    sender_address: str = Field(pattern=EMAIL_PATTERN)
    meeting_organizer: str = Field(pattern=EMAIL_PATTERN)
    portal_base_url: str = Field(pattern=r"^https?://[^\s]+$", max_length=300)
    domain: str = Field(pattern=r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,63}$")


class SimulatedSesLimits(_Model):
    """``local_ses`` in config.json: the embedded SES's own limits (``changecast local up`` only).

    moto reports a fixed 200 emails a day at 1/s; the embedded system reports these instead:
    preflight checks today's sends (counted from the outbox) against ``max_24_hour_send``, and
    the workers pace at ``max_send_rate``. The defaults are a new SES production account's. An
    AWS deployment ignores this section (SES reports the account's real limits).
    """

    max_24_hour_send: int = Field(default=50_000, ge=1, le=100_000_000)
    max_send_rate: float = Field(default=14.0, gt=0, le=10_000)


class AppConfig(_Model):
    """The whole of config.json."""

    aws_region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    s3_config: S3Config
    customer_mappings: dict[str, CustomerMapping] = Field(min_length=1)
    email_config: EmailConfig
    blackouts: tuple[Blackout, ...] = ()
    """Blackout windows for every customer (each customer may add its own)."""
    require_customer_signoff: bool = False
    """Approval needs every customer's sign-off (by signed link) on the version approved."""
    local_ses: SimulatedSesLimits | None = None
    """The embedded SES's quota and rate (``local up`` writes it from its flags); AWS ignores it."""

    @model_validator(mode="after")
    def _keys_match_codes(self) -> AppConfig:
        for key, mapping in self.customer_mappings.items():
            if key != mapping.customer_code:
                raise ValueError(
                    f"customer_mappings key {key!r} differs from its customer_code "
                    f"{mapping.customer_code!r}"
                )
        return self


SubscriptionStatus = Literal["OPT_IN", "OPT_OUT"]


class TopicSpec(BaseModel):
    """One SES topic as SESConfig.json writes it (PascalCase, like the SES API)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    topic_name: str = Field(alias="TopicName", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    display_name: str = Field(alias="DisplayName", min_length=1, max_length=128)
    description: str = Field(default="", alias="Description", max_length=500)
    default_subscription_status: SubscriptionStatus = Field(
        default="OPT_OUT", alias="DefaultSubscriptionStatus"
    )
    opt_in_roles: tuple[str, ...] = Field(default=(), alias="OptInRoles")


class SESConfig(BaseModel):
    """The whole of SESConfig.json. ``expanded_topics`` applies the prefix groups."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    topic_group_prefix: tuple[str, ...] = ()
    topic_group_members: tuple[TopicSpec, ...] = ()
    topics: tuple[TopicSpec, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> SESConfig:
        names = [topic.topic_name for topic in self.expanded_topics()]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"topic names repeat after expansion: {', '.join(duplicates)}")
        return self

    def expanded_topics(self) -> tuple[TopicSpec, ...]:
        """Every topic: each prefix joined with each group member, then the plain topics."""
        grouped = tuple(
            member.model_copy(update={"topic_name": f"{prefix}-{member.topic_name}"})
            for prefix in self.topic_group_prefix
            for member in self.topic_group_members
        )
        return grouped + self.topics

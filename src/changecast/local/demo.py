"""Demo customers, contacts and changes for the embedded system. No real person's address."""

from __future__ import annotations

from dataclasses import dataclass

from changecast.customers.models import (
    AppConfig,
    CustomerMapping,
    EmailConfig,
    S3Config,
    SESConfig,
    TopicSpec,
)

DEMO_NAMES = [
    ("acme", "Acme Corporation", "production"),
    ("globex", "Globex (non-production)", "nonprod"),
    ("initech", "Initech", "production"),
    ("umbrella", "Umbrella Holdings", "production"),
    ("hooli", "Hooli", "nonprod"),
    ("wonka", "Wonka Industries", "production"),
]
HUB_ACCOUNT = "123456789012"
FIRST_CUSTOMER_ACCOUNT = 210_000_000_000
SES_ROLE = "changecast-ses"
IDENTITY_ROLE = "changecast-identity-center"
BUCKET = "changecast-local"
SENDER_DOMAIN = "ccoe.example.com"


def customer_codes(count: int) -> list[tuple[str, str, str]]:
    """``count`` demo customers: named ones first, then ``customer-NN``."""
    chosen = DEMO_NAMES[:count]
    for number in range(len(chosen) + 1, count + 1):
        env = "nonprod" if number % 4 == 0 else "production"
        chosen.append((f"customer-{number:02d}", f"Customer {number:02d}", env))
    return chosen


def account_of(index: int) -> str:
    return str(FIRST_CUSTOMER_ACCOUNT + index)


def demo_config(count: int, *, portal_url: str, region: str = "us-east-1") -> AppConfig:
    """config.json for ``count`` simulated customer accounts."""
    mappings = {}
    for index, (code, name, env) in enumerate(customer_codes(count)):
        account = account_of(index)
        restricted = (f"ops-lead@{code}.example.com",) if env != "production" else ()
        mappings[code] = CustomerMapping(
            customer_code=code,
            customer_name=name,
            environment=env,
            region=region,
            ses_role_arn=f"arn:aws:iam::{account}:role/{SES_ROLE}",
            sqs_queue_arn=f"arn:aws:sqs:{region}:{HUB_ACCOUNT}:changecast-{code}",
            identity_center_role_arn=f"arn:aws:iam::{account}:role/{IDENTITY_ROLE}",
            restricted_recipients=restricted,
            max_send_rate=14,
        )
    return AppConfig(
        aws_region=region,
        s3_config=S3Config(bucket_name=BUCKET),
        customer_mappings=mappings,
        email_config=EmailConfig(
            sender_address=f"change-notices@{SENDER_DOMAIN}",
            meeting_organizer=f"ccoe-calendar@{SENDER_DOMAIN}",
            portal_base_url=portal_url,
            domain=SENDER_DOMAIN,
        ),
    )


def demo_ses_config() -> SESConfig:
    """The three topics of the seeds, as a prefix group, and the five announcement topics."""
    members = (
        TopicSpec(
            topic_name="calendar",
            display_name="Change calendar",
            description="Calendar invites for change windows",
            default_subscription_status="OPT_OUT",
            opt_in_roles=("ops",),
        ),
        TopicSpec(
            topic_name="announce",
            display_name="Change announcements",
            description="Approved, updated, completed and cancelled changes",
            default_subscription_status="OPT_IN",
            opt_in_roles=(),
        ),
        TopicSpec(
            topic_name="approval",
            display_name="Change approvals",
            description="Requests to approve a change",
            default_subscription_status="OPT_OUT",
            opt_in_roles=("approver",),
        ),
    )
    return SESConfig(
        topic_group_prefix=("aws",), topic_group_members=members, topics=ANNOUNCEMENT_TOPICS
    )


ANNOUNCEMENT_TOPICS = (
    TopicSpec(
        topic_name="announce-approval",
        display_name="Announcement approval requests",
        description="Requests to approve an announcement",
        default_subscription_status="OPT_OUT",
        opt_in_roles=("approver",),
    ),
    TopicSpec(
        topic_name="cic-announce",
        display_name="Cloud Innovator Community announcements",
        description="News of the Cloud Innovator Community",
        default_subscription_status="OPT_IN",
        opt_in_roles=(),
    ),
    TopicSpec(
        topic_name="finops-announce",
        display_name="FinOps announcements",
        description="Cost and billing news",
        default_subscription_status="OPT_OUT",
        opt_in_roles=("finance",),
    ),
    TopicSpec(
        topic_name="inner-announce",
        display_name="InnerSource announcements",
        description="News of the InnerSource community",
        default_subscription_status="OPT_OUT",
        opt_in_roles=("ops",),
    ),
    TopicSpec(
        topic_name="general-updates",
        display_name="General updates",
        description="General platform team updates",
        default_subscription_status="OPT_OUT",
        opt_in_roles=(),
    ),
)
"""The reference tool's announcement topics (its SESConfig.json names them so)."""


@dataclass(frozen=True)
class DemoContact:
    """One contact and its explicit topic preferences (others follow the topic default)."""

    local_part: str
    preferences: dict[str, str]
    unsubscribe_all: bool = False


DEMO_CONTACTS = [
    DemoContact("ops-lead", {"aws-approval": "OPT_IN", "aws-calendar": "OPT_IN"}),
    DemoContact(
        "cloud-architect",
        {"aws-approval": "OPT_IN", "announce-approval": "OPT_IN", "inner-announce": "OPT_IN"},
    ),
    DemoContact("sre-oncall", {"aws-calendar": "OPT_IN"}),
    DemoContact("finance-watcher", {"aws-announce": "OPT_OUT", "finops-announce": "OPT_IN"}),
    DemoContact(
        "security-team",
        {"aws-approval": "OPT_IN", "aws-announce": "OPT_IN", "general-updates": "OPT_IN"},
    ),
    DemoContact("former-member", {}, unsubscribe_all=True),
]


def contact_address(contact: DemoContact, code: str) -> str:
    return f"{contact.local_part}@{code}.example.com"


@dataclass(frozen=True)
class DemoUser:
    """One Identity Center user of a demo customer, and the groups it belongs to."""

    local_part: str
    display_name: str
    groups: tuple[str, ...]


DEMO_GROUPS = ("ccoe-cloud-approver", "ccoe-cloud-ops", "finance")
DEMO_USERS = (
    DemoUser("ops-lead", "Olga Lead", ("ccoe-cloud-ops", "ccoe-cloud-approver")),
    DemoUser("cloud-architect", "Carl Architect", ("ccoe-cloud-approver",)),
    DemoUser("platform-engineer", "Petra Engineer", ("ccoe-cloud-ops",)),
    DemoUser("finance-watcher", "Fiona Watcher", ("finance",)),
)
DEMO_MEMBER_ACCOUNTS = ("workloads", "sandbox")

"""Creates the hub's bucket, queues and notifications, and each customer account's SES, on moto."""

from __future__ import annotations

import json
from typing import Any

import structlog

from changecast.aws.dynamodb import create_ledger_table
from changecast.aws.sessions import AwsClients
from changecast.customers.models import AppConfig, CustomerMapping, SESConfig
from changecast.local.demo import (
    DEMO_CONTACTS,
    DEMO_GROUPS,
    DEMO_MEMBER_ACCOUNTS,
    DEMO_USERS,
    HUB_ACCOUNT,
    contact_address,
)
from changecast.local.ses_simulator import SIMULATOR_ADDRESSES, topic_name
from changecast.local_runtime import LocalCustomer

log = structlog.get_logger()

TRIGGER_RETENTION_DAYS = 30
MAX_RECEIVE_COUNT = 5
VISIBILITY_TIMEOUT = 120
LEDGER_TABLE = "changecast-ledger"
EVENTS_QUEUE = "changecast-ses-events"
SIMULATOR_CUSTOMER_INDEX = 2
"""The demo customer (initech) whose list also holds SES's mailbox simulator addresses."""
SIMULATOR_PREFERENCES = {
    "aws-announce": "OPT_IN",
    "aws-approval": "OPT_OUT",
    "aws-calendar": "OPT_OUT",
}


def create_bucket(aws: AwsClients, config: AppConfig) -> None:
    """The system-of-record bucket, with the 30-day lifecycle rule on ``customers/``."""
    s3 = aws.client("s3")
    bucket = config.s3_config.bucket_name
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-customer-triggers",
                    "Filter": {"Prefix": "customers/"},
                    "Status": "Enabled",
                    "Expiration": {"Days": TRIGGER_RETENTION_DAYS},
                }
            ]
        },
    )


def create_queues(aws: AwsClients, config: AppConfig) -> dict[str, tuple[str, str, str]]:
    """One queue plus DLQ per customer; returns code -> (queue url, queue arn, dlq url)."""
    sqs = aws.client("sqs")
    made = {}
    for code in config.customer_mappings:
        dlq_url = sqs.create_queue(QueueName=f"changecast-{code}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
        url = sqs.create_queue(
            QueueName=f"changecast-{code}",
            Attributes={
                "VisibilityTimeout": str(VISIBILITY_TIMEOUT),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        made[code] = (url, arn, dlq_url)
    return made


def configure_notifications(
    aws: AwsClients, config: AppConfig, queues: dict[str, tuple[str, str, str]]
) -> None:
    """S3 events for ``customers/{code}/*.json`` go to that customer's queue; drafts get none."""
    rules: list[dict[str, Any]] = [
        {
            "Id": f"changecast-{code}",
            "QueueArn": queue_arn,
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {
                "Key": {
                    "FilterRules": [
                        {"Name": "prefix", "Value": f"customers/{code}/"},
                        {"Name": "suffix", "Value": ".json"},
                    ]
                }
            },
        }
        for code, (_, queue_arn, _) in queues.items()
    ]
    aws.client("s3").put_bucket_notification_configuration(
        Bucket=config.s3_config.bucket_name,
        NotificationConfiguration={"QueueConfigurations": rules},
    )


IDENTITY_DEMO_CUSTOMERS = 12
"""Customers whose simulated Organization and Identity Center get demo accounts and users.

Each costs about 25 AWS calls; past the first dozen they add start-up time (``local up
--customers 300``) and nothing a demo needs: the other accounts have empty Identity Centers."""


def provision_customer(
    aws: AwsClients, config: AppConfig, ses_config: SESConfig, mapping: CustomerMapping, index: int
) -> None:
    """In the customer's own account: a verified sender and a contact list with demo contacts."""
    sesv2 = aws.for_role(mapping.ses_role_arn, "sesv2", region=mapping.region)
    ses = aws.for_role(mapping.ses_role_arn, "ses", region=mapping.region)
    sender = config.email_config.sender_address
    sesv2.create_email_identity(EmailIdentity=config.email_config.domain)
    ses.verify_email_identity(EmailAddress=sender)
    ses.verify_email_identity(EmailAddress=config.email_config.meeting_organizer)
    topics = [
        {
            "TopicName": topic.topic_name,
            "DisplayName": topic.display_name,
            "Description": topic.description,
            "DefaultSubscriptionStatus": topic.default_subscription_status,
        }
        for topic in ses_config.expanded_topics()
    ]
    sesv2.create_contact_list(ContactListName=mapping.contact_list_name, Topics=topics)
    for contact in DEMO_CONTACTS[: 4 + index % 3]:
        sesv2.create_contact(
            ContactListName=mapping.contact_list_name,
            EmailAddress=contact_address(contact, mapping.customer_code),
            TopicPreferences=[
                {"TopicName": name, "SubscriptionStatus": status}
                for name, status in contact.preferences.items()
            ],
            UnsubscribeAll=contact.unsubscribe_all,
        )
    if index == SIMULATOR_CUSTOMER_INDEX:
        for address in SIMULATOR_ADDRESSES:  # SES's mailbox simulator: announcements only
            sesv2.create_contact(
                ContactListName=mapping.contact_list_name,
                EmailAddress=address,
                TopicPreferences=[
                    {"TopicName": name, "SubscriptionStatus": status}
                    for name, status in SIMULATOR_PREFERENCES.items()
                ],
            )
    if index < IDENTITY_DEMO_CUSTOMERS:
        provision_identity(aws, mapping)
    log.info("customer_provisioned", customer=mapping.customer_code, account=mapping.account_id)


def create_event_pipeline(aws: AwsClients, config: AppConfig) -> str:
    """The hub ``ses-events`` queue (+ DLQ) and one SNS topic per customer feeding it.

    Deployed, each topic is in the customer's own account (its configuration set's event
    destination); moto's SNS delivers only to queues of the topic's account, so here the
    topics live in the hub account, as the per-customer trigger queues do. Returns the URL.
    """
    sqs, sns = aws.client("sqs"), aws.client("sns")
    dlq_url = sqs.create_queue(QueueName=f"{EVENTS_QUEUE}-dlq")["QueueUrl"]
    dlq_arn = _queue_arn(sqs, dlq_url)
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    url = sqs.create_queue(
        QueueName=EVENTS_QUEUE,
        Attributes={"VisibilityTimeout": "30", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    arn = _queue_arn(sqs, url)
    topics = []
    for code in config.customer_mappings:
        topic = sns.create_topic(Name=topic_name(code))["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        topics.append(topic)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CustomerTopics",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topics}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return str(url)


def events_topic_arn(config: AppConfig, code: str) -> str:
    """The SNS topic the embedded SES of ``code`` publishes its events to (hub account)."""
    return f"arn:aws:sns:{config.aws_region}:{HUB_ACCOUNT}:{topic_name(code)}"


def _queue_arn(sqs: Any, url: str) -> str:
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(found["Attributes"]["QueueArn"])


def provision_identity(aws: AwsClients, mapping: CustomerMapping) -> None:
    """The customer's Organization and Identity Center, as the admin CLI finds them.

    Two member accounts with a security contact, and users in ``ccoe-cloud-*`` groups, so that
    ``identity import`` and ``alt-contacts show`` have something to show.
    """
    role = mapping.identity_center_role_arn
    if not role:
        return
    code = mapping.customer_code
    orgs = aws.for_role(role, "organizations", region="us-east-1")
    account = aws.for_role(role, "account", region="us-east-1")
    orgs.create_organization(FeatureSet="ALL")
    for name in DEMO_MEMBER_ACCOUNTS:
        created = orgs.create_account(
            AccountName=f"{code}-{name}", Email=f"aws-{name}@{code}.example.com"
        )
        member = created["CreateAccountStatus"]["AccountId"]
        account.put_alternate_contact(
            AccountId=member,
            AlternateContactType="SECURITY",
            Name="Security team",
            Title="Security operations",
            EmailAddress=f"security-team@{code}.example.com",
            PhoneNumber="+1 555 0100",
        )
    region = mapping.region
    store_id = aws.for_role(role, "sso-admin", region=region).list_instances()["Instances"][0][
        "IdentityStoreId"
    ]
    ids = aws.for_role(role, "identitystore", region=region)
    groups = {
        name: ids.create_group(IdentityStoreId=store_id, DisplayName=name)["GroupId"]
        for name in DEMO_GROUPS
    }
    for user in DEMO_USERS:
        address = f"{user.local_part}@{code}.example.com"
        user_id = ids.create_user(
            IdentityStoreId=store_id,
            UserName=address,
            DisplayName=user.display_name,
            Name={
                "GivenName": user.display_name.split()[0],
                "FamilyName": user.display_name.split()[-1],
            },
            Emails=[{"Value": address, "Type": "work", "Primary": True}],
        )["UserId"]
        for group in user.groups:
            ids.create_group_membership(
                IdentityStoreId=store_id, GroupId=groups[group], MemberId={"UserId": user_id}
            )


def provision(
    aws: AwsClients,
    config: AppConfig,
    ses_config: SESConfig,
    *,
    ledger_table: str = LEDGER_TABLE,
) -> dict[str, LocalCustomer]:
    """Everything but the notifications (set those after restoring saved objects)."""
    create_bucket(aws, config)
    create_ledger_table(aws.client("dynamodb"), ledger_table)
    queues = create_queues(aws, config)
    for index, mapping in enumerate(config.customer_mappings.values()):
        provision_customer(aws, config, ses_config, mapping, index)
    return {
        code: LocalCustomer(
            account_id=config.customer_mappings[code].account_id, queue_url=url, dlq_url=dlq
        )
        for code, (url, _, dlq) in queues.items()
    }


def queue_arns(
    aws: AwsClients, customers: dict[str, LocalCustomer]
) -> dict[str, tuple[str, str, str]]:
    sqs = aws.client("sqs")
    found = {}
    for code, customer in customers.items():
        arn = sqs.get_queue_attributes(QueueUrl=customer.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        found[code] = (customer.queue_url, arn, customer.dlq_url)
    return found

"""``changecast doctor`` against a moto environment: healthy exits 0; each broken piece fails.

The environment is what Terraform builds (hub bucket, queues and DLQs, notifications, ledger,
runtime secret, worker functions with their event sources; in each customer account the SES
identity on its configuration set, whose event destination publishes to a topic the hub's
events queue is subscribed to), built with boto3 on moto. Each test breaks one piece and checks
that doctor reports it as ``fail`` with its fix and exits 1. Where moto lacks an API (SESv2
GetAccount: sending enabled and the sandbox), doctor reports ``warn`` with the reason.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from changecast.aws.dynamodb import create_ledger_table
from changecast.index.engine import open_index
from tests.cli.ses_harness import World, deny_role, make_world
from tests.production.idp_metadata import idp_metadata_xml

HUB = "123456789012"
REGION = "us-east-1"
BUCKET = "changecast-test"
LEDGER = "changecast-ledger"
CODES = ("acme", "globex")
DOMAIN = "example.com"
EVENT_TYPES = ["send", "delivery", "bounce", "complaint", "reject"]


def account(code: str) -> str:
    return str(200000000000 + CODES.index(code))


def cert_pem(days: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idc.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def mapping(code: str) -> dict[str, Any]:
    acct = account(code)
    return {
        "customer_code": code,
        "customer_name": code.title(),
        "region": REGION,
        "ses_role_arn": f"arn:aws:iam::{acct}:role/changecast-ses",
        "ses_role_external_id": f"ext-{code}-0123456789",
        "ses_admin_role_arn": f"arn:aws:iam::{acct}:role/changecast-ses-admin",
        "ses_events_role_arn": f"arn:aws:iam::{acct}:role/changecast-ses-events",
        "sqs_queue_arn": f"arn:aws:sqs:{REGION}:{HUB}:changecast-{code}",
        "contact_list_name": "changecast",
    }


@dataclass
class Env:
    world: World
    monkeypatch: pytest.MonkeyPatch
    queue_urls: dict[str, str] = field(default_factory=dict)
    dlq_urls: dict[str, str] = field(default_factory=dict)
    mappings: dict[str, str] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    secret_arn: str = ""

    def hub(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]

    def customer(self, code: str, service: str) -> Any:
        sts = boto3.client("sts", region_name=REGION)
        creds = sts.assume_role(
            RoleArn=mapping(code)["ses_admin_role_arn"], RoleSessionName="seed"
        )["Credentials"]
        return boto3.client(  # type: ignore[call-overload]
            service,
            region_name=REGION,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    def doctor(self, *args: str) -> tuple[int, dict[str, Any]]:
        outcome = self.world.invoke("doctor", "--all", *args, "-o", "json")
        return outcome.code, outcome.json()

    def checks(self, report: dict[str, Any], scope: str) -> dict[str, dict[str, str]]:
        if scope == "hub":
            found = report["hub"]
        else:
            [customer] = [c for c in report["customers"] if c["customer"] == scope]
            found = customer["data"]["checks"]
        return {c["name"]: c for c in found}


def queue(env: Env, name: str, *, dlq: bool = True) -> tuple[str, str]:
    sqs = env.hub("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    attributes = {}
    if dlq:
        target = f"arn:aws:sqs:{REGION}:{HUB}:{name}-dlq"
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": target, "maxReceiveCount": "5"}
        )
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, dlq_url


def function(env: Env, name: str, queue_arn: str) -> str:
    iam = env.hub("iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    env.hub("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
    )
    made = env.hub("lambda").create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=name, BatchSize=10, Enabled=True
    )
    return str(made["UUID"])


def build(env: Env, *, skip: frozenset[str] = frozenset()) -> None:
    """The healthy environment, less the pieces named in ``skip``."""
    config = {
        "aws_region": REGION,
        "s3_config": {"bucket_name": BUCKET},
        "customer_mappings": {code: mapping(code) for code in CODES},
        "email_config": {
            "sender_address": f"change-notices@{DOMAIN}",
            "meeting_organizer": f"calendar@{DOMAIN}",
            "portal_base_url": "https://changes.example.com",
            "domain": DOMAIN,
        },
    }
    env.world.config_path.write_text(json.dumps(config), encoding="utf-8")
    s3 = env.hub("s3")
    s3.create_bucket(Bucket=BUCKET)
    if "versioning" not in skip:
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    rules = []
    for code in CODES:
        url, dlq = queue(env, f"changecast-{code}")
        env.queue_urls[code], env.dlq_urls[code] = url, dlq
        arn = mapping(code)["sqs_queue_arn"]
        env.mappings[code] = function(env, f"changecast-test-worker-{code}", arn)
        rules.append(
            {
                "Id": f"changecast-{code}",
                "QueueArn": arn,
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
        )
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"QueueConfigurations": rules}
    )
    events_url, _ = queue(env, "changecast-test-ses-events")
    events_arn = f"arn:aws:sqs:{REGION}:{HUB}:changecast-test-ses-events"
    env.mappings["events"] = function(env, "changecast-test-ses-events", events_arn)
    create_ledger_table(env.hub("dynamodb"), LEDGER)
    env.secret_arn = env.hub("secretsmanager").create_secret(
        Name="changecast/runtime",
        SecretString=json.dumps({"session_secret": "s" * 48, "links_secret": "l" * 48}),
    )["ARN"]
    database = f"sqlite:///{env.world.root / 'index.db'}"
    open_index(database).close()
    metadata = env.world.root / "idc.xml"
    metadata.write_text(
        idp_metadata_xml(cert_pem(365), "https://idc.test/entity", "https://idc.test/sso")
    )
    for name, value in {
        "CHANGECAST_MODE": "aws",
        "CHANGECAST_SECRETS_ID": env.secret_arn,
        "CHANGECAST_DELIVERY__LEDGER_TABLE": LEDGER,
        "CHANGECAST_DATABASE_URL": database,
        "CHANGECAST_EVENTS__QUEUE_URL": events_url,
        "CHANGECAST_WEB__BASE_URL": "https://changes.example.com",
        "CHANGECAST_SAML__IDP_METADATA_FILE": str(metadata),
    }.items():
        env.monkeypatch.setenv(name, value)
    for code in CODES:
        set_name = f"changecast-{code}"
        sesv2 = env.customer(code, "sesv2")
        sesv2.create_configuration_set(ConfigurationSetName=set_name)
        topic = env.customer(code, "sns").create_topic(Name="changecast-ses-events")["TopicArn"]
        env.topics[code] = topic
        if f"destination-{code}" not in skip:
            env.customer(code, "ses").create_configuration_set_event_destination(
                ConfigurationSetName=set_name,
                EventDestination={
                    "Name": "changecast-events",
                    "Enabled": True,
                    "MatchingEventTypes": EVENT_TYPES,
                    "SNSDestination": {"TopicARN": topic},
                },
            )
        if f"subscription-{code}" not in skip:
            env.customer(code, "sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=events_arn)
        if f"identity-{code}" not in skip:
            sesv2.create_email_identity(
                EmailIdentity=DOMAIN,
                ConfigurationSetName=set_name,
                DkimSigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"},
            )


@pytest.fixture
def env(aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    from moto import mock_aws

    # Lambda functions exist only to own event source mappings: moto need not run them.
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield Env(world=make_world(tmp_path / "cfg"), monkeypatch=monkeypatch)
    structlog.reset_defaults()


def test_a_healthy_environment_passes(env: Env) -> None:
    build(env)
    code, report = env.doctor()
    statuses = {
        scope: {n: c["status"] for n, c in env.checks(report, scope).items()}
        for scope in ("hub", *CODES)
    }
    assert code == 0, json.dumps(report, indent=1)
    for scope, found in statuses.items():
        assert "fail" not in found.values(), (scope, found)
    hub = env.checks(report, "hub")
    assert hub["index schema"]["status"] == "ok"
    assert hub["SAML certificate"]["status"] == "ok"
    assert hub["runtime secret"]["detail"].startswith("fields links_secret, session_secret")
    acme = env.checks(report, "acme")
    for name in (
        "trigger queue and DLQ",
        "bucket notification",
        "worker event source",
        "admin role",
        "sending role",
        "events role",
        "SES identity",
        "configuration set",
        "identity's configuration set",
        "event destination",
        "events subscription",
    ):
        assert acme[name]["status"] == "ok", (name, acme[name])
    # moto lacks SESv2 GetAccount: sending and the sandbox are warnings that say so
    assert acme["SES sandbox"]["status"] == "warn"
    assert "moto lacks" in acme["SES sandbox"]["detail"]


Breaker = Callable[[Env], None]


def _notification(env: Env) -> None:
    """acme's rule filters the wrong prefix: its triggers would never reach its queue."""
    s3 = env.hub("s3")
    rules = s3.get_bucket_notification_configuration(Bucket=BUCKET)["QueueConfigurations"]
    for rule in rules:
        if rule["QueueArn"] == mapping("acme")["sqs_queue_arn"]:
            rule["Filter"]["Key"]["FilterRules"] = [
                {"Name": "prefix", "Value": "customer/acme/"},
                {"Name": "suffix", "Value": ".json"},
            ]
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"QueueConfigurations": rules}
    )


def _no_notification(env: Env) -> None:
    s3 = env.hub("s3")
    rules = s3.get_bucket_notification_configuration(Bucket=BUCKET)["QueueConfigurations"]
    kept = [r for r in rules if r["QueueArn"] != mapping("acme")["sqs_queue_arn"]]
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"QueueConfigurations": kept}
    )


def _dlq(env: Env) -> None:
    env.hub("sqs").delete_queue(QueueUrl=env.dlq_urls["acme"])


def _redrive(env: Env) -> None:
    env.hub("sqs").set_queue_attributes(
        QueueUrl=env.queue_urls["acme"], Attributes={"RedrivePolicy": ""}
    )


def _role(env: Env) -> None:
    deny_role(env.monkeypatch, mapping("acme")["ses_admin_role_arn"])


def _event_source(env: Env) -> None:
    env.hub("lambda").update_event_source_mapping(UUID=env.mappings["acme"], Enabled=False)


def _ledger(env: Env) -> None:
    env.hub("dynamodb").delete_table(TableName=LEDGER)


def _versioning(env: Env) -> None:
    env.hub("s3").put_bucket_versioning(
        Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"}
    )


def _index(env: Env) -> None:
    env.monkeypatch.setenv("CHANGECAST_DATABASE_URL", f"sqlite:///{env.world.root / 'empty.db'}")


def _secret(env: Env) -> None:
    env.hub("secretsmanager").put_secret_value(
        SecretId=env.secret_arn, SecretString=json.dumps({"links_secret": "l" * 48})
    )


def _saml(env: Env) -> None:
    metadata = env.world.root / "idc.xml"
    metadata.write_text(
        idp_metadata_xml(cert_pem(10), "https://idc.test/entity", "https://idc.test/sso")
    )


def _events_queue(env: Env) -> None:
    sqs = env.hub("sqs")
    url = sqs.get_queue_url(QueueName="changecast-test-ses-events-dlq")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)


CASES: list[tuple[str, Breaker | frozenset[str], str, str, str, str]] = [
    # id, break, scope, check, detail contains, fix contains
    (
        "notification",
        _notification,
        "acme",
        "bucket notification",
        "the notification filters prefix 'customer/acme/'",
        "terraform apply the hub",
    ),
    (
        "no notification",
        _no_notification,
        "acme",
        "bucket notification",
        "no notification sends to",
        "customers/acme/*.json",
    ),
    ("dlq", _dlq, "acme", "trigger queue and DLQ", "does not exist", "redrive policy"),
    ("redrive", _redrive, "acme", "trigger queue and DLQ", "no redrive policy", "terraform apply"),
    ("role", _role, "acme", "admin role", "AccessDenied", "trust policy must admit"),
    (
        "identity",
        frozenset({"identity-acme"}),
        "acme",
        "SES identity",
        "not verified",
        "ses domain setup",
    ),
    (
        "destination",
        frozenset({"destination-acme"}),
        "acme",
        "event destination",
        "publishes no events",
        "customer-account module",
    ),
    (
        "subscription",
        frozenset({"subscription-acme"}),
        "acme",
        "events subscription",
        "no subscription",
        "ses_events_queue_arn",
    ),
    (
        "event source",
        _event_source,
        "acme",
        "worker event source",
        "Disabled",
        "update-event-source-mapping",
    ),
    ("ledger", _ledger, "hub", "ledger table", "ResourceNotFound", "LEDGER_TABLE"),
    ("versioning", _versioning, "hub", "bucket versioned", "Suspended", "put-bucket-versioning"),
    ("index", _index, "hub", "index schema", "at (empty)", "changecast deploy migrate"),
    ("secret", _secret, "hub", "runtime secret", "session_secret is missing", "secret-schema.md"),
    ("saml", _saml, "hub", "SAML certificate", "within 30 days", "certificate"),
    (
        "events queue",
        _events_queue,
        "hub",
        "SES events queue and DLQ",
        "does not exist",
        "terraform apply",
    ),
]


@pytest.mark.parametrize(
    ("breaker", "scope", "check", "detail", "fix"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_each_broken_piece_fails_with_its_fix(
    env: Env,
    breaker: Breaker | frozenset[str],
    scope: str,
    check: str,
    detail: str,
    fix: str,
) -> None:
    if isinstance(breaker, frozenset):
        build(env, skip=breaker)
    else:
        build(env)
        breaker(env)
    code, report = env.doctor()
    assert code == 1
    found = env.checks(report, scope)[check]
    assert found["status"] == "fail", found
    assert detail in found["detail"], found
    assert fix in found["fix"], found
    other = "globex" if scope == "acme" else None
    if other:  # the other customer is unaffected
        assert "fail" not in {c["status"] for c in env.checks(report, other).values()}


def test_one_customer_and_text_output(env: Env) -> None:
    build(env)
    _dlq(env)
    outcome = env.world.invoke("doctor", "-c", "globex")
    assert outcome.code == 0, outcome.stdout + outcome.stderr
    assert "acme" not in outcome.stdout.split("hub")[-1].split("globex")[0]
    failed = env.world.invoke("doctor", "-c", "acme")
    assert failed.code == 1
    assert "fail" in failed.stdout
    assert "redrive policy" in failed.stdout or "terraform apply the hub" in failed.stdout


def test_a_config_that_does_not_load_is_one_fail_line(env: Env) -> None:
    build(env)
    raw = json.loads(env.world.config_path.read_text())
    raw["customer_mappings"]["acme"]["ses_configuration_set"] = "not a name"
    env.world.config_path.write_text(json.dumps(raw))
    code, report = env.doctor()
    assert code == 1
    [check] = report["hub"]
    assert check["name"] == "config loads"
    assert check["status"] == "fail"
    assert "ses_configuration_set" in check["detail"]

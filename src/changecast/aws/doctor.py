"""Read-only checks of a deployed environment (``changecast doctor``): each one line with a fix.

Every check reads; none writes. A call the endpoint lacks (moto) or that the caller may not
make is a ``warn`` that says why, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from changecast.aws.errors import aws_call, error_code, translate
from changecast.aws.ses_domain import SesDomainAdapter
from changecast.aws.ses_preflight import SesPreflightProbe
from changecast.aws.sessions import AwsClients
from changecast.customers.models import AppConfig, CustomerMapping
from changecast.delivery.preflight import CheckName
from changecast.errors import ChangecastError

SESSION_NAME = "changecast-doctor"
EXPIRY_WARNING = timedelta(days=30)
EVENT_TYPES = ("BOUNCE", "COMPLAINT", "DELIVERY")
"""What the events worker needs from each configuration set's destination, at least."""


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, how it stands, and how to fix it."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


def ok(name: str, detail: str) -> Check:
    return Check(name, Status.OK, detail)


def warn(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, Status.WARN, detail, fix)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, Status.FAIL, detail, fix)


def _reason(exc: Exception, operation: str) -> str:
    if isinstance(exc, ChangecastError):
        return exc.message[:300]
    if isinstance(exc, ClientError):
        return translate(exc, operation=operation).message[:300]
    return f"{operation}: {type(exc).__name__}: {str(exc)[:200]}"


def _lacks(exc: Exception) -> bool:
    """Whether the endpoint does not implement the call (moto), rather than refusing it."""
    if isinstance(exc, ChangecastError):
        return bool(exc.context.get("unsupported"))
    if isinstance(exc, ClientError):
        return bool(translate(exc, operation="x").context.get("unsupported"))
    return False


def guarded(name: str, fix: str, run: Callable[[], Check | list[Check]]) -> list[Check]:
    """``run``'s checks; an AWS error becomes ``fail`` (or ``warn`` when the call is missing)."""
    try:
        found = run()
    except (ClientError, BotoCoreError, ChangecastError) as exc:
        reason = _reason(exc, name)
        if _lacks(exc):
            return [warn(name, f"not checked: {reason}", "check it in the AWS console")]
        return [fail(name, reason, fix)]
    return found if isinstance(found, list) else [found]


# -- the hub ------------------------------------------------------------------------------------


def bucket_checks(aws: AwsClients, bucket: str) -> list[Check]:
    s3 = aws.client("s3")

    def reachable() -> Check:
        with aws_call(f"HeadBucket {bucket}"):
            s3.head_bucket(Bucket=bucket)
        return ok("bucket reachable", f"s3://{bucket}")

    def versioned() -> Check:
        with aws_call(f"GetBucketVersioning {bucket}"):
            status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
        if status != "Enabled":
            return fail(
                "bucket versioned",
                f"versioning is {status or 'off'}",
                f"aws s3api put-bucket-versioning --bucket {bucket} "
                "--versioning-configuration Status=Enabled (or terraform apply the hub)",
            )
        return ok("bucket versioned", "Enabled")

    found = guarded(
        "bucket reachable",
        f"terraform apply the hub; check config.json s3_config.bucket_name ({bucket}) and "
        "s3:ListBucket for this caller",
        reachable,
    )
    if found[0].status is Status.OK:
        found += guarded("bucket versioned", "grant s3:GetBucketVersioning", versioned)
    return found


def notification_rules(aws: AwsClients, bucket: str) -> list[dict[str, Any]]:
    with aws_call(f"GetBucketNotificationConfiguration {bucket}"):
        answer = aws.client("s3").get_bucket_notification_configuration(Bucket=bucket)
    return list(answer.get("QueueConfigurations") or [])


def _filter(rule: dict[str, Any]) -> dict[str, str]:
    rules = ((rule.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []
    return {str(r.get("Name", "")).lower(): str(r.get("Value", "")) for r in rules}


def notification_check(rules: Sequence[dict[str, Any]], mapping: CustomerMapping) -> Check:
    """Exactly one rule sends ``customers/{code}/*.json`` creations to the customer's queue."""
    code, queue = mapping.customer_code, mapping.sqs_queue_arn
    name = "bucket notification"
    fix = (
        f"terraform apply the hub (aws_s3_bucket_notification: customers/{code}/*.json → "
        f"{queue or 'the queue'})"
    )
    prefix = f"customers/{code}/"
    mine = [r for r in rules if r.get("QueueArn") == queue]
    if not mine:
        return fail(name, f"no notification sends to {queue}", fix)
    if len(mine) > 1:
        return fail(name, f"{len(mine)} notifications send to {queue} (one expected)", fix)
    found = _filter(mine[0])
    events = mine[0].get("Events") or []
    if found.get("prefix") != prefix or found.get("suffix") != ".json":
        got = f"prefix {found.get('prefix')!r}, suffix {found.get('suffix')!r}"
        return fail(name, f"the notification filters {got}, not {prefix!r} + '.json'", fix)
    if not any(e in {"s3:ObjectCreated:*", "s3:ObjectCreated:Put"} for e in events):
        return fail(name, f"the notification is for {', '.join(events)}", fix)
    return ok(name, f"{prefix}*.json → {queue}")


def queue_checks(aws: AwsClients, queue_arn: str | None, label: str) -> list[Check]:
    """The queue exists, has a redrive policy, and its DLQ exists."""
    name = f"{label} queue and DLQ"
    if not queue_arn:
        return [fail(name, "no queue ARN", "set sqs_queue_arn in config.json (terraform output)")]
    sqs = aws.client("sqs")
    queue_name, account = queue_arn.rsplit(":", 2)[-1], queue_arn.rsplit(":", 2)[-2]

    def run() -> Check:
        with aws_call(f"GetQueueUrl {queue_name}"):
            url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)[
                "QueueUrl"
            ]
        with aws_call(f"GetQueueAttributes {queue_name}"):
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        raw = (attrs.get("Attributes") or {}).get("RedrivePolicy")
        fix = f"terraform apply the hub (the redrive policy of {queue_name})"
        if not raw:
            return fail(name, f"{queue_name} has no redrive policy (no DLQ)", fix)
        policy = json.loads(raw)
        dlq = str(policy.get("deadLetterTargetArn") or "")
        dlq_name = dlq.rsplit(":", 1)[-1]
        try:
            with aws_call(f"GetQueueUrl {dlq_name}"):
                sqs.get_queue_url(QueueName=dlq_name, QueueOwnerAWSAccountId=dlq.split(":")[4])
        except ChangecastError:
            return fail(name, f"{queue_name}'s DLQ {dlq_name} does not exist", fix)
        receives = policy.get("maxReceiveCount")
        return ok(name, f"{queue_name} → DLQ {dlq_name} after {receives} receives")

    return guarded(name, "terraform apply the hub (the queue and its DLQ)", run)


def event_source_check(aws: AwsClients, queue_arn: str | None, label: str) -> list[Check]:
    """A Lambda event source mapping reads the queue, and it is enabled."""
    name = f"{label} event source"
    if not queue_arn:
        return [warn(name, "not checked: no queue ARN")]

    def run() -> Check:
        with aws_call("ListEventSourceMappings"):
            answer = aws.client("lambda").list_event_source_mappings(EventSourceArn=queue_arn)
        mappings = answer.get("EventSourceMappings") or []
        fix = "terraform apply the hub (aws_lambda_event_source_mapping), or enable it"
        if not mappings:
            return fail(name, f"no function reads {queue_arn}", fix)
        states = {m.get("FunctionArn", "?").rsplit(":", 1)[-1]: m.get("State") for m in mappings}
        off = {f: s for f, s in states.items() if s not in {"Enabled", "Enabling", "Updating"}}
        if off:
            detail = ", ".join(f"{f} is {s}" for f, s in off.items())
            return fail(name, detail, f"aws lambda update-event-source-mapping --enabled ({fix})")
        return ok(name, ", ".join(f"{f} {s}" for f, s in states.items()))

    return guarded(name, "grant lambda:ListEventSourceMappings", run)


def ledger_check(aws: AwsClients, table: str) -> list[Check]:
    def run() -> Check:
        with aws_call(f"DescribeTable {table}"):
            status = aws.client("dynamodb").describe_table(TableName=table)["Table"]
        if status.get("TableStatus") not in {"ACTIVE", "UPDATING"}:
            return fail(
                "ledger table",
                f"{table} is {status.get('TableStatus')}",
                "wait, or terraform apply the hub",
            )
        return ok("ledger table", f"{table} {status.get('TableStatus')}")

    return guarded(
        "ledger table",
        f"terraform apply the hub, and set CHANGECAST_DELIVERY__LEDGER_TABLE (now {table})",
        run,
    )


def runtime_secret_check(aws: AwsClients, secret_id: str | None) -> list[Check]:
    from changecast.aws.config_files import SECRET_FIELDS, read_secret_fields

    name = "runtime secret"
    if not secret_id:
        return [
            fail(
                name,
                "CHANGECAST_SECRETS_ID is not set",
                "export CHANGECAST_SECRETS_ID=$(terraform output -raw runtime_secret_arn)",
            )
        ]

    def run() -> Check:
        found = read_secret_fields(aws.client("secretsmanager"), secret_id)
        if "session_secret" not in found:
            return fail(
                name,
                "session_secret is missing (the portal refuses to start)",
                "docs/runbooks/secret-schema.md: put-secret-value with a session_secret",
            )
        absent = sorted(SECRET_FIELDS - set(found))
        note = f"; absent (optional): {', '.join(absent)}" if absent else ""
        return ok(name, f"fields {', '.join(sorted(found))}{note}")

    return guarded(name, "docs/runbooks/secret-schema.md (accepted fields)", run)


# -- one customer -------------------------------------------------------------------------------


def role_checks(aws: AwsClients, mapping: CustomerMapping) -> list[Check]:
    """Assume the admin role (needed), and try the sending and events roles.

    The sending and events roles trust only the hub's worker and events roles, so an operator
    is refused them: that is a ``warn`` saying so. A refused admin role is a ``fail``.
    """
    found: list[Check] = []
    roles = [
        ("admin role", mapping.ses_admin_role_arn, None, True),
        ("sending role", mapping.ses_role_arn, mapping.ses_role_external_id, False),
        ("events role", mapping.ses_events_role_arn, None, False),
    ]
    for label, arn, external_id, required in roles:
        if not arn:
            field = "ses_admin_role_arn" if required else "ses_events_role_arn"
            fix = f"set {field} in config.json (the customer-account module's output)"
            found.append(warn(label, "not in config.json", fix))
            continue
        try:
            aws.assume(arn, session_name=SESSION_NAME, external_id=external_id)
        except (ClientError, BotoCoreError, ChangecastError) as exc:
            reason = _reason(exc, f"AssumeRole {arn}")
            if required:
                fix = (
                    f"terraform apply the customer-account module of {mapping.customer_code}; "
                    "its trust policy must admit this caller (admin_principal_arns)"
                )
                found.append(fail(label, reason, fix))
            else:
                found.append(
                    warn(
                        label,
                        f"{arn} refused this caller ({reason[:120]}); it trusts only the hub's "
                        "worker/events role",
                        "expected when run as an operator; the workers' own runs prove it",
                    )
                )
        else:
            found.append(ok(label, arn))
    return found


@dataclass
class CustomerClients:
    """Clients in the customer's account under its admin role."""

    aws: AwsClients
    mapping: CustomerMapping

    def client(self, service: str) -> Any:
        role = self.mapping.admin_role_arn
        session = self.aws.assume(role, session_name=SESSION_NAME)
        return self.aws.client(service, session=session, region=self.mapping.region)


def ses_checks(clients: CustomerClients, config: AppConfig) -> list[Check]:  # noqa: PLR0912
    """Identity verified with DKIM, sending enabled, sandbox, quota (through the admin role)."""
    email = config.email_config
    senders = tuple(dict.fromkeys((email.sender_address, email.meeting_organizer)))
    probe = SesPreflightProbe(clients.client("ses"), clients.client("sesv2"))
    facts = probe.account_facts(senders=senders, domain=email.domain)
    found: list[Check] = []
    setup = f"changecast ses domain setup -c {clients.mapping.customer_code}, then the DNS records"
    if facts.senders is None:
        found.append(warn("SES identity", f"not checked: {facts.why_unknown(CheckName.SENDER)}"))
    else:
        bad = [s for s in facts.senders if s.status != "Success"]
        if bad:
            detail = ", ".join(f"{s.address} {s.status}" for s in bad)
            found.append(fail("SES identity", f"not verified: {detail}", setup))
        else:
            found.append(ok("SES identity", f"{', '.join(senders)} verified"))
    if facts.dkim_status is None:
        found.append(warn("DKIM", f"not checked: {facts.why_unknown(CheckName.DKIM)}"))
    elif facts.dkim_status != "Success" or not facts.dkim_enabled:
        found.append(
            fail(
                "DKIM",
                f"{email.domain} DKIM {facts.dkim_status} (enabled: {facts.dkim_enabled})",
                f"changecast ses domain dns -c {clients.mapping.customer_code}: add the CNAMEs",
            )
        )
    else:
        found.append(ok("DKIM", f"{email.domain} Success"))
    if facts.sending_enabled is None:
        found.append(warn("SES sending", f"not checked: {facts.why_unknown(CheckName.SENDING)}"))
    elif not facts.sending_enabled:
        found.append(
            fail("SES sending", "sending is disabled for the account", "AWS support / SES console")
        )
    else:
        found.append(ok("SES sending", "enabled"))
    if facts.production_access is None:
        found.append(warn("SES sandbox", f"not known: {facts.why_unknown(CheckName.SANDBOX)}"))
    elif not facts.production_access:
        found.append(
            warn(
                "SES sandbox",
                "in the sandbox: only verified recipients get mail",
                "request production access (docs/runbooks/ses-reputation.md)",
            )
        )
    else:
        found.append(ok("SES sandbox", "production access"))
    if facts.max_24h is None:
        found.append(warn("SES quota", f"not known: {facts.why_unknown(CheckName.QUOTA)}"))
    else:
        found.append(
            ok(
                "SES quota",
                f"{facts.sent_24h or 0:.0f} of {facts.max_24h:.0f} in 24 h, "
                f"{facts.max_rate or 0:.0f}/s",
            )
        )
    return found


def configuration_set_checks(
    clients: CustomerClients, config: AppConfig, events_queue_arn: str | None
) -> list[Check]:
    """The set exists and the identity uses it; it publishes to the events topic (subscribed).

    The hub's events queue must be subscribed to that topic, and confirmed.
    """
    name = clients.mapping.configuration_set_name
    domain = config.email_config.domain
    sesv2 = clients.client("sesv2")
    fix_tf = (
        f"terraform apply the customer-account module of {clients.mapping.customer_code} "
        f"(configuration set {name} and its event destination)"
    )
    found: list[Check] = []

    def exists() -> Check:
        with aws_call(f"GetConfigurationSet {name}"):
            sesv2.get_configuration_set(ConfigurationSetName=name)
        return ok("configuration set", name)

    found += guarded("configuration set", fix_tf, exists)
    if found[-1].status is Status.FAIL:
        return found

    def identity_uses_it() -> Check:
        with aws_call(f"GetEmailIdentity {domain}"):
            answer = sesv2.get_email_identity(EmailIdentity=domain)
        used = answer.get("ConfigurationSetName")
        if used != name:
            return fail(
                "identity's configuration set",
                f"{domain} uses {used or 'no configuration set'}, not {name}",
                f"changecast ses domain setup -c {clients.mapping.customer_code} "
                "(add --force if it uses another set with events)",
            )
        return ok("identity's configuration set", f"{domain} → {name}")

    found += guarded("identity's configuration set", fix_tf, identity_uses_it)
    domain_port = SesDomainAdapter(sesv2, ses_v1=clients.client("ses"))
    topics: list[str] = []

    def publishes() -> Check:
        destinations = [d for d in domain_port.event_destinations(name) if d.enabled]
        with_topic = [d for d in destinations if d.sns_topic_arn]
        if not with_topic:
            return fail("event destination", f"{name} publishes no events to SNS", fix_tf)
        missing = [
            t
            for t in EVENT_TYPES
            if not any(t in {e.upper() for e in d.event_types} for d in with_topic)
        ]
        topics.extend(d.sns_topic_arn or "" for d in with_topic)
        if missing:
            return fail(
                "event destination",
                f"{name} does not publish {', '.join(missing)}",
                fix_tf,
            )
        return ok("event destination", f"{name} → {', '.join(topics)}")

    found += guarded("event destination", fix_tf, publishes)
    for topic in topics:
        found += subscription_check(clients, topic, events_queue_arn)
    return found


def subscription_check(
    clients: CustomerClients, topic: str, events_queue_arn: str | None
) -> list[Check]:
    name = "events subscription"
    fix = (
        f"terraform apply the customer-account module of {clients.mapping.customer_code} "
        "with ses_events_queue_arn (hub output), and the hub's queue policy"
    )

    def run() -> Check:
        with aws_call(f"ListSubscriptionsByTopic {topic}"):
            answer = clients.client("sns").list_subscriptions_by_topic(TopicArn=topic)
        subs = [s for s in answer.get("Subscriptions") or [] if s.get("Protocol") == "sqs"]
        if events_queue_arn:
            subs = [s for s in subs if s.get("Endpoint") == events_queue_arn]
        target = events_queue_arn or "an SQS queue"
        if not subs:
            return fail(name, f"{topic} has no subscription for {target}", fix)
        pending = [s for s in subs if s.get("SubscriptionArn") in {"PendingConfirmation", None}]
        if len(pending) == len(subs):
            return fail(name, f"the subscription of {target} is not confirmed", fix)
        return ok(name, f"{topic} → {subs[0].get('Endpoint')} confirmed")

    try:
        return [run()]
    except (ClientError, BotoCoreError, ChangecastError) as exc:
        code = error_code(exc) if isinstance(exc, ClientError) else ""
        if code in {"AuthorizationError", "AccessDenied"} or (
            isinstance(exc, ChangecastError) and exc.kind == "permission_denied"
        ):
            return [
                warn(
                    name,
                    f"not checked: the admin role may not read {topic}",
                    "grant sns:ListSubscriptionsByTopic on the topic to the admin role",
                )
            ]
        if _lacks(exc):
            return [warn(name, f"not checked: {_reason(exc, name)}")]
        return [fail(name, _reason(exc, name), fix)]


# -- certificates -------------------------------------------------------------------------------


def certificate_not_after(der: bytes) -> datetime:
    """The ``notAfter`` of an X.509 certificate (DER), read from its ASN.1 structure."""

    def element(data: bytes, at: int) -> tuple[int, int, int]:
        tag, length, at = data[at], data[at + 1], at + 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[at : at + count], "big")
            at += count
        return tag, at, at + length

    _, start, _ = element(der, 0)  # Certificate
    _, at, _ = element(der, start)  # tbsCertificate
    tag, _, end = element(der, at)
    if tag == 0xA0:  # [0] version
        at = end
    for _ in range(3):  # serialNumber, signature, issuer
        _, _, at = element(der, at)
    _, validity, _ = element(der, at)
    _, _, after_before = element(der, validity)  # notBefore
    tag, begin, finish = element(der, after_before)  # notAfter
    text = der[begin:finish].decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        parsed = datetime.strptime(text, "%y%m%d%H%M%SZ")
    else:  # GeneralizedTime YYYYMMDDHHMMSSZ
        parsed = datetime.strptime(text, "%Y%m%d%H%M%SZ")
    return parsed.replace(tzinfo=UTC)


def certificate_check(name: str, cert_b64: str, now: datetime, fix: str) -> Check:
    import base64

    try:
        der = base64.b64decode("".join(cert_b64.split()), validate=True)
        expires = certificate_not_after(der)
    except (ValueError, IndexError, UnicodeDecodeError):
        return fail(name, "the certificate cannot be read", fix)
    if expires <= now:
        return fail(name, f"the certificate expired on {expires:%Y-%m-%d}", fix)
    if expires - now < EXPIRY_WARNING:
        return fail(name, f"the certificate expires on {expires:%Y-%m-%d} (within 30 days)", fix)
    return ok(name, f"the certificate is valid until {expires:%Y-%m-%d}")

"""One customer's SES sending domain: DKIM identity, custom MAIL FROM, configuration set."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from changecast.aws.errors import aws_call, error_code, translate
from changecast.contacts.domain import DomainStatus, EventDestination
from changecast.errors import NotFoundError, UpstreamError

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

TLS_POLICY: Final = "REQUIRE"


def status_from_aws(domain: str, answer: Any) -> DomainStatus:
    dkim = answer.get("DkimAttributes") or {}
    mail_from = answer.get("MailFromAttributes") or {}
    return DomainStatus(
        domain=domain,
        verified_for_sending=bool(answer.get("VerifiedForSendingStatus", False)),
        dkim_status=str(dkim.get("Status") or "NOT_STARTED"),
        dkim_tokens=tuple(dkim.get("Tokens") or ()),
        mail_from_domain=mail_from.get("MailFromDomain") or None,
        mail_from_status=mail_from.get("MailFromDomainStatus") or None,
        configuration_set=answer.get("ConfigurationSetName") or None,
    )


class SesDomainAdapter:
    """The ``SendingDomainPort`` on SESv2."""

    def __init__(self, client: SESV2Client, ses_v1: Any | None = None) -> None:
        self.client = client
        self.ses_v1 = ses_v1
        """SES v1 in the same account: event destinations where SESv2 lacks the call (moto)."""

    def get_domain_status(self, domain: str) -> DomainStatus:
        try:
            with aws_call(f"GetEmailIdentity {domain}"):
                answer = self.client.get_email_identity(EmailIdentity=domain)
        except NotFoundError:
            return DomainStatus(domain=domain, exists=False)
        return status_from_aws(domain, answer)

    def create_domain_identity(self, domain: str) -> None:
        with aws_call(f"CreateEmailIdentity {domain}"):
            self.client.create_email_identity(
                EmailIdentity=domain, DkimSigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"}
            )

    def set_mail_from(self, domain: str, mail_from_domain: str) -> None:
        with aws_call(f"PutEmailIdentityMailFromAttributes {domain}"):
            self.client.put_email_identity_mail_from_attributes(
                EmailIdentity=domain,
                MailFromDomain=mail_from_domain,
                BehaviorOnMxFailure="USE_DEFAULT_VALUE",
            )

    def ensure_configuration_set(self, name: str) -> bool:
        """Create the set with TLS required and reputation metrics, or bring an old one in line."""
        try:
            self.client.create_configuration_set(
                ConfigurationSetName=name,
                DeliveryOptions={"TlsPolicy": TLS_POLICY},
                ReputationOptions={"ReputationMetricsEnabled": True},
            )
        except ClientError as exc:
            if not error_code(exc).endswith("AlreadyExistsException"):
                raise translate(exc, operation=f"CreateConfigurationSet {name}") from exc
        else:
            return True
        self._align_configuration_set(name)
        return False

    def _align_configuration_set(self, name: str) -> None:
        with aws_call(f"GetConfigurationSet {name}"):
            current = self.client.get_configuration_set(ConfigurationSetName=name)
        delivery = current.get("DeliveryOptions") or {}
        if delivery.get("TlsPolicy") != TLS_POLICY:
            kept: dict[str, Any] = {
                k: v for k, v in delivery.items() if k in {"SendingPoolName", "MaxDeliverySeconds"}
            }
            with aws_call(f"PutConfigurationSetDeliveryOptions {name}"):
                self.client.put_configuration_set_delivery_options(
                    ConfigurationSetName=name, TlsPolicy=TLS_POLICY, **kept
                )
        if not (current.get("ReputationOptions") or {}).get("ReputationMetricsEnabled"):
            with aws_call(f"PutConfigurationSetReputationOptions {name}"):
                self.client.put_configuration_set_reputation_options(
                    ConfigurationSetName=name, ReputationMetricsEnabled=True
                )

    def set_identity_configuration_set(self, domain: str, name: str) -> None:
        with aws_call(f"PutEmailIdentityConfigurationSetAttributes {domain}"):
            self.client.put_email_identity_configuration_set_attributes(
                EmailIdentity=domain, ConfigurationSetName=name
            )

    def event_destinations(self, name: str) -> list[EventDestination]:
        """SESv2 GetConfigurationSetEventDestinations; SES v1's answer where v2 lacks it."""
        try:
            with aws_call(f"GetConfigurationSetEventDestinations {name}"):
                answer = self.client.get_configuration_set_event_destinations(
                    ConfigurationSetName=name
                )
        except NotFoundError:
            return []
        except UpstreamError as exc:
            if not exc.context.get("unsupported") or self.ses_v1 is None:
                raise
            return self._v1_event_destinations(name)
        found_all: list[dict[str, Any]] = list(answer.get("EventDestinations") or [])  # type: ignore[arg-type]
        return [
            EventDestination(
                name=str(found.get("Name") or ""),
                enabled=bool(found.get("Enabled", False)),
                sns_topic_arn=(found.get("SnsDestination") or {}).get("TopicArn"),
                event_types=tuple(found.get("MatchingEventTypes") or ()),
            )
            for found in found_all
        ]

    def _v1_event_destinations(self, name: str) -> list[EventDestination]:
        assert self.ses_v1 is not None
        try:
            with aws_call(f"DescribeConfigurationSet {name}"):
                answer = self.ses_v1.describe_configuration_set(
                    ConfigurationSetName=name, ConfigurationSetAttributeNames=["eventDestinations"]
                )
        except NotFoundError:
            return []
        return [
            EventDestination(
                name=str(found.get("Name") or ""),
                enabled=bool(found.get("Enabled", False)),
                sns_topic_arn=(found.get("SNSDestination") or {}).get("TopicARN"),
                event_types=tuple(str(t).upper() for t in found.get("MatchingEventTypes") or ()),
            )
            for found in answer.get("EventDestinations") or []
            if isinstance(found, dict)
        ]

"""One customer's SES sending domain: DKIM identity, custom MAIL FROM, configuration set."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from changecast.aws.errors import aws_call, error_code, translate
from changecast.contacts.domain import DomainStatus
from changecast.errors import NotFoundError

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

    def __init__(self, client: SESV2Client) -> None:
        self.client = client

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

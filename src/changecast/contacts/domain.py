"""Pure sending-domain logic: the DNS records SES needs, and whether a domain is ready to send.

Easy DKIM (three CNAMEs), a custom MAIL FROM subdomain (MX + SPF) and a DMARC suggestion.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

DEFAULT_MAIL_FROM_SUBDOMAIN = "bounce"
DEFAULT_CONFIGURATION_SET = "changecast"
SUCCESS = "SUCCESS"


class DomainSpec(BaseModel):
    """What ``ses domain setup`` creates in one customer's account."""

    model_config = ConfigDict(frozen=True)

    domain: str
    mail_from_subdomain: str = DEFAULT_MAIL_FROM_SUBDOMAIN
    configuration_set: str = DEFAULT_CONFIGURATION_SET
    region: str = "us-east-1"

    @property
    def mail_from_domain(self) -> str:
        return f"{self.mail_from_subdomain}.{self.domain}"


class EventDestination(BaseModel):
    """One event destination of a configuration set (where SES publishes sends, bounces, …)."""

    model_config = ConfigDict(frozen=True)

    name: str
    enabled: bool = True
    sns_topic_arn: str | None = None
    event_types: tuple[str, ...] = ()


class DomainStatus(BaseModel):
    """What SES reports for a domain identity."""

    model_config = ConfigDict(frozen=True)

    domain: str
    exists: bool = True
    verified_for_sending: bool = False
    dkim_status: str = "NOT_STARTED"
    dkim_tokens: tuple[str, ...] = ()
    mail_from_domain: str | None = None
    mail_from_status: str | None = None
    configuration_set: str | None = None

    def problems(self, spec: DomainSpec) -> list[str]:
        """Why the domain is not ready yet; empty when it is."""
        if not self.exists:
            return [f"no SES identity for {self.domain}; run `ses domain setup`"]
        found: list[str] = []
        if not self.verified_for_sending:
            found.append("not verified for sending")
        if self.dkim_status != SUCCESS:
            found.append(f"DKIM is {self.dkim_status}")
        if self.mail_from_domain != spec.mail_from_domain:
            found.append(f"MAIL FROM is {self.mail_from_domain or 'not set'}")
        elif self.mail_from_status != SUCCESS:
            found.append(f"MAIL FROM is {self.mail_from_status or 'PENDING'}")
        if self.configuration_set != spec.configuration_set:
            found.append(f"configuration set is {self.configuration_set or 'not set'}")
        return found


class DnsRecord(BaseModel):
    """One record to create at the DNS provider."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: str
    value: str
    purpose: str


def dns_records(spec: DomainSpec, dkim_tokens: tuple[str, ...]) -> tuple[DnsRecord, ...]:
    """Every record the domain needs, in the order people usually create them."""
    dkim = tuple(
        DnsRecord(
            name=f"{token}._domainkey.{spec.domain}",
            type="CNAME",
            value=f"{token}.dkim.amazonses.com",
            purpose="DKIM",
        )
        for token in dkim_tokens
    )
    mail_from = (
        DnsRecord(
            name=spec.mail_from_domain,
            type="MX",
            value=f"10 feedback-smtp.{spec.region}.amazonses.com",
            purpose="MAIL FROM",
        ),
        DnsRecord(
            name=spec.mail_from_domain,
            type="TXT",
            value='"v=spf1 include:amazonses.com ~all"',
            purpose="MAIL FROM (SPF)",
        ),
    )
    dmarc = DnsRecord(
        name=f"_dmarc.{spec.domain}",
        type="TXT",
        value='"v=DMARC1; p=none;"',
        purpose="DMARC (suggested; tighten the policy once reports look clean)",
    )
    return (*dkim, *mail_from, dmarc)

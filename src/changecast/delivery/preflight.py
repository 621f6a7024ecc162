"""Preflight, pure: whether a customer's SES account can send a change's emails right now.

Six checks from facts gathered per customer account: the sender identity is verified, DKIM is
verified, sending is enabled, the account is out of the SES sandbox (or every recipient is a
verified identity), today's remaining quota covers the emails, and the send rate. A fact SES
would not tell (``None``, with the reason in ``unknown``) makes its check a warning, never a pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

SUCCESS = "Success"
UNLIMITED = -1.0
SHOWN_ADDRESSES = 5


class CheckStatus(StrEnum):
    """``fail`` blocks a send (unless overridden); ``warn`` is shown and never blocks."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


class CheckName(StrEnum):
    """The checks, in the order they are shown."""

    ACCOUNT = "ses_account"
    SENDER = "sender_verified"
    DKIM = "dkim_verified"
    SENDING = "sending_enabled"
    SANDBOX = "production_access"
    QUOTA = "daily_quota"
    RATE = "send_rate"


@dataclass(frozen=True)
class SenderIdentity:
    """A From address and the best verification status of it or its domain.

    ``Success``, ``Pending``, ``Failed``, ``TemporaryFailure`` or ``NotStarted`` (also when
    neither identity exists); ``verified_by`` is the identity that verifies it.
    """

    address: str
    status: str
    verified_by: str | None = None


@dataclass(frozen=True)
class AccountFacts:
    """What one customer's SES account reports; ``None`` where it could not say (see ``unknown``).

    ``senders`` are the From addresses (change notices, calendar invites); ``domain`` is the
    DKIM domain. ``max_24h`` is ``-1`` for an unlimited quota.
    """

    domain: str
    senders: tuple[SenderIdentity, ...] | None = None
    dkim_enabled: bool | None = None
    dkim_status: str | None = None
    sending_enabled: bool | None = None
    enforcement_status: str | None = None
    production_access: bool | None = None
    max_24h: float | None = None
    sent_24h: float | None = None
    max_rate: float | None = None
    unknown: Mapping[str, str] = field(default_factory=dict)

    def why_unknown(self, check: CheckName) -> str:
        return self.unknown.get(check.value) or "SES did not say"


@dataclass(frozen=True)
class AudienceFacts:
    """The emails this send makes, its distinct recipients and, in the sandbox, the unverified.

    ``unverified`` is None when nobody checked; ``error`` says why the contact list is unknown.
    """

    emails: int = 0
    addresses: tuple[str, ...] = ()
    unverified: tuple[str, ...] | None = None
    error: str = ""

    @property
    def known(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class Check:
    """One check's outcome and the sentence a person reads."""

    name: CheckName
    status: CheckStatus
    reason: str


@dataclass(frozen=True)
class PreflightReport:
    """Every check of one customer, as of ``checked_at``."""

    customer_code: str
    customer_name: str
    checks: tuple[Check, ...]
    checked_at: datetime

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status is CheckStatus.FAIL)

    @property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status is CheckStatus.WARN)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def status(self) -> CheckStatus:
        if self.failed:
            return CheckStatus.FAIL
        return CheckStatus.WARN if self.warnings else CheckStatus.PASS

    def summary(self) -> str:
        """One line: the failures (or warnings) joined, or that every check passed."""
        chosen = self.failed or self.warnings
        if not chosen:
            return f"all {len(self.checks)} checks passed"
        return "; ".join(c.reason for c in chosen)


def unreachable(
    *, customer_code: str, customer_name: str, reason: str, at: datetime
) -> PreflightReport:
    """The report of an account that could not be reached at all (its role, the network)."""
    check = Check(CheckName.ACCOUNT, CheckStatus.FAIL, f"SES account not reachable: {reason}")
    return PreflightReport(customer_code, customer_name, (check,), at)


def _listed(addresses: tuple[str, ...]) -> str:
    shown = ", ".join(addresses[:SHOWN_ADDRESSES])
    more = len(addresses) - SHOWN_ADDRESSES
    return f"{shown}, and {more} more" if more > 0 else shown


def _unverified_sender(sender: SenderIdentity) -> str:
    if sender.status == "NotStarted":
        domain = sender.address.rsplit("@", 1)[-1]
        return f"sender {sender.address} is not verified: no SES identity for it or {domain}"
    return f"sender {sender.address} is not verified (identity status {sender.status})"


def check_sender(facts: AccountFacts) -> Check:
    name = CheckName.SENDER
    if facts.senders is None:
        return Check(name, CheckStatus.WARN, f"sender not checked: {facts.why_unknown(name)}")
    failing = [s for s in facts.senders if s.status != SUCCESS]
    if failing:
        return Check(name, CheckStatus.FAIL, "; ".join(_unverified_sender(s) for s in failing))
    shown = ", ".join(
        s.address + (f" (by {s.verified_by})" if s.verified_by not in {None, s.address} else "")
        for s in facts.senders
    )
    return Check(name, CheckStatus.PASS, f"verified: {shown}")


def check_dkim(facts: AccountFacts) -> Check:
    name = CheckName.DKIM
    if facts.dkim_status is None or facts.dkim_enabled is None:
        return Check(name, CheckStatus.WARN, f"DKIM not checked: {facts.why_unknown(name)}")
    if not facts.dkim_enabled:
        return Check(name, CheckStatus.FAIL, f"DKIM signing is disabled for {facts.domain}")
    if facts.dkim_status != SUCCESS:
        return Check(name, CheckStatus.FAIL, f"DKIM for {facts.domain} is {facts.dkim_status}")
    return Check(name, CheckStatus.PASS, f"DKIM for {facts.domain} is verified")


def check_sending(facts: AccountFacts) -> Check:
    name = CheckName.SENDING
    if facts.sending_enabled is False:
        return Check(name, CheckStatus.FAIL, "sending is paused for this SES account")
    if facts.enforcement_status == "SHUTDOWN":
        return Check(name, CheckStatus.FAIL, "SES has shut down sending for this account")
    if facts.enforcement_status == "PROBATION":
        text = "the account is on probation (SES review); sending still works"
        return Check(name, CheckStatus.WARN, text)
    if facts.sending_enabled is None:
        return Check(name, CheckStatus.WARN, f"sending not checked: {facts.why_unknown(name)}")
    return Check(name, CheckStatus.PASS, "sending is enabled")


def check_sandbox(facts: AccountFacts, audience: AudienceFacts) -> Check:
    name = CheckName.SANDBOX
    if facts.production_access:
        return Check(name, CheckStatus.PASS, "the account has production access")
    everyone = audience.known and audience.unverified == ()
    if facts.production_access is None:
        if everyone and audience.addresses:
            text = "sandbox not checked, but every recipient is a verified identity"
            return Check(name, CheckStatus.PASS, text)
        return Check(name, CheckStatus.WARN, f"sandbox not checked: {facts.why_unknown(name)}")
    if everyone:
        return Check(name, CheckStatus.PASS, "in the SES sandbox; every recipient is verified")
    if not audience.known or audience.unverified is None:
        text = "in the SES sandbox; which recipients are verified is unknown"
        return Check(name, CheckStatus.FAIL, text)
    text = (
        f"in the SES sandbox: {len(audience.unverified)} of {len(audience.addresses)} recipients "
        f"are not verified identities ({_listed(audience.unverified)})"
    )
    return Check(name, CheckStatus.FAIL, text)


def check_quota(facts: AccountFacts, audience: AudienceFacts) -> Check:
    name = CheckName.QUOTA
    if facts.max_24h is None or facts.sent_24h is None:
        return Check(name, CheckStatus.WARN, f"quota not checked: {facts.why_unknown(name)}")
    if facts.max_24h == UNLIMITED:
        return Check(name, CheckStatus.PASS, "the daily quota is unlimited")
    remaining = max(0, int(facts.max_24h - facts.sent_24h))
    if not audience.known:
        if remaining == 0:
            return Check(name, CheckStatus.FAIL, "today's quota is used up (0 emails remaining)")
        text = f"{remaining} emails remaining today; recipients unknown ({audience.error})"
        return Check(name, CheckStatus.WARN, text)
    if audience.emails > remaining:
        text = f"today's remaining quota is {remaining} emails; this sends {audience.emails}"
        return Check(name, CheckStatus.FAIL, text)
    text = f"{audience.emails} emails of {remaining} remaining today"
    return Check(name, CheckStatus.PASS, text)


def check_rate(facts: AccountFacts, audience: AudienceFacts) -> Check:
    name = CheckName.RATE
    if not facts.max_rate or facts.max_rate <= 0:
        return Check(name, CheckStatus.WARN, f"send rate not known: {facts.why_unknown(name)}")
    rate = f"{facts.max_rate:g}/s"
    if not audience.known or not audience.emails:
        return Check(name, CheckStatus.PASS, f"send rate {rate}")
    seconds = audience.emails / facts.max_rate
    return Check(
        name,
        CheckStatus.PASS,
        f"send rate {rate}: {audience.emails} emails in about {seconds:.0f}s",
    )


def evaluate(
    *,
    customer_code: str,
    customer_name: str,
    account: AccountFacts,
    audience: AudienceFacts,
    at: datetime,
) -> PreflightReport:
    """Every check, in ``CheckName`` order."""
    checks = (
        check_sender(account),
        check_dkim(account),
        check_sending(account),
        check_sandbox(account, audience),
        check_quota(account, audience),
        check_rate(account, audience),
    )
    return PreflightReport(customer_code, customer_name, checks, at)

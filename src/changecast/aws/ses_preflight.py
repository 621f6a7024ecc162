"""One customer's SES, read for preflight: identities, DKIM, sending, sandbox, quota and rate.

SESv2 ``GetAccount`` gives sending, sandbox, quota and rate in one call. Where it is missing
(moto lacks it) or refused, SES v1 ``GetSendQuota`` gives quota and rate and v1
``GetAccountSendingEnabled`` whether sending is on (moto lacks that too); no v1 call tells the
sandbox apart, so that fact stays unknown. Identities and DKIM come from SES v1
(``GetIdentityVerificationAttributes``, ``GetIdentityDkimAttributes``, 100 identities per call).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from changecast.aws.errors import aws_call
from changecast.aws.ses import SesContactListAdapter
from changecast.aws.sessions import AwsClients
from changecast.customers.models import CustomerMapping
from changecast.delivery.preflight import SUCCESS, AccountFacts, CheckName, SenderIdentity
from changecast.errors import ChangecastError

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

SESSION_NAME = "changecast-preflight"
IDENTITIES_PER_CALL = 100
_RANK = {SUCCESS: 0, "Pending": 1, "TemporaryFailure": 2, "Failed": 3, "NotStarted": 4}


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


class SesPreflightProbe:
    """The ``SesAccountProbe`` on SES v1 (``ses``) and SESv2 (``sesv2``) clients of one account."""

    def __init__(self, ses: Any, sesv2: SESV2Client) -> None:
        self.ses = ses
        self.sesv2 = sesv2

    def account_facts(self, *, senders: Sequence[str], domain: str) -> AccountFacts:
        unknown: dict[str, str] = {}
        facts: dict[str, Any] = {}
        self._identities(senders, facts, unknown)
        self._dkim(domain, facts, unknown)
        self._account(facts, unknown)
        return AccountFacts(domain=domain, unknown=unknown, **facts)

    def unverified(self, addresses: Sequence[str]) -> tuple[str, ...]:
        statuses = self._statuses([*addresses, *{domain_of(a) for a in addresses}])
        return tuple(
            a
            for a in addresses
            if statuses.get(a) != SUCCESS and statuses.get(domain_of(a)) != SUCCESS
        )

    # -- identities ------------------------------------------------------------------------
    def _statuses(self, identities: Sequence[str]) -> dict[str, str]:
        unique = list(dict.fromkeys(identities))
        found: dict[str, str] = {}
        for start in range(0, len(unique), IDENTITIES_PER_CALL):
            chunk = unique[start : start + IDENTITIES_PER_CALL]
            with aws_call("GetIdentityVerificationAttributes"):
                answer = self.ses.get_identity_verification_attributes(Identities=chunk)
            for name, item in (answer.get("VerificationAttributes") or {}).items():
                found[name] = str(item.get("VerificationStatus") or "NotStarted")
        return found

    def _identities(
        self, senders: Sequence[str], facts: dict[str, Any], unknown: dict[str, str]
    ) -> None:
        try:
            statuses = self._statuses([*senders, *{domain_of(a) for a in senders}])
        except ChangecastError as exc:
            unknown[CheckName.SENDER.value] = exc.message[:300]
            return
        found = []
        for address in senders:
            known = [(statuses.get(i, "NotStarted"), i) for i in (address, domain_of(address))]
            best, by = min(known, key=lambda pair: _RANK.get(pair[0], len(_RANK)))
            found.append(SenderIdentity(address, best, by if best == SUCCESS else None))
        facts["senders"] = tuple(found)

    def _dkim(self, domain: str, facts: dict[str, Any], unknown: dict[str, str]) -> None:
        try:
            with aws_call(f"GetIdentityDkimAttributes {domain}"):
                answer = self.ses.get_identity_dkim_attributes(Identities=[domain])
        except ChangecastError as exc:
            unknown[CheckName.DKIM.value] = exc.message[:300]
            return
        item = (answer.get("DkimAttributes") or {}).get(domain) or {}
        facts["dkim_enabled"] = bool(item.get("DkimEnabled", False))
        facts["dkim_status"] = str(item.get("DkimVerificationStatus") or "NotStarted")

    # -- the account -----------------------------------------------------------------------
    def _account(self, facts: dict[str, Any], unknown: dict[str, str]) -> None:
        try:
            with aws_call("GetAccount"):
                answer: Any = self.sesv2.get_account()
        except ChangecastError as exc:
            account = ("sesv2 GetAccount", exc)
        else:
            quota = answer.get("SendQuota") or {}
            facts.update(
                sending_enabled=bool(answer.get("SendingEnabled", False)),
                enforcement_status=answer.get("EnforcementStatus") or None,
                production_access=bool(answer.get("ProductionAccessEnabled", False)),
                max_24h=_number(quota.get("Max24HourSend")),
                sent_24h=_number(quota.get("SentLast24Hours")),
                max_rate=_number(quota.get("MaxSendRate")),
            )
            return
        unknown[CheckName.SANDBOX.value] = f"{why(account)} (SES v1 has no sandbox call)"
        self._v1_quota(facts, unknown, account)
        try:
            with aws_call("GetAccountSendingEnabled"):
                enabled = self.ses.get_account_sending_enabled()
        except ChangecastError as exc:
            unknown[CheckName.SENDING.value] = why(account, ("ses GetAccountSendingEnabled", exc))
        else:
            facts["sending_enabled"] = bool(enabled.get("Enabled", False))

    def _v1_quota(self, facts: dict[str, Any], unknown: dict[str, str], account: Failed) -> None:
        try:
            with aws_call("GetSendQuota"):
                quota = self.ses.get_send_quota()
        except ChangecastError as exc:
            reason = why(account, ("ses GetSendQuota", exc))
            unknown[CheckName.QUOTA.value] = unknown[CheckName.RATE.value] = reason
            return
        facts.update(
            max_24h=_number(quota.get("Max24HourSend")),
            sent_24h=_number(quota.get("SentLast24Hours")),
            max_rate=_number(quota.get("MaxSendRate")),
        )


Failed = tuple[str, ChangecastError]
"""A call (``"sesv2 GetAccount"``) and how it failed."""


def why(*failed: Failed) -> str:
    """One line: the calls the endpoint lacks, named (moto's), then any other failures."""
    lacking = [call for call, exc in failed if exc.context.get("unsupported")]
    others = [exc.message[:200] for _, exc in failed if not exc.context.get("unsupported")]
    parts = [f"moto lacks {' and '.join(lacking)}"] if lacking else []
    return "; ".join(parts + others)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class SesPreflightAccess:
    """The ``PreflightAccess``: each customer's SES under its admin role (the portal's role)."""

    aws: AwsClients

    def _client(self, customer: CustomerMapping, service: str) -> Any:
        session = self.aws.assume(customer.admin_role_arn, session_name=SESSION_NAME)
        return self.aws.client(service, session=session, region=customer.region)

    def probe(self, customer: CustomerMapping) -> SesPreflightProbe:
        return SesPreflightProbe(self._client(customer, "ses"), self._client(customer, "sesv2"))

    def contacts(self, customer: CustomerMapping) -> SesContactListAdapter:
        return SesContactListAdapter(self._client(customer, "sesv2"))

"""In-memory SES accounts for preflight: ``SesAccountProbe`` and ``PreflightAccess`` fakes.

Behaves like real SES with GetAccount (sending, sandbox, quota and rate known); a fact can be
made unknown with ``forget(check, reason)``, as moto's missing calls make it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from changecast.customers.models import CustomerMapping
from changecast.delivery.preflight import SUCCESS, AccountFacts, CheckName, SenderIdentity
from changecast.errors import ChangecastError
from tests.fakes.ses import FakeSes

_RANK = {SUCCESS: 0, "Pending": 1, "TemporaryFailure": 2, "Failed": 3, "NotStarted": 4}


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower()


@dataclass
class FakeSesProbe:
    """One account: identities with their status, DKIM per domain, the account's settings."""

    identities: dict[str, str] = field(default_factory=dict)
    dkim: dict[str, tuple[bool, str]] = field(default_factory=dict)
    sending_enabled: bool = True
    enforcement_status: str = "HEALTHY"
    production_access: bool = True
    max_24h: float = 50_000.0
    sent_24h: float = 0.0
    max_rate: float = 14.0
    unknown: dict[str, str] = field(default_factory=dict)
    calls: int = 0

    def verify_address(self, address: str) -> None:
        self.identities[address] = SUCCESS

    def verify_domain(self, domain: str) -> None:
        """A domain identity verified with Easy DKIM (its DNS records published)."""
        self.identities[domain] = SUCCESS
        self.dkim[domain] = (True, SUCCESS)

    def forget(self, check: CheckName, reason: str) -> None:
        """Make one check's facts unknown, as a missing or refused call does."""
        self.unknown[check.value] = reason

    def _status(self, address: str) -> SenderIdentity:
        known = [(self.identities.get(i, "NotStarted"), i) for i in (address, _domain(address))]
        best, by = min(known, key=lambda pair: _RANK.get(pair[0], len(_RANK)))
        return SenderIdentity(address, best, by if best == SUCCESS else None)

    def account_facts(self, *, senders: Sequence[str], domain: str) -> AccountFacts:
        self.calls += 1
        gone = set(self.unknown)
        dkim = self.dkim.get(domain, (False, "NotStarted"))
        has_dkim = CheckName.DKIM.value not in gone
        has_quota = CheckName.QUOTA.value not in gone
        return AccountFacts(
            domain=domain,
            senders=None
            if CheckName.SENDER.value in gone
            else tuple(self._status(a) for a in senders),
            dkim_enabled=dkim[0] if has_dkim else None,
            dkim_status=dkim[1] if has_dkim else None,
            sending_enabled=None if CheckName.SENDING.value in gone else self.sending_enabled,
            enforcement_status=None if CheckName.SENDING.value in gone else self.enforcement_status,
            production_access=None if CheckName.SANDBOX.value in gone else self.production_access,
            max_24h=self.max_24h if has_quota else None,
            sent_24h=self.sent_24h if has_quota else None,
            max_rate=None if CheckName.RATE.value in gone else self.max_rate,
            unknown=dict(self.unknown),
        )

    def unverified(self, addresses: Sequence[str]) -> tuple[str, ...]:
        return tuple(a for a in addresses if self._status(a).status != SUCCESS)


@dataclass
class FakePreflightAccess:
    """Accounts by customer code; ``unreachable`` codes fail like a role that cannot be assumed."""

    probes: dict[str, FakeSesProbe] = field(default_factory=dict)
    contact_lists: dict[str, FakeSes] = field(default_factory=dict)
    unreachable: dict[str, ChangecastError] = field(default_factory=dict)
    opened: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def probe(self, customer: CustomerMapping) -> FakeSesProbe:
        code = customer.customer_code
        with self._lock:
            self.opened.append(code)
        if code in self.unreachable:
            raise self.unreachable[code]
        return self.probes.setdefault(code, FakeSesProbe())

    def contacts(self, customer: CustomerMapping) -> FakeSes:
        return self.contact_lists.setdefault(customer.customer_code, FakeSes())

"""Preflight through the ports: gather one customer's facts, evaluate them, cache the report.

A passing report is kept ``DEFAULT_TTL`` (60 s) per customer and topic set, a failing one
``FAILURE_TTL`` (5 s): a preview redrawn on every keystroke asks SES about a customer at most
once a minute (once per 5 s while it fails), and an account fixed a moment ago is seen at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta

import structlog

from changecast.customers.models import CustomerMapping
from changecast.delivery.audience import audience
from changecast.delivery.ports import ContactSource, PreflightAccess, SesAccountProbe
from changecast.delivery.preflight import (
    AccountFacts,
    AudienceFacts,
    CheckName,
    PreflightReport,
    evaluate,
    unreachable,
)
from changecast.errors import ChangecastError
from changecast.ports import Clock

log = structlog.get_logger()

DEFAULT_TTL = timedelta(seconds=60)
FAILURE_TTL = timedelta(seconds=5)
MAX_PARALLEL = 8


@dataclass(frozen=True)
class LimitedProbe:
    """A probe whose quota and rate are set, not read: the embedded SES's simulated limits.

    Every other fact comes from ``inner``; ``sent_24h`` is counted from what was really sent.
    """

    inner: SesAccountProbe
    max_24h: int
    max_rate: float
    sent_24h: Callable[[], int]

    def account_facts(self, *, senders: Sequence[str], domain: str) -> AccountFacts:
        facts = self.inner.account_facts(senders=senders, domain=domain)
        limits = {CheckName.QUOTA.value, CheckName.RATE.value}
        return replace(
            facts,
            max_24h=float(self.max_24h),
            sent_24h=float(self.sent_24h()),
            max_rate=self.max_rate,
            unknown={k: v for k, v in facts.unknown.items() if k not in limits},
        )

    def unverified(self, addresses: Sequence[str]) -> tuple[str, ...]:
        return self.inner.unverified(addresses)


@dataclass(frozen=True)
class LimitedAccess:
    """A ``PreflightAccess`` whose accounts report their limits as set (the embedded SES).

    ``max_24h`` a day at ``max_rate``, and ``sent_24h(customer)`` sent in the last 24 hours.
    """

    inner: PreflightAccess
    max_24h: int
    max_rate: float
    sent_24h: Callable[[CustomerMapping], int]

    def probe(self, customer: CustomerMapping) -> LimitedProbe:
        return LimitedProbe(
            inner=self.inner.probe(customer),
            max_24h=self.max_24h,
            max_rate=self.max_rate,
            sent_24h=lambda: self.sent_24h(customer),
        )

    def contacts(self, customer: CustomerMapping) -> ContactSource:
        return self.inner.contacts(customer)


def gather_audience(
    *,
    contacts: ContactSource,
    probe: SesAccountProbe,
    customer: CustomerMapping,
    topics: Sequence[str],
    in_sandbox: bool | None,
) -> AudienceFacts:
    """Emails per topic (the worker's audience rule); in the sandbox, who is not verified."""
    emails = 0
    addresses: dict[str, str] = {}
    try:
        for topic in dict.fromkeys(topics):
            found = contacts.list_contacts(customer.contact_list_name, topic=topic)
            chosen = audience(found, customer).recipients
            emails += len(chosen)
            addresses.update((a.lower(), a) for a in chosen)
        everyone = tuple(addresses.values())
        unverified = None if in_sandbox is False else probe.unverified(everyone)
    except ChangecastError as exc:
        return AudienceFacts(error=exc.message[:300])
    return AudienceFacts(emails=emails, addresses=everyone, unverified=unverified)


def check_customer(
    *,
    access: PreflightAccess,
    customer: CustomerMapping,
    senders: Sequence[str],
    domain: str,
    topics: Sequence[str],
    clock: Clock,
) -> PreflightReport:
    """One customer's report; an account that cannot be reached at all fails as a whole."""
    try:
        probe = access.probe(customer)
        account: AccountFacts = probe.account_facts(senders=senders, domain=domain)
        contacts = access.contacts(customer)
    except ChangecastError as exc:
        log.warning("preflight_unreachable", customer=customer.customer_code, error=exc.message)
        return unreachable(
            customer_code=customer.customer_code,
            customer_name=customer.customer_name,
            reason=exc.message[:300],
            at=clock.now(),
        )
    facts = gather_audience(
        contacts=contacts,
        probe=probe,
        customer=customer,
        topics=topics,
        in_sandbox=None if account.production_access is None else not account.production_access,
    )
    return evaluate(
        customer_code=customer.customer_code,
        customer_name=customer.customer_name,
        account=account,
        audience=facts,
        at=clock.now(),
    )


@dataclass
class Preflight:
    """Cached preflight for every customer; safe to share between threads and requests."""

    access: PreflightAccess
    senders: tuple[str, ...]
    domain: str
    clock: Clock
    ttl: timedelta = DEFAULT_TTL
    failure_ttl: timedelta = FAILURE_TTL
    _cache: dict[tuple[str, tuple[str, ...]], PreflightReport] = field(
        default_factory=dict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self, customer: CustomerMapping, topics: Sequence[str]) -> PreflightReport:
        """The report for ``customer`` sending to ``topics``, from the cache while it is fresh."""
        key = (customer.customer_code, tuple(sorted(set(topics))))
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            kept = self.ttl if cached.ok else min(self.ttl, self.failure_ttl)
            if self.clock.now() - cached.checked_at < kept:
                return cached
        report = check_customer(
            access=self.access,
            customer=customer,
            senders=self.senders,
            domain=self.domain,
            topics=key[1],
            clock=self.clock,
        )
        with self._lock:
            self._cache[key] = report
        (log.debug if report.ok else log.info)(
            "preflight_checked",
            customer=customer.customer_code,
            status=report.status.value,
            failed=[c.name.value for c in report.failed],
        )
        return report

    def check_all(
        self, customers: Sequence[CustomerMapping], topics: Sequence[str]
    ) -> list[PreflightReport]:
        """Reports in ``customers`` order, up to ``MAX_PARALLEL`` accounts at a time."""
        if len(customers) <= 1:
            return [self.check(c, topics) for c in customers]
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(customers))) as pool:
            return list(pool.map(lambda c: self.check(c, topics), customers))

    def forget(self) -> None:
        """Drop every cached report."""
        with self._lock:
            self._cache.clear()

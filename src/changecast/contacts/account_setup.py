"""Account-level setup run through ports: the SES sending domain, and alternate contacts.

Keyword-only functions; the decisions are the pure plans of ``domain`` and ``alternate``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import structlog

from changecast.contacts.alternate import AccountContacts, AltAction, AltChange
from changecast.contacts.domain import DomainSpec, DomainStatus
from changecast.contacts.models import AlternateContactType, OrgAccount
from changecast.contacts.ports import AlternateContactPort, SendingDomainPort
from changecast.errors import ConflictError, NotFoundError, UpstreamError

log = structlog.get_logger()


def plan_domain_setup(status: DomainStatus, spec: DomainSpec) -> list[str]:
    """The steps ``setup`` would take, given what SES reports now."""
    steps: list[str] = []
    if not status.exists:
        steps.append(f"create identity {spec.domain} with Easy DKIM (RSA 2048)")
    if status.mail_from_domain != spec.mail_from_domain:
        steps.append(f"set MAIL FROM to {spec.mail_from_domain}")
    steps.append(f"ensure configuration set {spec.configuration_set} (TLS required, reputation)")
    if status.configuration_set != spec.configuration_set:
        steps.append(f"use configuration set {spec.configuration_set} for {spec.domain}")
    return steps


class DomainSetupIncompleteError(UpstreamError):
    """Some steps' calls do not exist at this endpoint (moto lacks them); the others were done."""

    def __init__(self, domain: str, *, done: list[str], lacking: list[tuple[str, str]]) -> None:
        calls = ", ".join(dict.fromkeys(call for _, call in lacking))
        steps = "; ".join(step for step, _ in lacking)
        total = len(done) + len(lacking)
        super().__init__(
            f"{domain}: {len(done)} of {total} steps done; moto lacks sesv2 {calls}, "
            f"so these need real SES: {steps}",
            retryable=False,
            unsupported=calls,
        )
        self.done = done
        self.lacking = lacking


class RepointRefusedError(ConflictError):
    """The identity uses another configuration set that publishes events; ``--force`` moves it."""


def check_repoint(
    *, port: SendingDomainPort, status: DomainStatus, spec: DomainSpec, force: bool
) -> str | None:
    """Refuse to move an identity away from a set with an event destination (unless ``force``).

    Moving it silently stops bounce, complaint and delivery tracking. Returns a warning line
    when ``force`` moves it anyway.
    """
    current = status.configuration_set
    if not status.exists or not current or current == spec.configuration_set:
        return None
    destinations = [d for d in port.event_destinations(current) if d.enabled]
    if not destinations:
        return None
    where = ", ".join(d.sns_topic_arn or d.name for d in destinations)
    if not force:
        raise RepointRefusedError(
            f"{spec.domain} uses configuration set {current}, which publishes events to "
            f"{where}; pointing it at {spec.configuration_set} would stop bounce and delivery "
            f"tracking. Set ses_configuration_set to {current} in config.json (or pass "
            "--configuration-set), or pass --force to re-point it"
        )
    return f"re-point {spec.domain} away from {current} (its events went to {where})"


def setup_domain(
    *, port: SendingDomainPort, spec: DomainSpec, dry_run: bool, force: bool = False
) -> list[str]:
    """Create what is missing; safe to run again. Returns the steps (taken, or planned).

    An identity that uses another configuration set with an event destination is not moved
    without ``force`` (``RepointRefusedError``, in a dry run too). A step whose call the endpoint
    does not implement (``context["unsupported"]``: moto lacks some SESv2 calls) does not stop
    the others; ``DomainSetupIncompleteError`` then names them.
    """
    status = port.get_domain_status(spec.domain)
    warning = check_repoint(port=port, status=status, spec=spec, force=force)
    steps = plan_domain_setup(status, spec)
    if warning is not None:
        steps = [
            s if not s.startswith("use configuration set") else f"{s} ({warning})" for s in steps
        ]
    if dry_run:
        return steps
    calls: list[Callable[[], object]] = []
    if not status.exists:
        calls.append(lambda: _create_identity(port, spec.domain))
    if status.mail_from_domain != spec.mail_from_domain:
        calls.append(lambda: port.set_mail_from(spec.domain, spec.mail_from_domain))
    calls.append(lambda: port.ensure_configuration_set(spec.configuration_set))
    if status.configuration_set != spec.configuration_set:
        calls.append(
            lambda: port.set_identity_configuration_set(spec.domain, spec.configuration_set)
        )
    done: list[str] = []
    lacking: list[tuple[str, str]] = []
    for step, call in zip(steps, calls, strict=True):
        try:
            call()
        except UpstreamError as exc:
            missing = exc.context.get("unsupported")
            if not missing:
                raise
            lacking.append((step, str(missing)))
        else:
            done.append(step)
    log.debug("domain_setup_done", domain=spec.domain, steps=len(done), lacking=len(lacking))
    if lacking:
        raise DomainSetupIncompleteError(spec.domain, done=done, lacking=lacking)
    return steps


def _create_identity(port: SendingDomainPort, domain: str) -> None:
    try:
        port.create_domain_identity(domain)
    except ConflictError:
        log.debug("domain_identity_exists", domain=domain)


def read_alternate_contacts(
    *,
    port: AlternateContactPort,
    kinds: Collection[AlternateContactType],
    account_ids: Collection[str] = (),
) -> list[tuple[OrgAccount, AccountContacts]]:
    """The Organization's active accounts (or just ``account_ids``) and their current contacts."""
    accounts = [a for a in port.list_accounts() if a.status == "ACTIVE"]
    if account_ids:
        known = {a.account_id for a in accounts}
        missing = sorted(set(account_ids) - known)
        if missing:
            raise NotFoundError(f"not active accounts of the organization: {', '.join(missing)}")
        accounts = [a for a in accounts if a.account_id in account_ids]
    return [
        (account, {kind: port.get_alternate_contact(account.account_id, kind) for kind in kinds})
        for account in sorted(accounts, key=lambda a: a.account_id)
    ]


def apply_alternate_changes(*, port: AlternateContactPort, changes: Sequence[AltChange]) -> int:
    """Carry out the set, replace and delete lines; returns how many calls were made."""
    done = 0
    for change in changes:
        if change.action in {AltAction.SET, AltAction.REPLACE} and change.after is not None:
            port.put_alternate_contact(change.account_id, change.after)
        elif change.action is AltAction.DELETE:
            port.delete_alternate_contact(change.account_id, change.contact_type)
        else:
            continue
        done += 1
    log.debug("alternate_contacts_applied", changes=done)
    return done

"""The ``conflict``, ``blackout`` and ``signoff`` gates.

- conflict (never blocks): other submitted or approved changes of the same customer whose
  windows overlap this one, found with one index query over the change's customers;
- blackout (blocks): a global or per-customer blackout window of config.json that the change's
  window touches (shared ends count);
- signoff (blocks an approval, only when config.json sets ``require_customer_signoff``): a
  customer that has not signed off the version by signed link, or rejected it;
- past-window (warns on submit, blocks an approval): the window has already ended, so the
  approval would send notices and invites for a time that is over; an override with a reason
  (a change recorded after the fact) lets it through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from changecast.access.signoff import CustomerAnswer, answers, read_signoffs
from changecast.actions.gates import GateFinding
from changecast.changes.models import Action, Change, window_of
from changecast.changes.past_window import window_over
from changecast.changes.windows import WindowIndex
from changecast.customers.blackouts import blackouts_touching
from changecast.customers.models import AppConfig
from changecast.delivery.view import when
from changecast.ports import Clock, ObjectStore

CONFLICT, BLACKOUT, SIGNOFF = "conflict", "blackout", "signoff"
PAST_WINDOW = "past-window"


@dataclass(frozen=True)
class PastWindowGate:
    """A window already over: a warning on submit, a blocking finding on approval."""

    clock: Clock
    name: str = PAST_WINDOW

    def check(self, change: Change, action: Action) -> Sequence[GateFinding]:
        message = window_over(change, self.clock.now())
        if message is None:
            return []
        return [GateFinding(gate=PAST_WINDOW, message=message, blocking=action is Action.APPROVE)]


@dataclass(frozen=True)
class ConflictGate:
    """Overlapping submitted or approved changes, per customer (findings that never block)."""

    windows: WindowIndex
    name: str = CONFLICT

    def check(self, change: Change, action: Action) -> Sequence[GateFinding]:
        del action  # submit and approve alike
        window = window_of(change)
        if window is None or not change.customer_codes:
            return []
        found = self.windows.overlapping(
            customers=change.customer_codes,
            start=window[0],
            end=window[1],
            exclude=change.change_id,
        )
        findings = []
        for code in change.customer_codes:
            for other in found:
                if code not in other.customer_codes or other.start_utc is None:
                    continue
                span = f"{when(other.start_utc)} to {when(other.end_utc)}" if other.end_utc else ""
                findings.append(
                    GateFinding(
                        gate=CONFLICT,
                        message=(
                            f"{code}: overlaps {other.title!r} (version {other.version}, "
                            f"{other.status.value}, {span}, change {other.change_id})"
                        ),
                        customer_code=code,
                        blocking=False,
                    )
                )
        return findings


@dataclass(frozen=True)
class BlackoutGate:
    """Global and per-customer blackouts of config.json that the window touches (blocking)."""

    config: AppConfig
    name: str = BLACKOUT

    def check(self, change: Change, action: Action) -> Sequence[GateFinding]:
        del action  # submit and approve alike
        window = window_of(change)
        if window is None:
            return []
        return [
            GateFinding(
                gate=BLACKOUT,
                message=(
                    f"{hit.scope}: the window touches the blackout {when(hit.blackout.start)} to "
                    f"{when(hit.blackout.end)}: {hit.blackout.reason}"
                ),
                customer_code=hit.customer_code,
            )
            for hit in blackouts_touching(self.config, change.customer_codes, *window)
        ]


@dataclass(frozen=True)
class SignoffGate:
    """With ``require_customer_signoff``: every customer signed off this version (approve only)."""

    config: AppConfig
    store: ObjectStore
    name: str = SIGNOFF

    def check(self, change: Change, action: Action) -> Sequence[GateFinding]:
        if action is not Action.APPROVE or not self.config.require_customer_signoff:
            return []
        records = read_signoffs(self.store, change.change_id, change.version)
        findings = []
        for customer in answers(change.customer_codes, change.version, records):
            if customer.answer is CustomerAnswer.SIGNED_OFF:
                continue
            if customer.answer is CustomerAnswer.REJECTED:
                who = ", ".join(r.recipient for r in customer.records if r.decision == "reject")
                text = f"rejected version {change.version} ({who})"
            else:
                text = f"has not signed off version {change.version}"
            findings.append(
                GateFinding(
                    gate=SIGNOFF,
                    message=f"{customer.customer_code}: {text}",
                    customer_code=customer.customer_code,
                )
            )
        return findings

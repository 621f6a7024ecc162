"""Action gates: checks that may refuse a submit or an approval unless someone overrides them.

A gate looks at the change the action would archive and returns findings. A blocking finding
refuses the action unless the request overrides that gate with a reason; the override is then
kept on the archived version and in the audit event. Gates are built in ``bootstrap`` (so they
may use adapters) and handed to the pipeline through ``ChangeDeps.gates``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from changecast.changes.models import OVERRIDE_REASON_MAX, Action, Change, Override
from changecast.errors import ConflictError, FieldProblem, InvalidInputError
from changecast.text_input import one_line

GATED_ACTIONS = frozenset({Action.SUBMIT, Action.APPROVE})
"""The actions gates run for; every other action ignores them."""

GATE_NAME_MAX = 40


@dataclass(frozen=True)
class GateFinding:
    """One thing a gate found about a change."""

    gate: str
    """``"preflight"`` | ``"blackout"`` | ``"conflict"`` | ``"signoff"``."""
    message: str
    """What a person reads."""
    customer_code: str | None = None
    blocking: bool = True
    """False: shown (preview, approval request) but never blocks (e.g. conflict)."""


class Gate(Protocol):
    """A check run before a submit or an approval (and, read-only, for the preview)."""

    @property
    def name(self) -> str:
        """``"preflight"``, ``"blackout"``, ``"conflict"``, ``"signoff"``: what overrides name."""
        ...

    def check(self, change: Change, action: Action) -> Sequence[GateFinding]: ...


class GateRefusedError(ConflictError):
    """Blocking findings of gates the request did not override (HTTP 409, CLI exit 1)."""

    def __init__(self, findings: Sequence[GateFinding]) -> None:
        gates = sorted({finding.gate for finding in findings})
        count = len(findings)
        super().__init__(
            f"refused by gate(s) {', '.join(gates)}: {count} blocking finding"
            f"{'' if count == 1 else 's'}; override a gate with a reason to go ahead",
            gates=gates,
        )
        self.findings = list(findings)


def parse_overrides(raw: Mapping[str, str]) -> dict[str, str]:
    """Gate name -> reason, each checked: a known-looking name and a one-line reason.

    A reason has 1..500 characters and no control characters (``text_input.one_line``), checked
    before trimming: a trailing line break is refused, not trimmed away.
    """
    overrides: dict[str, str] = {}
    problems: list[FieldProblem] = []
    for gate, reason in raw.items():
        name = gate.strip().lower()
        if not name or len(name) > GATE_NAME_MAX or not name.replace("-", "").isalnum():
            problems.append(FieldProblem("overrides", f"{gate[:GATE_NAME_MAX]!r} is not a gate"))
            continue
        try:  # one line: a reason is quoted in approval emails, where a line break forges
            text = one_line(reason).strip()
        except ValueError as exc:
            problems.append(FieldProblem(f"overrides.{name}", str(exc)))
            continue
        if not text:
            problems.append(FieldProblem(f"overrides.{name}", "give a reason for the override"))
        elif len(text) > OVERRIDE_REASON_MAX:
            problems.append(
                FieldProblem(f"overrides.{name}", f"at most {OVERRIDE_REASON_MAX} characters")
            )
        else:
            overrides[name] = text
    if problems:
        raise InvalidInputError(
            "bad override: " + "; ".join(f"{p.field}: {p.problem}" for p in problems),
            details=problems,
        )
    return overrides


def run_gates(gates: Sequence[Gate], change: Change, action: Action) -> list[GateFinding]:
    """Every finding of every gate for ``action`` on ``change`` (none for ungated actions)."""
    if action not in GATED_ACTIONS:
        return []
    return [finding for gate in gates for finding in gate.check(change, action)]


def blocking_findings(
    findings: Sequence[GateFinding], overrides: Mapping[str, str]
) -> list[GateFinding]:
    """The findings that refuse the action: blocking, and of a gate not overridden."""
    return [f for f in findings if f.blocking and f.gate not in overrides]


def used_overrides(
    findings: Sequence[GateFinding],
    overrides: Mapping[str, str],
    *,
    action: Action,
    version: int,
    by: str,
    at: datetime,
) -> list[Override]:
    """The overrides that let a blocking finding through (an unused override is not kept)."""
    fired = sorted({f.gate for f in findings if f.blocking and f.gate in overrides})
    return [
        Override(gate=gate, reason=overrides[gate], by=by, at=at, action=action, version=version)
        for gate in fired
    ]


def pass_gates(
    gates: Sequence[Gate],
    change: Change,
    *,
    action: Action,
    overrides: Mapping[str, str],
    by: str,
    at: datetime,
) -> list[Override]:
    """Run the gates; refuse with ``GateRefusedError`` or return the overrides that were used."""
    findings = run_gates(gates, change, action)
    refused = blocking_findings(findings, overrides)
    if refused:
        raise GateRefusedError(refused)
    return used_overrides(findings, overrides, action=action, version=change.version, by=by, at=at)

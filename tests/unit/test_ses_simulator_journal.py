"""The embedded SES's journal: every published event is kept, for ``events replay``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from changecast.errors import InvalidInputError
from changecast.local.ses_simulator import (
    JOURNAL,
    SentMessage,
    SesSimulator,
    journal_events,
    simulated_events,
)

T0 = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def message(n: int, recipient: str) -> SentMessage:
    return SentMessage(f"m-{n}", "s@ccoe.example.com", recipient, {}, T0, "210000000002", "r")


def test_every_published_event_is_journaled_in_order_and_read_back_per_customer(
    tmp_path: Path,
) -> None:
    published: list[tuple[str, str]] = []
    path = tmp_path / JOURNAL
    simulator = SesSimulator(publish=lambda t, m: published.append((t, m)), journal=path)
    acme = "arn:aws:sns:eu-west-1:111111111111:changecast-ses-events-acme"
    initech = "arn:aws:sns:eu-west-1:111111111111:changecast-ses-events-initech"
    simulator.sent(message(1, "bounce@simulator.amazonses.com"), initech)
    simulator.sent(message(2, "ops@acme.example.com"), acme)
    assert simulator.flush() == len(published) == 4
    assert journal_events(path) == published
    assert journal_events(path, customer="initech") == [p for p in published if p[0] == initech]
    bodies = [json.loads(m) for _t, m in journal_events(path, customer="initech")]
    wanted = simulated_events(message(1, "bounce@simulator.amazonses.com"))
    assert [b["eventType"] for b in bodies] == [w["eventType"] for w in wanted]
    assert journal_events(tmp_path / "none.jsonl") == []


def test_a_damaged_journal_line_is_named_not_skipped(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL
    path.write_text('{"topicArn": "arn:x", "message": "{}"}\n\n{"topicArn": "arn:y"\n')
    with pytest.raises(InvalidInputError, match=r"ses-events.jsonl:3 is not a journal line"):
        journal_events(path)

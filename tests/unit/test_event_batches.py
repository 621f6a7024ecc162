"""SES events applied in batches (the Lambda path) end exactly as applied one by one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from changecast.delivery.event_apply import apply_batch
from changecast.delivery.ledger import LedgerKey
from changecast.delivery.outcomes import OutcomeMark, RecipientMark
from changecast.delivery.ses_events import parse_event
from changecast.errors import UpstreamError
from changecast.workers.ses_events import EventsLambda, EventsProcessor
from tests.unit.test_event_apply import KEY, CountsSink, World, apply_all, kind


def handle(world: World, bodies: Sequence[str], sizes: Sequence[int]) -> list[str]:
    """The bodies through the real Lambda handler, in batches of ``sizes`` (cycled)."""
    handler = EventsLambda(processor=EventsProcessor(world.deps()), queues=lambda _a: (None, 5))
    failed: list[str] = []
    first, n = 0, 0
    while first < len(bodies):
        size = sizes[n % len(sizes)]
        chunk = bodies[first : first + size]
        records = [
            {"messageId": str(uuid.uuid4()), "body": b, "eventSourceARN": "arn:q"} for b in chunk
        ]
        answer = handler.handle_batch({"Records": records})
        failed.extend(f["itemIdentifier"] for f in answer["batchItemFailures"])
        first, n = first + size, n + 1
    return failed


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_any_batches_of_any_order_with_duplicates_equal_one_by_one(data: st.DataObject) -> None:
    """Ledger, suppressions and read-model counts equal applying each event alone, in order."""
    reference = World()
    bodies = reference.send_all()
    apply_all(reference, bodies)
    extra = data.draw(st.lists(st.sampled_from(bodies), max_size=len(bodies)))
    order = data.draw(st.permutations(bodies + extra))
    sizes = data.draw(st.lists(st.integers(1, len(order)), min_size=1, max_size=6))
    batched = World()
    batched.send_all()
    assert handle(batched, order, sizes) == []
    assert batched.state() == reference.state()


@dataclass
class CountingLedger:
    """Wraps the memory ledger and records every write the batch asks for."""

    world: World
    writes: list[tuple[LedgerKey, OutcomeMark]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.world.ledger, name)

    def record_outcomes(self, marks: Sequence[tuple[LedgerKey, str, OutcomeMark]]) -> None:
        self.writes.extend((k, m) for k, _i, m in marks)
        self.world.ledger.record_outcomes(marks)


def test_a_batch_writes_each_entry_once_and_a_replay_changes_nothing() -> None:
    world = World()
    bodies = world.send_all()
    apply_all(world, bodies)  # every entry holds its final outcome
    before = world.state()
    counting = CountingLedger(world)
    deps = world.deps()
    deps.ledger = counting
    events = [parse_event(b) for b in bodies + bodies]
    batch = apply_batch(events, deps=deps)
    keys = [k for k, _m in counting.writes]
    assert len(keys) == len(set(keys))  # one mark per entry, the batch's greatest
    assert all(not r.changed for r in batch.results if not isinstance(r, Exception))
    assert world.state() == before

    fresh = World()
    bodies = fresh.send_all()
    counting = CountingLedger(fresh)
    deps = fresh.deps()
    deps.ledger = counting
    apply_batch([parse_event(b) for b in bodies * 3], deps=deps)
    keys = [k for k, _m in counting.writes]
    assert len(keys) == len(set(keys)) == len(fresh.ledger.entries(KEY.partition))
    assert all(m.outcome.value != "sent" for _k, m in counting.writes)  # Sends write nothing


@dataclass
class FlakyCounts(CountsSink):
    """A read model that fails its first ``failures`` writes."""

    failures: int = 1

    def __init__(self, failures: int = 1) -> None:
        super().__init__()
        self.failures = failures

    def record_outcomes(self, marks: Sequence[RecipientMark]) -> list[bool]:
        if self.failures:
            self.failures -= 1
            raise UpstreamError("index unavailable", retryable=True)
        return super().record_outcomes(marks)


def test_a_failed_read_model_write_retries_its_events_and_the_replay_writes_the_counts() -> None:
    reference = World()
    bodies = reference.send_all()
    apply_all(reference, bodies)
    world = World(sink=FlakyCounts())
    world.send_all()
    handler = EventsLambda(processor=EventsProcessor(world.deps()), queues=lambda _a: (None, 5))
    records = [{"messageId": f"r{i}", "body": b} for i, b in enumerate(bodies)]
    answer = handler.handle_batch({"Records": records})
    retried = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
    outcome_bodies = {
        f"r{i}" for i, b in enumerate(bodies) if kind(b) not in ("Subscription", "Send")
    }
    assert retried == outcome_bodies  # the ledger has the marks, the counts are not yet
    assert world.sink.rows == {}
    again = handler.handle_batch({"Records": [r for r in records if r["messageId"] in retried]})
    assert again == {"batchItemFailures": []}
    assert world.state() == reference.state()


def test_on_moto_dynamodb_batches_equal_one_by_one_on_the_memory_ledger(aws_env: None) -> None:
    """The real adapter (BatchGetItem, BatchWriteItem marks) ends as the fake one by one."""
    import random

    import boto3
    from moto import mock_aws

    from changecast.aws.dynamodb import DynamoDbLedger, create_ledger_table

    reference = World()
    bodies = reference.send_all()
    apply_all(reference, bodies)
    chooser = random.Random(3)
    for sizes in ([1], [7, 3], [100]):
        order = bodies + chooser.sample(bodies, len(bodies) // 2)
        chooser.shuffle(order)
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            create_ledger_table(client, "ledger")
            world = World(ledger=DynamoDbLedger(client, "ledger"))  # type: ignore[arg-type]
            world.send_all()
            assert handle(world, order, sizes) == []
            assert world.state() == reference.state()

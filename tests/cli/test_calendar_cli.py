"""``changecast calendar rotate-token``: a new feed token per customer, the old one refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from changecast.aws.s3 import S3ObjectStore
from changecast.delivery.feed_tokens import FeedTokens
from changecast.ports import SystemClock
from tests.cli.ses_harness import World, moto_world


@pytest.fixture
def world(aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("CHANGECAST_ACTOR", "ops@ccoe.example.com")
    for made in moto_world(tmp_path):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="changecast-test")
        yield made


def tokens() -> FeedTokens:
    store = S3ObjectStore(boto3.client("s3", region_name="us-east-1"), "changecast-test")
    return FeedTokens(store, SystemClock())


def test_rotate_token_replaces_the_customers_token(world: World) -> None:
    old = tokens().current("acme")
    outcome = world.invoke("calendar", "rotate-token", "--customer", "acme", "--output", "json")
    assert outcome.code == 0, outcome.stderr
    new = tokens().current("acme")
    assert new != old
    urls = [v for v in _values(json.loads(outcome.stdout)) if "/calendar/" in v]
    assert urls == [f"webcal://portal.test/calendar/acme.ics?token={new}"]
    assert tokens().matches("acme", new)
    assert not tokens().matches("acme", old)


def _values(data: object) -> list[str]:
    if isinstance(data, dict):
        return [v for item in data.values() for v in _values(item)]
    if isinstance(data, list):
        return [v for item in data for v in _values(item)]
    return [data] if isinstance(data, str) else []


def test_rotate_token_for_an_unknown_customer_is_a_usage_error(world: World) -> None:
    outcome = world.invoke("calendar", "rotate-token", "--customer", "nobody")
    assert outcome.code == 2

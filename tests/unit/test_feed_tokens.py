"""Feed tokens: the portal shows cached tokens (no read per customer), the feed checks S3."""

from __future__ import annotations

from datetime import UTC, datetime

from changecast.delivery.feed_tokens import FeedTokens, feed_token_key
from changecast.ports import StoredObject
from tests.fakes.store import MemoryObjectStore

CODES = [f"cust-{n:02d}" for n in range(30)]


class FixedClock:
    def now(self) -> datetime:
        return datetime(2030, 1, 1, tzinfo=UTC)


class CountingStore(MemoryObjectStore):
    """The in-memory store, counting the reads of each key."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def get(self, key: str) -> StoredObject:
        self.reads.append(key)
        return super().get(key)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.at = 0.0

    def __call__(self) -> float:
        return self.at


def cached(store: CountingStore, ticks: Ticks) -> FeedTokens:
    return FeedTokens(store, FixedClock(), cache_seconds=60, monotonic=ticks)


def test_a_page_of_30_customers_reads_each_token_once_then_none() -> None:
    store, ticks = CountingStore(), Ticks()
    FeedTokens(store, FixedClock()).current_many(CODES)  # made before, by anyone
    store.reads.clear()
    tokens = cached(store, ticks)
    first = tokens.current_many(CODES)
    assert sorted(store.reads) == sorted(feed_token_key(code) for code in CODES)
    store.reads.clear()
    assert tokens.current_many(reversed(CODES)) == first
    assert list(tokens.current_many(reversed(CODES))) == list(reversed(CODES))
    assert store.reads == []
    assert all(tokens.matches(code, token) for code, token in first.items())


def test_tokens_made_on_first_use_are_kept_and_match() -> None:
    store, ticks = CountingStore(), Ticks()
    tokens = cached(store, ticks)
    made = tokens.current_many(["acme", "globex", "acme"])
    assert list(made) == ["acme", "globex"]
    assert set(store.objects) == {feed_token_key("acme"), feed_token_key("globex")}
    assert FeedTokens(store, FixedClock()).current("acme") == made["acme"]


def test_a_rotation_elsewhere_stops_the_old_token_at_once_and_shows_after_the_cache() -> None:
    store, ticks = CountingStore(), Ticks()
    portal = cached(store, ticks)
    old = portal.current("acme")
    new = FeedTokens(store, FixedClock()).rotate("acme", by="ops@example.com")  # the CLI
    assert not portal.matches("acme", old)  # the feed reads the bucket every time
    assert portal.matches("acme", new)
    ticks.at = 59.0
    assert portal.current("acme") == old  # the page may show the old link for a minute
    ticks.at = 61.0
    assert portal.current("acme") == new


def test_a_rotation_by_the_portal_shows_at_once_and_no_cache_reads_every_time() -> None:
    store, ticks = CountingStore(), Ticks()
    portal = cached(store, ticks)
    portal.current("acme")
    new = portal.rotate("acme", by="ops@example.com")
    assert portal.current("acme") == new
    plain = FeedTokens(store, FixedClock())
    store.reads.clear()
    for _ in range(3):
        assert plain.current("acme") == new
    assert store.reads == [feed_token_key("acme")] * 3

"""The ObjectStore contract, run against the in-memory fake and the S3 adapter on moto.

Conditional writes are what the system of record rests on: ``If-None-Match: *`` makes versions,
triggers and audit events write-once; ``If-Match`` makes the latest pointer and drafts
compare-and-swap. Both refusals are a ``ConflictError``; an absent key is a ``NotFoundError``.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from changecast.aws.s3 import S3ObjectStore
from changecast.errors import ConflictError, NotFoundError
from changecast.ports import ObjectStore
from tests.fakes.store import MemoryObjectStore

BUCKET = "changecast-contract"


@pytest.fixture(params=["memory", "s3"])
def store(request: pytest.FixtureRequest, aws_env: None) -> Iterator[ObjectStore]:
    if request.param == "memory":
        yield MemoryObjectStore()
        return
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield S3ObjectStore(client, BUCKET, page_size=2)  # small pages: listings must follow


def test_put_then_get_returns_the_body_and_the_etag_put_returned(store: ObjectStore) -> None:
    etag = store.put("a/b.json", b'{"x": 1}')
    got = store.get("a/b.json")
    assert (got.key, got.body, got.etag) == ("a/b.json", b'{"x": 1}', etag)
    assert etag.startswith('"') and etag.endswith('"')
    binary = bytes(range(256))
    store.put("blob", binary, content_type="application/octet-stream")
    assert store.get("blob").body == binary


def test_an_unconditional_put_replaces_and_changes_the_etag(store: ObjectStore) -> None:
    first = store.put("k", b"one")
    second = store.put("k", b"two")
    assert first != second
    assert store.get("k").body == b"two"
    assert store.put("k", b"two") == second  # same bytes, same ETag (single-part MD5)


def test_if_none_match_creates_once_and_refuses_when_the_key_exists(store: ObjectStore) -> None:
    etag = store.put("once", b"first", if_none_match=True)
    with pytest.raises(ConflictError):
        store.put("once", b"second", if_none_match=True)
    got = store.get("once")
    assert (got.body, got.etag) == (b"first", etag)


def test_if_match_replaces_only_at_the_current_etag(store: ObjectStore) -> None:
    etag = store.put("latest", b"v1")
    newer = store.put("latest", b"v2", if_match=etag)
    assert store.get("latest").body == b"v2"
    with pytest.raises(ConflictError):
        store.put("latest", b"stale writer", if_match=etag)
    got = store.get("latest")
    assert (got.body, got.etag) == (b"v2", newer)
    assert store.put("latest", b"v3", if_match=newer) != newer


def test_if_match_on_an_absent_key_is_a_conflict_and_creates_nothing(store: ObjectStore) -> None:
    etag = store.put("gone", b"x")
    store.delete("gone")
    with pytest.raises(ConflictError):
        store.put("gone", b"y", if_match=etag)
    assert not store.exists("gone")


def test_absent_keys_are_not_found_and_deleting_them_is_fine(store: ObjectStore) -> None:
    with pytest.raises(NotFoundError):
        store.get("nothing/here.json")
    assert store.exists("nothing/here.json") is False
    store.delete("nothing/here.json")
    store.put("here", b"1")
    assert store.exists("here") is True
    store.delete("here")
    assert store.exists("here") is False
    with pytest.raises(NotFoundError):
        store.get("here")
    store.put("here", b"2", if_none_match=True)  # a deleted key may be created again
    assert store.get("here").body == b"2"


def test_list_keys_gives_every_key_under_the_prefix_in_order_across_pages(
    store: ObjectStore,
) -> None:
    keys = [f"customers/acme/{n:02d}.json" for n in (5, 1, 4, 2, 3)]
    for key in [*keys, "customers/acmecorp/1.json", "customers/beta/1.json", "archive/x.json"]:
        store.put(key, b"{}")
    assert list(store.list_keys("customers/acme/")) == sorted(keys)
    assert list(store.list_keys("customers/acme")) == [*sorted(keys), "customers/acmecorp/1.json"]
    assert len(list(store.list_keys(""))) == 8
    assert list(store.list_keys("audit/")) == []

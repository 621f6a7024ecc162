"""Signed links: any changed byte fails, another purpose fails, expiry holds, single use holds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from changecast.access.links import (
    LinkExpiredError,
    LinkInvalidError,
    LinkSigner,
    LinkUsedError,
    recipient_hash,
    use_once,
)
from changecast.errors import InvalidInputError
from tests.fakes.store import MemoryObjectStore

SECRET = "s" * 40
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
FIELDS = {"changeId": "0b5e3f6e-0000-4000-8000-000000000001", "version": "2", "customer": "acme"}
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


def token(purpose: str = "signoff", fields: dict[str, str] | None = None) -> str:
    return LinkSigner(SECRET).sign(purpose, fields or FIELDS, expires_at=NOW + timedelta(hours=1))


_ONE_TOKEN = token()


def test_a_genuine_token_verifies_with_its_fields() -> None:
    claims = LinkSigner(SECRET).verify("signoff", token(), now=NOW)
    assert claims.fields == FIELDS
    assert claims.purpose == "signoff"
    assert claims.expires_at == NOW + timedelta(hours=1)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_changed_character_fails(data: st.DataObject) -> None:
    original = _ONE_TOKEN  # one token for every example: a sealed token differs at each sealing
    position = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
    replacement = data.draw(st.sampled_from(ALPHABET).filter(lambda c: c != original[position]))
    tampered = original[:position] + replacement + original[position + 1 :]
    with pytest.raises(LinkInvalidError):
        LinkSigner(SECRET).verify("signoff", tampered, now=NOW)


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(min_value=1, max_value=20), extra=st.text(ALPHABET, min_size=1, max_size=5))
def test_truncated_or_extended_tokens_fail(cut: int, extra: str) -> None:
    original = token()
    for bad in (original[:-cut], original + extra, extra + original):
        with pytest.raises(LinkInvalidError):
            LinkSigner(SECRET).verify("signoff", bad, now=NOW)


@given(purpose=st.from_regex(r"^[a-z][a-z0-9-]{0,20}$", fullmatch=True))
def test_a_token_for_another_purpose_fails(purpose: str) -> None:
    if purpose == "signoff":
        return
    with pytest.raises(LinkInvalidError):
        LinkSigner(SECRET).verify(purpose, token("signoff"), now=NOW)


def test_another_secret_fails() -> None:
    with pytest.raises(LinkInvalidError):
        LinkSigner("t" * 40).verify("signoff", token(), now=NOW)


def test_an_expired_token_is_expired_not_invalid() -> None:
    with pytest.raises(LinkExpiredError):
        LinkSigner(SECRET).verify("signoff", token(), now=NOW + timedelta(hours=1))


def test_tokens_are_sealed_fresh_each_time_and_show_nothing_of_their_fields() -> None:
    address = {"r": "ops.lead@acme.example.com", **FIELDS}
    first, second = token(fields=address), token(fields=address)
    assert first != second  # a fresh nonce each time
    for made in (first, second):
        assert "." not in made
        raw = base64.urlsafe_b64decode(made + "=" * (-len(made) % 4))
        for value in ("ops.lead@acme.example.com", FIELDS["changeId"], "acme", "signoff"):
            assert value.encode() not in raw
            assert value not in made
        assert LinkSigner(SECRET).verify("signoff", made, now=NOW).fields == address


def legacy_token(fields: dict[str, str], expires_at: datetime, secret: str = SECRET) -> str:
    """A link as signed before sealing: base64url(payload) "." base64url(HMAC-SHA256)."""
    body = {"p": "signoff", "f": fields, "e": int(expires_at.timestamp())}
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    key = hmac.new(secret.encode(), b"changecast/links/v1/signoff", hashlib.sha256).digest()
    mac = hmac.new(key, payload, hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return f"{b64(payload)}.{b64(mac)}"


def test_a_link_signed_before_sealing_is_accepted_until_it_expires() -> None:
    signer = LinkSigner(SECRET)
    old = legacy_token(FIELDS, NOW + timedelta(hours=1))
    assert signer.verify("signoff", old, now=NOW).fields == FIELDS
    with pytest.raises(LinkExpiredError):
        signer.verify("signoff", old, now=NOW + timedelta(hours=2))
    with pytest.raises(LinkInvalidError):
        signer.verify("survey", old, now=NOW)
    forged = legacy_token({**FIELDS, "version": "3"}, NOW + timedelta(hours=1), secret="x" * 40)
    with pytest.raises(LinkInvalidError):
        signer.verify("signoff", forged, now=NOW)
    payload, mac = old.split(".")
    swapped = legacy_token({**FIELDS, "version": "3"}, NOW + timedelta(hours=1)).split(".")[0]
    with pytest.raises(LinkInvalidError):
        signer.verify("signoff", f"{swapped}.{mac}", now=NOW)
    assert payload != swapped


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="at least 32"):
        LinkSigner("short")


def test_use_once_refuses_the_second_use() -> None:
    store = MemoryObjectStore()
    use_once(store, "signoffs/x.json", b"{}")
    with pytest.raises(LinkUsedError):
        use_once(store, "signoffs/x.json", b"{}")


def test_recipient_hash_ignores_case_and_hides_the_address() -> None:
    assert recipient_hash("Ops@Acme.example") == recipient_hash("ops@acme.example")
    assert "acme" not in recipient_hash("ops@acme.example")

"""The one helper that reads moto's in-memory state (S3 objects, sent SES mail) directly."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MotoObject:
    key: str
    etag: str
    body: bytes


def bucket_objects(account_id: str, bucket: str) -> Iterator[MotoObject]:
    """Every current object of ``bucket`` in moto's S3 backend (of this process)."""
    from moto.s3.models import s3_backends

    found = s3_backends[account_id]["aws"].buckets.get(bucket)
    if found is None:
        return
    for key, fake in list(found.keys.items()):
        yield MotoObject(key=key, etag=str(fake.etag), body=bytes(fake.value))


def bucket_etags(account_id: str, bucket: str) -> dict[str, str]:
    """Key -> ETag for every object, without copying the bodies."""
    from moto.s3.models import s3_backends

    found = s3_backends[account_id]["aws"].buckets.get(bucket)
    if found is None:
        return {}
    return {key: str(fake.etag) for key, fake in list(found.keys.items())}


def object_body(account_id: str, bucket: str, key: str) -> bytes | None:
    from moto.s3.models import s3_backends

    found = s3_backends[account_id]["aws"].buckets.get(bucket)
    if found is None:
        return None
    fake = found.keys.get(key)
    return None if fake is None else bytes(fake.value)


def sent_messages(account_id: str, region: str) -> list[Any]:
    """Messages moto's SES accepted in one account (SESv2 shares the v1 store)."""
    from moto.ses.models import ses_backends

    return list(ses_backends[account_id][region].sent_messages)


@dataclass(frozen=True)
class MotoMail:
    """One message moto's SES accepted: simple (subject and body) or raw (the MIME text)."""

    message_id: str
    source: str
    destinations: tuple[str, ...]
    subject: str | None = None
    body: str | None = None
    raw: str | None = None


def _destinations(found: Any) -> tuple[str, ...]:
    if isinstance(found, dict):
        found = [address for addresses in found.values() for address in addresses]
    unique: dict[str, None] = {}
    for address in found or ():
        unique.setdefault(str(address), None)
    return tuple(unique)


def sent_mail(account_id: str, region: str) -> list[MotoMail]:
    """``sent_messages`` as plain records (templated messages are skipped: we never send them)."""
    mail = []
    for message in sent_messages(account_id, region):
        raw = getattr(message, "raw_data", None)
        if raw is None and not hasattr(message, "body"):
            continue
        mail.append(
            MotoMail(
                message_id=str(message.id),
                source=str(message.source or ""),
                destinations=_destinations(message.destinations),
                subject=None if raw is not None else str(message.subject),
                body=None if raw is not None else str(message.body),
                raw=None if raw is None else str(raw),
            )
        )
    return mail

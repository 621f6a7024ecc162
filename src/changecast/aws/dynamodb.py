"""The delivery ledger on DynamoDB (hub account): conditional writes, one item per recipient.

Keys: ``pk`` = ``{customer}#{changeId}#v{n}#{event}``, ``sk`` = ``{channel}#{recipient}``.
Index ``by-message-id`` (``message_id``) finds the entry an SES event is about; ``by-change``
(``change_ref`` = ``{customer}#{changeId}``, ``sk``) lists a customer's entries of one change.
Suppressed addresses are items ``pk`` = ``!suppressed#{customer}``, ``sk`` = the address.

SES outcomes are append-only *mark* items in a partition of their own: ``pk`` = ``~`` and the
entry's partition, ``sk`` = ``{entry sk}~{digest of the message id and mark}``, with
``mark_of`` (the entry's ``sk``), ``change_ref`` and the mark (``outcome``,
``outcome_detail``, ``outcome_at``, ``outcome_key``). The events worker's policy may write only
keys that start with ``~``.
A mark is written once by an unconditional put (``BatchWriteItem``, 25 a call): the same event
writes the same item, so a duplicate or a replay changes nothing, and no two writers ever
contend. Reads fold an entry's marks into it: its outcome is the greatest of its own mark (the
send loop's ``sent``, ``failed`` or ``suppressed``) and its marks (``outcomes.merge``), whatever
order they were written in.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from changecast.aws.errors import aws_call, error_code, translate
from changecast.contacts.models import SuppressionReason
from changecast.delivery.ledger import (
    Channel,
    Claim,
    ClaimOutcome,
    LedgerEntry,
    LedgerKey,
    LedgerState,
)
from changecast.delivery.outcomes import DETAIL_MAX, DeliveryOutcome, OutcomeMark
from changecast.delivery.suppression import SuppressionRecord
from changecast.errors import UpstreamError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NAMES = {
    "#state": "state",
    "#owner": "owner",
    "#lease": "lease_until",
    "#updated": "updated_at",
}
_CLAIM = (
    "SET #state = :sending, #owner = :owner, #lease = :lease, #updated = :now, "
    "topic = :topic, customer = :customer, change_id = :change, change_version = :version, "
    "delivery_event = :event, channel = :channel, recipient = :recipient, "
    "created_at = if_not_exists(created_at, :now), change_ref = :ref ADD attempts :one "
    "REMOVE reason, outcome, outcome_detail, outcome_at, outcome_key"
)
_CLAIMABLE = (
    "attribute_not_exists(pk) OR (#state <> :sent AND (#lease < :epoch OR #owner = :owner))"
)


MESSAGE_INDEX = "by-message-id"
CHANGE_INDEX = "by-change"
SUPPRESSED_PREFIX = "!suppressed#"
MARK_PREFIX = "~"
"""Mark items' partition keys start with it; an entry's never do (they start with a code)."""
WRITE_CHUNK = 25
"""BatchWriteItem's limit."""
WRITE_ATTEMPTS = 8
"""Rounds of unprocessed items a batch write retries (with backoff) before it gives up."""


def mark_sort(entry_sort: str, message_id: str, mark: OutcomeMark) -> str:
    """The sort key of ``mark``'s item for one message: the same mark always gets the same item."""
    named = f"{message_id}\n{mark.precedence_key}".encode()
    return f"{entry_sort}~{hashlib.sha256(named).hexdigest()[:24]}"


def create_ledger_table(client: DynamoDBClient, name: str) -> None:
    """Create the table (on-demand) with its two indexes, and wait until it is active.

    Items: state (pending, sending, sent, failed, suppressed), owner and ``lease_until`` (epoch
    seconds) of a claim, ``message_id`` or ``reason``, topic, channel, recipient, attempts,
    created/updated at, and the outcome (``outcome``, ``outcome_detail``, ``outcome_at`` and
    ``outcome_key``, the mark's precedence key that conditional writes compare).
    """
    with aws_call(f"CreateTable {name}"):
        client.create_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "message_id", "AttributeType": "S"},
                {"AttributeName": "change_ref", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": MESSAGE_INDEX,
                    "KeySchema": [{"AttributeName": "message_id", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                },
                {
                    "IndexName": CHANGE_INDEX,
                    "KeySchema": [
                        {"AttributeName": "change_ref", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                },
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _epoch(moment: datetime) -> str:
    return f"{moment.timestamp():.3f}"


class DynamoDbLedger:
    """The ``Ledger`` port on one DynamoDB table."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    @staticmethod
    def _key(key: LedgerKey) -> Any:
        return {"pk": {"S": key.partition}, "sk": {"S": key.sort}}

    def claim(
        self, key: LedgerKey, *, topic: str, owner: str, now: datetime, lease: timedelta
    ) -> Claim:
        delivery = key.delivery
        values: Any = {
            ":sending": {"S": LedgerState.SENDING.value},
            ":sent": {"S": LedgerState.SENT.value},
            ":owner": {"S": owner},
            ":lease": {"N": _epoch(now + lease)},
            ":epoch": {"N": _epoch(now)},
            ":now": {"S": _iso(now)},
            ":topic": {"S": topic},
            ":customer": {"S": delivery.customer},
            ":change": {"S": delivery.change_id},
            ":version": {"N": str(delivery.version)},
            ":event": {"S": delivery.event.value},
            ":channel": {"S": key.channel.value},
            ":recipient": {"S": key.recipient},
            ":ref": {"S": f"{delivery.customer}#{delivery.change_id}"},
            ":one": {"N": "1"},
        }
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(key),
                UpdateExpression=_CLAIM,
                ConditionExpression=_CLAIMABLE,
                ExpressionAttributeNames=NAMES,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise translate(exc, operation=f"UpdateItem {self.table}") from exc
            return self._held(key)
        return Claim(ClaimOutcome.CLAIMED)

    def _held(self, key: LedgerKey) -> Claim:
        """Why a claim failed: the recipient is sent, or another owner's lease is live."""
        with aws_call(f"GetItem {self.table}"):
            item = self.client.get_item(
                TableName=self.table, Key=self._key(key), ConsistentRead=True
            ).get("Item", {})
        if item.get("state", {}).get("S") == LedgerState.SENT.value:
            return Claim(ClaimOutcome.SENT, message_id=item.get("message_id", {}).get("S"))
        lease = item.get("lease_until", {}).get("N")
        until = datetime.fromtimestamp(float(lease), UTC) if lease else None
        return Claim(ClaimOutcome.BUSY, lease_until=until)

    def _set(self, key: LedgerKey, expression: str, values: dict[str, Any]) -> None:
        with aws_call(f"UpdateItem {self.table}"):
            self.client.update_item(
                TableName=self.table,
                Key=self._key(key),
                UpdateExpression=expression,
                ExpressionAttributeNames={"#state": "state", "#updated": "updated_at"},
                ExpressionAttributeValues=values,
            )

    def mark_sent(self, key: LedgerKey, *, message_id: str, now: datetime) -> None:
        """Sent; the outcome becomes ``sent`` unless an SES event already recorded one."""
        mark = OutcomeMark(DeliveryOutcome.SENT, now)
        self._set(
            key,
            "SET #state = :state, message_id = :id, #updated = :now, "
            "outcome = if_not_exists(outcome, :outcome), "
            "outcome_at = if_not_exists(outcome_at, :now), "
            "outcome_key = if_not_exists(outcome_key, :okey) REMOVE lease_until, reason",
            {
                ":state": {"S": LedgerState.SENT.value},
                ":id": {"S": message_id},
                ":now": {"S": _iso(now)},
                ":outcome": {"S": mark.outcome.value},
                ":okey": {"S": mark.precedence_key},
            },
        )

    def mark_failed(self, key: LedgerKey, *, reason: str, now: datetime) -> None:
        mark = OutcomeMark(DeliveryOutcome.FAILED, now, reason[:DETAIL_MAX])
        self._set(
            key,
            "SET #state = :state, reason = :reason, #updated = :now, lease_until = :zero, "
            "outcome = :outcome, outcome_detail = :detail, outcome_at = :now, outcome_key = :okey",
            {
                ":state": {"S": LedgerState.FAILED.value},
                ":reason": {"S": reason[:2_000] or "failed"},
                ":now": {"S": _iso(now)},
                ":zero": {"N": "0"},
                ":outcome": {"S": mark.outcome.value},
                ":detail": {"S": mark.detail or "failed"},
                ":okey": {"S": mark.precedence_key},
            },
        )

    def mark_suppressed(self, key: LedgerKey, *, topic: str, reason: str, now: datetime) -> None:
        delivery = key.delivery
        mark = OutcomeMark(DeliveryOutcome.SUPPRESSED, now, reason[:DETAIL_MAX])
        values: Any = {
            ":state": {"S": LedgerState.SUPPRESSED.value},
            ":sent": {"S": LedgerState.SENT.value},
            ":now": {"S": _iso(now)},
            ":topic": {"S": topic},
            ":customer": {"S": delivery.customer},
            ":change": {"S": delivery.change_id},
            ":version": {"N": str(delivery.version)},
            ":event": {"S": delivery.event.value},
            ":channel": {"S": key.channel.value},
            ":recipient": {"S": key.recipient},
            ":ref": {"S": f"{delivery.customer}#{delivery.change_id}"},
            ":outcome": {"S": mark.outcome.value},
            ":detail": {"S": mark.detail or "suppressed"},
            ":okey": {"S": mark.precedence_key},
            ":zero": {"N": "0"},
        }
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(key),
                UpdateExpression=(
                    "SET #state = :state, #updated = :now, topic = :topic, customer = :customer, "
                    "change_id = :change, change_version = :version, delivery_event = :event, "
                    "channel = :channel, recipient = :recipient, change_ref = :ref, "
                    "created_at = if_not_exists(created_at, :now), lease_until = :zero, "
                    "outcome = :outcome, outcome_detail = :detail, outcome_at = :now, "
                    "outcome_key = :okey"
                ),
                ConditionExpression="attribute_not_exists(pk) OR #state <> :sent",
                ExpressionAttributeNames={"#state": "state", "#updated": "updated_at"},
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise translate(exc, operation=f"UpdateItem {self.table}") from exc

    def release(self, key: LedgerKey, *, now: datetime) -> None:
        self._set(
            key,
            "SET #state = :state, #updated = :now, lease_until = :zero",
            {
                ":state": {"S": LedgerState.PENDING.value},
                ":now": {"S": _iso(now)},
                ":zero": {"N": "0"},
            },
        )

    def entries(self, partition: str) -> list[LedgerEntry]:
        """The delivery's entries, and its marks' partition folded in: two queries."""
        items = [
            item
            for pk in (partition, MARK_PREFIX + partition)
            for item in self._items(
                {
                    "TableName": self.table,
                    "KeyConditionExpression": "pk = :pk",
                    "ExpressionAttributeValues": {":pk": {"S": pk}},
                    "ConsistentRead": True,
                }
            )
        ]
        return folded(items)

    def entries_for(self, change_id: str, customer_code: str) -> list[LedgerEntry]:
        """From the ``by-change`` index (eventually consistent: a second behind at most)."""
        return self._query(
            {
                "TableName": self.table,
                "IndexName": CHANGE_INDEX,
                "KeyConditionExpression": "change_ref = :ref",
                "ExpressionAttributeValues": {":ref": {"S": f"{customer_code}#{change_id}"}},
            }
        )

    def get(self, key: LedgerKey) -> LedgerEntry | None:
        """The entry (a consistent read) with its marks folded in: two calls."""
        with aws_call(f"GetItem {self.table}"):
            item = self.client.get_item(
                TableName=self.table, Key=self._key(key), ConsistentRead=True
            ).get("Item")
        if not item:
            return None
        marks = self._items(
            {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :marks)",
                "ExpressionAttributeValues": {
                    ":pk": {"S": MARK_PREFIX + key.partition},
                    ":marks": {"S": f"{key.sort}~"},
                },
                "ConsistentRead": True,
            }
        )
        return folded([item, *marks])[0]

    def sent_message_ids(self, keys: Sequence[LedgerKey]) -> dict[LedgerKey, str]:
        """The SES message id of each key's sent entry: BatchGetItem, 100 keys a call.

        Consistent reads of only ``pk``, ``sk`` and ``message_id``; unprocessed keys are asked
        again. A key without an entry, or whose entry was never sent, is absent.
        """
        wanted = {(k.partition, k.sort): k for k in keys}
        found: dict[LedgerKey, str] = {}
        pending = [self._key(k) for k in wanted.values()]
        while pending:
            chunk, pending = pending[:100], pending[100:]
            request: Any = {
                self.table: {
                    "Keys": chunk,
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk, sk, message_id",
                }
            }
            while request:
                with aws_call(f"BatchGetItem {self.table}"):
                    answer = self.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    ident = (str(item["pk"]["S"]), str(item["sk"]["S"]))
                    message_id = item.get("message_id", {}).get("S")
                    if ident in wanted and message_id:
                        found[wanted[ident]] = str(message_id)
                request = answer.get("UnprocessedKeys") or None
        return found

    def find_by_message_id(self, message_id: str) -> LedgerEntry | None:
        found = self._query(
            {
                "TableName": self.table,
                "IndexName": MESSAGE_INDEX,
                "KeyConditionExpression": "message_id = :id",
                "ExpressionAttributeValues": {":id": {"S": message_id}},
            }
        )
        return found[0] if found else None

    def record_outcomes(self, marks: Sequence[tuple[LedgerKey, str, OutcomeMark]]) -> None:
        """Put one mark item per (key, message id, mark): ``BatchWriteItem``, 25 a call.

        Unconditional and idempotent (the item is named by its mark), so concurrent batches
        and replays never conflict; which mark stands is decided when reading (``folded``).
        Unprocessed items are written again with backoff; a retryable ``UpstreamError`` after
        ``WRITE_ATTEMPTS`` rounds (the caller retries those events: a replay is harmless).
        """
        requests = {  # one put per item: BatchWriteItem refuses a key twice in one call
            (key.partition, mark_sort(key.sort, ident, mark)): {
                "PutRequest": {"Item": self._mark_item(key, ident, mark)}
            }
            for key, ident, mark in marks
        }
        pending = list(requests.values())
        while pending:
            chunk, pending = pending[:WRITE_CHUNK], pending[WRITE_CHUNK:]
            self._write_all(chunk)

    def _write_all(self, chunk: list[Any]) -> None:
        request: Any = {self.table: chunk}
        for attempt in range(WRITE_ATTEMPTS):
            with aws_call(f"BatchWriteItem {self.table}"):
                answer = self.client.batch_write_item(RequestItems=request)
            request = answer.get("UnprocessedItems") or None
            if not request:
                return
            time.sleep(min(0.05 * 2**attempt, 1.0))
        left = len(request.get(self.table, []))
        raise UpstreamError(
            f"BatchWriteItem {self.table}: {left} outcome marks still unprocessed after "
            f"{WRITE_ATTEMPTS} attempts (throttled)",
            retryable=True,
        )

    @staticmethod
    def _mark_item(key: LedgerKey, message_id: str, mark: OutcomeMark) -> Any:
        delivery = key.delivery
        return {
            "pk": {"S": MARK_PREFIX + key.partition},
            "sk": {"S": mark_sort(key.sort, message_id, mark)},
            "mark_of": {"S": key.sort},
            "mark_message_id": {"S": message_id},
            "change_ref": {"S": f"{delivery.customer}#{delivery.change_id}"},
            "outcome": {"S": mark.outcome.value},
            "outcome_detail": {"S": mark.detail[:DETAIL_MAX] or "-"},
            "outcome_at": {"S": _iso(mark.at)},
            "outcome_key": {"S": mark.precedence_key},
        }

    def _query(self, request: dict[str, Any]) -> list[LedgerEntry]:
        """Every entry the query finds, with its marks folded in."""
        return folded(self._items(request))

    def _items(self, request: dict[str, Any]) -> list[Any]:
        found: list[Any] = []
        while True:
            with aws_call(f"Query {self.table}"):
                answer = self.client.query(**request)
            found.extend(answer.get("Items", []))
            last = answer.get("LastEvaluatedKey")
            if not last:
                return found
            request["ExclusiveStartKey"] = last

    def sent_entries(self, customer: str) -> dict[str, LedgerEntry]:
        """SES message id -> the ledger entry of every sent item of ``customer`` (a full scan).

        Only the local outbox uses this (topic, change, when); it is not part of the ``Ledger``
        port.
        """
        found: dict[str, LedgerEntry] = {}
        paginator = self.client.get_paginator("scan")
        with aws_call(f"Scan {self.table}"):
            for page in paginator.paginate(
                TableName=self.table,
                FilterExpression="customer = :customer AND attribute_exists(message_id)",
                ExpressionAttributeValues={":customer": {"S": customer}},
            ):
                for item in page.get("Items", []):
                    entry = entry_of(item)
                    if entry.message_id:
                        found[entry.message_id] = entry
        return found


def folded(items: Iterable[Any]) -> list[LedgerEntry]:
    """Entry items as ``LedgerEntry`` (in order), each with the greatest of its marks.

    A mark counts only for the entry (its partition and ``mark_of``) and message it was written
    for; an entry's own mark (``outcome_key``) takes part. Marks without their entry are left
    out (a partial page, or an entry deleted).
    """
    entries: list[Any] = []
    marks: dict[tuple[str, str], list[Any]] = {}
    for item in items:
        if "mark_of" in item:
            ident = (str(item["pk"]["S"]).removeprefix(MARK_PREFIX), str(item["mark_of"]["S"]))
            marks.setdefault(ident, []).append(item)
        else:
            entries.append(item)
    found: list[LedgerEntry] = []
    for item in entries:
        ident = (str(item["pk"]["S"]), str(item["sk"]["S"]))
        best = item
        message_id = item.get("message_id", {}).get("S")
        for mark in marks.get(ident, ()):
            if mark.get("mark_message_id", {}).get("S") != message_id:
                continue
            if _outcome_key(mark) > _outcome_key(best):
                best = mark
        entry = entry_of(item)
        if best is not item:
            entry = replace(entry, **_outcome_fields(best))
        found.append(entry)
    return found


def _outcome_key(item: Any) -> str:
    return str(item.get("outcome_key", {}).get("S", ""))


def _outcome_fields(item: Any) -> dict[str, Any]:
    detail = item.get("outcome_detail", {}).get("S")
    at = item.get("outcome_at", {}).get("S")
    return {
        "outcome": item.get("outcome", {}).get("S"),
        "outcome_detail": None if detail in (None, "-") else str(detail),
        "outcome_at": datetime.fromisoformat(at) if at else None,
    }


def entry_of(item: Any) -> LedgerEntry:
    """One DynamoDB item as a ``LedgerEntry``."""

    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return None if value is None else str(value)

    lease = item.get("lease_until", {}).get("N")
    return LedgerEntry(
        partition=str(item["pk"]["S"]),
        channel=Channel(text("channel") or "email"),
        recipient=text("recipient") or str(item["sk"]["S"]).partition("#")[2],
        state=LedgerState(text("state") or LedgerState.PENDING.value),
        topic=text("topic") or "",
        attempts=int(item.get("attempts", {}).get("N", "0")),
        created_at=datetime.fromisoformat(text("created_at") or "1970-01-01T00:00:00+00:00"),
        updated_at=datetime.fromisoformat(text("updated_at") or "1970-01-01T00:00:00+00:00"),
        message_id=text("message_id"),
        reason=text("reason"),
        lease_until=datetime.fromtimestamp(float(lease), UTC) if lease and float(lease) else None,
        **_outcome_fields(item),
    )


class DynamoDbSuppressions:
    """The ``SuppressionStore`` port on the ledger table: one item per suppressed address."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client = client
        self.table = table

    def suppress(self, record: SuppressionRecord) -> None:
        item: Any = {
            "pk": {"S": SUPPRESSED_PREFIX + record.customer},
            "sk": {"S": record.folded},
            "email": {"S": record.email},
            "reason": {"S": record.reason.value},
            "suppressed_at": {"S": _iso(record.at)},
            "detail": {"S": record.detail[:2_000] or "-"},
        }
        if record.message_id:
            item["cause_message_id"] = {"S": record.message_id}
        with aws_call(f"PutItem {self.table}"):
            self.client.put_item(TableName=self.table, Item=item)

    def unsuppress(self, customer: str, email: str) -> bool:
        with aws_call(f"DeleteItem {self.table}"):
            answer = self.client.delete_item(
                TableName=self.table,
                Key={"pk": {"S": SUPPRESSED_PREFIX + customer}, "sk": {"S": email.strip().lower()}},
                ReturnValues="ALL_OLD",
            )
        return bool(answer.get("Attributes"))

    def suppressed(self, customer: str) -> list[SuppressionRecord]:
        found: list[SuppressionRecord] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": SUPPRESSED_PREFIX + customer}},
            "ConsistentRead": True,
        }
        while True:
            with aws_call(f"Query {self.table}"):
                answer = self.client.query(**request)
            found.extend(
                SuppressionRecord(
                    customer=customer,
                    email=str(item["email"]["S"]),
                    reason=SuppressionReason(item["reason"]["S"]),
                    at=datetime.fromisoformat(str(item["suppressed_at"]["S"])),
                    detail=str(item.get("detail", {}).get("S", "")),
                    message_id=item.get("cause_message_id", {}).get("S"),
                )
                for item in answer.get("Items", [])
            )
            last = answer.get("LastEvaluatedKey")
            if not last:
                return found
            request["ExclusiveStartKey"] = last

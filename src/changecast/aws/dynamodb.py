"""The delivery ledger on DynamoDB (hub account): conditional writes, one item per recipient.

Keys: ``pk`` = ``{customer}#{changeId}#v{n}#{event}``, ``sk`` = ``{channel}#{recipient}``.
Index ``by-message-id`` (``message_id``) finds the entry an SES event is about; ``by-change``
(``change_ref`` = ``{customer}#{changeId}``, ``sk``) lists a customer's entries of one change.
Suppressed addresses are items ``pk`` = ``!suppressed#{customer}``, ``sk`` = the address.
"""

from __future__ import annotations

from collections.abc import Sequence
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
_OUTRANKS = "message_id = :id AND (attribute_not_exists(outcome_key) OR outcome_key < :okey)"


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
        return self._query(
            {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": partition}},
                "ConsistentRead": True,
            }
        )

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
        with aws_call(f"GetItem {self.table}"):
            item = self.client.get_item(
                TableName=self.table, Key=self._key(key), ConsistentRead=True
            ).get("Item")
        return entry_of(item) if item else None

    def outcomes(self, partition: str) -> list[LedgerEntry]:
        return self._query(
            {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": partition}},
                "ProjectionExpression": "pk, sk, #state, outcome, channel, recipient",
                "ExpressionAttributeNames": {"#state": "state"},
                "ConsistentRead": True,
            }
        )

    def get_many(self, keys: Sequence[LedgerKey]) -> dict[LedgerKey, LedgerEntry]:
        """BatchGetItem, 100 keys a call, consistent; unprocessed keys are asked again."""
        wanted = {(k.partition, k.sort): k for k in keys}
        found: dict[LedgerKey, LedgerEntry] = {}
        pending = [self._key(k) for k in wanted.values()]
        while pending:
            chunk, pending = pending[:100], pending[100:]
            request: Any = {self.table: {"Keys": chunk, "ConsistentRead": True}}
            while request:
                with aws_call(f"BatchGetItem {self.table}"):
                    answer = self.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    ident = (str(item["pk"]["S"]), str(item["sk"]["S"]))
                    if ident in wanted:
                        found[wanted[ident]] = entry_of(item)
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

    def _outcome_update(self, key: LedgerKey, message_id: str, mark: OutcomeMark) -> Any:
        return {
            "TableName": self.table,
            "Key": self._key(key),
            "UpdateExpression": (
                "SET outcome = :outcome, outcome_detail = :detail, outcome_at = :at, "
                "outcome_key = :okey"
            ),
            "ConditionExpression": _OUTRANKS,
            "ExpressionAttributeValues": {
                ":outcome": {"S": mark.outcome.value},
                ":detail": {"S": mark.detail or "-"},
                ":at": {"S": _iso(mark.at)},
                ":okey": {"S": mark.precedence_key},
                ":id": {"S": message_id},
            },
        }

    def record_outcomes(self, marks: Sequence[tuple[LedgerKey, str, OutcomeMark]]) -> list[bool]:
        """One conditional UpdateItem per mark.

        Not TransactWriteItems: a transaction costs twice the write units, one outranked item
        cancels all of them, and moto copies the table per transaction (4x slower in the bench).
        """
        return [self.record_outcome(k, message_id=i, mark=m) for k, i, m in marks]

    def record_outcome(self, key: LedgerKey, *, message_id: str, mark: OutcomeMark) -> bool:
        try:
            self.client.update_item(**self._outcome_update(key, message_id, mark))
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise translate(exc, operation=f"UpdateItem {self.table}") from exc
            return False
        return True

    def _query(self, request: dict[str, Any]) -> list[LedgerEntry]:
        found: list[LedgerEntry] = []
        while True:
            with aws_call(f"Query {self.table}"):
                answer = self.client.query(**request)
            found.extend(entry_of(item) for item in answer.get("Items", []))
            last = answer.get("LastEvaluatedKey")
            if not last:
                return found
            request["ExclusiveStartKey"] = last

    def sent_topics(self, customer: str) -> dict[str, tuple[str, Channel]]:
        """SES message id -> (topic, channel) of every sent item of ``customer`` (a full scan).

        Only the local outbox uses this; it is not part of the ``Ledger`` port.
        """
        found: dict[str, tuple[str, Channel]] = {}
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
                        found[entry.message_id] = (entry.topic, entry.channel)
        return found


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
        outcome=text("outcome"),
        outcome_detail=None if (detail := text("outcome_detail")) in (None, "-") else detail,
        outcome_at=datetime.fromisoformat(at) if (at := text("outcome_at")) else None,
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

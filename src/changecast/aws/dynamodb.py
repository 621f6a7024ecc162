"""The delivery ledger on DynamoDB (hub account): conditional writes, one item per recipient.

Keys: ``pk`` = ``{customer}#{changeId}#v{n}#{event}``, ``sk`` = ``{channel}#{recipient}``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from changecast.aws.errors import aws_call, error_code, translate
from changecast.delivery.ledger import (
    Channel,
    Claim,
    ClaimOutcome,
    LedgerEntry,
    LedgerKey,
    LedgerState,
)

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
    "created_at = if_not_exists(created_at, :now) ADD attempts :one REMOVE reason"
)
_CLAIMABLE = (
    "attribute_not_exists(pk) OR (#state <> :sent AND (#lease < :epoch OR #owner = :owner))"
)


def create_ledger_table(client: DynamoDBClient, name: str) -> None:
    """Create the table (on-demand) and wait until it is active.

    Items: state (pending, sending, sent, failed), owner and ``lease_until`` (epoch seconds) of a
    claim, ``message_id`` or ``reason``, topic, channel, recipient, attempts, created/updated at.
    """
    with aws_call(f"CreateTable {name}"):
        client.create_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
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
        self._set(
            key,
            "SET #state = :state, message_id = :id, #updated = :now REMOVE lease_until, reason",
            {
                ":state": {"S": LedgerState.SENT.value},
                ":id": {"S": message_id},
                ":now": {"S": _iso(now)},
            },
        )

    def mark_failed(self, key: LedgerKey, *, reason: str, now: datetime) -> None:
        self._set(
            key,
            "SET #state = :state, reason = :reason, #updated = :now, lease_until = :zero",
            {
                ":state": {"S": LedgerState.FAILED.value},
                ":reason": {"S": reason[:2_000] or "failed"},
                ":now": {"S": _iso(now)},
                ":zero": {"N": "0"},
            },
        )

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
        found: list[LedgerEntry] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "ConsistentRead": True,
        }
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
    )

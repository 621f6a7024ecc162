"""One SQS queue for the delivery worker: receive, delete, extend visibility, send, dead-letter."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from changecast.aws.errors import aws_call

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_VISIBILITY = 12 * 3600
_NOT_SQS_TEXT = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""What SQS refuses in a body or a String attribute (outside XML's characters): NUL, ESC, other
C0 controls, lone surrogates, U+FFFE and U+FFFF."""


def sqs_text(value: str) -> str:
    """``value`` with each character SQS refuses written as its Python escape (NUL as x00).

    A dead letter's reason can quote a hostile event (a message id with NUL); SQS would refuse
    the whole SendMessage, so the record could never be dead-lettered with its reason.
    """
    return _NOT_SQS_TEXT.sub(lambda found: repr(found.group(0))[1:-1], value)


@dataclass(frozen=True)
class QueueMessage:
    """One received message."""

    message_id: str
    receipt: str
    body: str
    receive_count: int
    attributes: dict[str, str] = field(default_factory=dict)
    """String message attributes (a dead letter's ``changecast-reason``)."""


def queue_url_from_arn(client: SQSClient, arn: str) -> str:
    """``arn:aws:sqs:{region}:{account}:{name}`` -> its URL (GetQueueUrl)."""
    parts = arn.split(":")
    with aws_call(f"GetQueueUrl {arn}"):
        return client.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]


class SqsQueue:
    """The queue at ``url``."""

    def __init__(self, client: SQSClient, url: str) -> None:
        self.client = client
        self.url = url

    def receive(
        self, *, wait_seconds: int, max_messages: int = 10, visibility: int | None = None
    ) -> list[QueueMessage]:
        """Up to ``max_messages``; ``visibility`` overrides the queue's timeout for these."""
        extra: dict[str, Any] = {} if visibility is None else {"VisibilityTimeout": visibility}
        with aws_call("ReceiveMessage"):
            answer = self.client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=max_messages,
                WaitTimeSeconds=wait_seconds,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
                MessageAttributeNames=["All"],
                **extra,
            )
        return [
            QueueMessage(
                message_id=item["MessageId"],
                receipt=item["ReceiptHandle"],
                body=item.get("Body", ""),
                receive_count=int(item.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
                attributes={
                    name: str(value.get("StringValue", ""))
                    for name, value in item.get("MessageAttributes", {}).items()
                },
            )
            for item in answer.get("Messages", [])
        ]

    def delete(self, receipt: str) -> None:
        with aws_call("DeleteMessage"):
            self.client.delete_message(QueueUrl=self.url, ReceiptHandle=receipt)

    def set_visibility(self, receipt: str, seconds: float) -> None:
        """Hide the message for ``seconds`` more (0 makes it visible at once)."""
        timeout = max(0, min(MAX_VISIBILITY, int(seconds)))
        with aws_call("ChangeMessageVisibility"):
            self.client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=timeout
            )

    def send(self, body: str, *, attributes: dict[str, str] | None = None) -> str:
        extra: dict[str, Any] = {}
        if attributes:
            extra["MessageAttributes"] = {
                name: {"DataType": "String", "StringValue": sqs_text(value)[:1_000] or "-"}
                for name, value in attributes.items()
            }
        with aws_call("SendMessage"):
            return self.client.send_message(QueueUrl=self.url, MessageBody=body, **extra)[
                "MessageId"
            ]

    def attributes(self) -> dict[str, str]:
        with aws_call("GetQueueAttributes"):
            found = self.client.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
            ).get("Attributes", {})
        return {str(name): value for name, value in found.items()}

    def visibility_timeout(self) -> int:
        return int(self.attributes().get("VisibilityTimeout", "30"))

    def max_receive_count(self) -> int | None:
        """The redrive policy's maxReceiveCount (None without one)."""
        policy = self.attributes().get("RedrivePolicy")
        if not policy:
            return None
        count = json.loads(policy).get("maxReceiveCount")
        return int(count) if count else None

    def dead_letter_url(self) -> str | None:
        """The DLQ of the queue's redrive policy, if it has one."""
        policy = self.attributes().get("RedrivePolicy")
        if not policy:
            return None
        arn = json.loads(policy).get("deadLetterTargetArn")
        return queue_url_from_arn(self.client, arn) if arn else None

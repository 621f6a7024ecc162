"""SNS: publish one message to a topic (the embedded SES simulator publishes its events here)."""

from __future__ import annotations

from typing import Any

from changecast.aws.errors import aws_call


class SnsTopics:
    """Publishes to SNS topics with one client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def publish(self, topic_arn: str, message: str) -> str:
        with aws_call(f"Publish {topic_arn}"):
            return str(self.client.publish(TopicArn=topic_arn, Message=message)["MessageId"])

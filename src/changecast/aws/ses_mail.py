"""One customer account's SESv2 as a ``MailPort``: one SendEmail per recipient, and GetAccount.

Every message carries ``ListManagementOptions`` (list and topic), so SES adds its one-click
unsubscribe headers and honours the contact's preferences.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from changecast.aws.errors import error_code, permanent_send_error, translate, unsupported
from changecast.delivery.ports import RecipientRejectedError

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

log = structlog.get_logger()

REJECTED = frozenset(
    {"MessageRejected", "BadRequestException", "InvalidParameterValue", "ValidationException"}
)


@contextmanager
def _send_call(operation: str, sender: str = "") -> Iterator[None]:
    """A refusal of this one message is a ``RecipientRejectedError``; the rest map as usual.

    An account-wide refusal (sending paused, the sender unverified) is a permanent error.
    """
    try:
        yield
    except ClientError as exc:
        account_wide = permanent_send_error(exc, sender=sender, operation=operation)
        if account_wide is not None:
            raise account_wide from exc
        if error_code(exc) in REJECTED:
            message = str(exc.response.get("Error", {}).get("Message", "")) or error_code(exc)
            raise RecipientRejectedError(
                f"{operation} was rejected: {error_code(exc)}: {message}", code=error_code(exc)
            ) from exc
        raise translate(exc, operation=operation) from exc
    except BotoCoreError as exc:
        raise translate(exc, operation=operation) from exc


def _tagged(tags: Mapping[str, str] | None) -> dict[str, Any]:
    """``EmailTags`` for SendEmail (SES puts them on every event of the message)."""
    if not tags:
        return {}
    return {"EmailTags": [{"Name": name, "Value": value} for name, value in tags.items()]}


class SesMailAdapter:
    """SESv2 for one customer (one assumed role, one region).

    ``client`` should make one attempt per call (``AwsClients.sending_client``): the send loop
    paces every attempt through its bucket and does the retrying. ``GetAccount`` goes to
    ``account_client`` (with botocore's retries) when given, else to ``client``.
    """

    def __init__(self, client: SESV2Client, *, account_client: SESV2Client | None = None) -> None:
        self.client = client
        self.account_client = account_client or client

    def send_email(
        self,
        *,
        sender: str,
        to: str,
        subject: str,
        html: str,
        text: str,
        list_name: str,
        topic: str,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        content: Any = {
            "Simple": {
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {
                    "Html": {"Data": html, "Charset": "UTF-8"},
                    "Text": {"Data": text, "Charset": "UTF-8"},
                },
            }
        }
        with _send_call("SendEmail", sender):
            answer = self.client.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": [to]},
                Content=content,
                ListManagementOptions={"ContactListName": list_name, "TopicName": topic},
                **_tagged(tags),
            )
        return answer["MessageId"]

    def send_raw(
        self,
        *,
        sender: str,
        to: str,
        raw: bytes,
        list_name: str,
        topic: str,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        with _send_call("SendEmail (raw)", sender):
            answer = self.client.send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": [to]},
                Content={"Raw": {"Data": raw}},
                ListManagementOptions={"ContactListName": list_name, "TopicName": topic},
                **_tagged(tags),
            )
        return answer["MessageId"]

    def max_send_rate(self) -> float | None:
        """``GetAccount``'s SendQuota.MaxSendRate; None where the API is missing (moto)."""
        try:
            answer = self.account_client.get_account()
        except (ClientError, BotoCoreError) as exc:  # an emulator's HTML page is not shown
            log.info(
                "ses_send_rate_unavailable", error=translate(exc, operation="GetAccount").message
            )
            return None
        except NotImplementedError:  # moto in-process
            log.info(
                "ses_send_rate_unavailable", error=unsupported("GetAccount", "GetAccount").message
            )
            return None
        rate = answer.get("SendQuota", {}).get("MaxSendRate")
        return float(rate) if rate else None

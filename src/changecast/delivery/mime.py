"""Raw MIME for calendar invites: text, HTML and a ``text/calendar; method=…`` part.

The text and HTML parts are encoded once per trigger; each recipient costs only its headers and
its own calendar part (which names it as the attendee).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate

from changecast.delivery.invite import with_attendee
from changecast.delivery.render import RenderedEmail, RenderedInvite, checked_subject

TOPIC_HEADER = "X-Changecast-Topic"
CHANGE_HEADER = "X-Changecast-Change"
CRLF = "\r\n"


def _b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii").replace("\n", CRLF)


@dataclass(frozen=True)
class InviteMessage:
    """An invite ready to address: shared headers and parts, built once per trigger."""

    invite: RenderedInvite
    sender: str
    boundary: str
    head: str
    parts: str

    def for_recipient(self, recipient: str) -> bytes:
        """The full raw message to ``recipient``, with it as the calendar's attendee."""
        calendar = with_attendee(self.invite.invite, recipient)
        method = self.invite.method.value
        return (
            f"To: {recipient}{CRLF}{self.head}{self.parts}"
            f"--{self.boundary}{CRLF}"
            f'Content-Type: text/calendar; charset="utf-8"; method={method}{CRLF}'
            f"Content-Transfer-Encoding: base64{CRLF}{CRLF}"
            f"{_b64(calendar)}"
            f"--{self.boundary}--{CRLF}"
        ).encode()


def _from(name: str, address: str) -> str:
    """The From value; a non-ASCII name as RFC 2047 words folded with CRLF (never a bare LF)."""
    if name.isascii():
        return formataddr((name, address))
    return f"{Header(name, 'utf-8').encode(linesep=CRLF)} <{address}>"


def invite_message(
    rendered: RenderedEmail, *, sender: str, sender_name: str, change_id: str
) -> InviteMessage:
    """Prepare ``rendered.invite`` for sending (it must have one)."""
    invite = rendered.invite
    if invite is None:
        raise ValueError("the rendered email carries no invite")
    boundary = f"=_changecast_{uuid.uuid4().hex}"
    # Header folds with bare LF unless told otherwise: every header line must end in CRLF.
    subject = Header(checked_subject(invite.subject), "utf-8").encode(linesep=CRLF)
    head = CRLF.join(
        [
            f"From: {_from(sender_name, sender)}",
            f"Subject: {subject}",
            f"Date: {formatdate(usegmt=True)}",
            "MIME-Version: 1.0",
            f"{TOPIC_HEADER}: {invite.topic}",
            f"{CHANGE_HEADER}: {change_id}",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
            "",
            "",
        ]
    )
    parts = "".join(
        f"--{boundary}{CRLF}"
        f'Content-Type: {kind}; charset="utf-8"{CRLF}'
        f"Content-Transfer-Encoding: base64{CRLF}{CRLF}"
        f"{_b64(body.encode())}"
        for kind, body in (("text/plain", invite.text), ("text/html", invite.html))
    )
    return InviteMessage(invite=invite, sender=sender, boundary=boundary, head=head, parts=parts)

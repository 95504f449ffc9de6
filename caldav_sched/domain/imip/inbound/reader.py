"""``read_mail`` and ``token_candidates``: the entry points of the package.

Owns the assembly of an ``InboundMail`` from raw bytes (what is mail at all,
what the notes say) and the order in which reply tokens are trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from email import policy
from email.message import Message
from email.parser import BytesParser

from ..tokens import token_from_address
from .calendars import unique_parts
from .dsn import read_bounce
from .fields import (
    authentication_results,
    is_automatic,
    mailboxes_of,
    message_id_of,
    single_mailbox,
    text_of,
)
from .model import Bounce, InboundMail, NotMail, Recipients
from .tree import Walk, walk

DEFAULT_MAX_CALENDAR_SIZE = 1_048_576
# At least one of these makes a header block a mail header block; random
# bytes that happen to contain "x: y" on the first line are still not mail.
MAIL_FIELDS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "message-id", "received",
        "return-path", "delivered-to", "x-original-to", "mime-version",
        "content-type", "sender", "reply-to", "in-reply-to", "references",
    }
)


def read_mail(raw: bytes, *, max_calendar_size: int = DEFAULT_MAX_CALENDAR_SIZE) -> InboundMail:
    """Read one RFC 5322 message as delivered (headers, body, any MIME nesting).

    Raises ``NotMail`` only when ``raw`` has no mail header block at all;
    everything else that is wrong with the message (a calendar that does not
    parse, an oversize part, a forwarded message, a TNEF-only Outlook mail)
    becomes a note in ``problems``.
    """
    msg, too_deep = _parse(raw)
    found = walk(msg, max_calendar_size=max_calendar_size)
    problems = found.problems
    if too_deep:
        problems.insert(0, "MIME structure nested too deeply to read; headers only")
    bounce = read_bounce(found, max_calendar_size=max_calendar_size, problems=problems)
    parts = unique_parts(found.parts)
    _note_leftovers(found, has_calendar=bool(parts), has_bounce=bounce is not None)
    return InboundMail(
        message_id=message_id_of(msg),
        from_address=single_mailbox(msg, "from"),
        from_header=text_of(msg, "from"),
        subject=text_of(msg, "subject"),
        recipients=_recipients(msg),
        auto_submitted=is_automatic(msg) or bool(found.report_types or found.status_parts),
        bounce=bounce,
        parts=parts,
        authentication_results=authentication_results(msg),
        problems=tuple(dict.fromkeys(problems)),
    )


def require_mail(raw: bytes) -> None:
    """Raise ``NotMail`` unless *raw* opens with a mail header block.

    Reads the headers only: the cheap test ``ingest`` makes before it stores
    anything, so that a pipe hands back what is not mail at all (exit 65).
    """
    msg = _parse_headers(BytesParser(policy=policy.default), bytes(raw))
    if not any(str(key).lower() in MAIL_FIELDS for key in msg.keys()):
        raise NotMail("no RFC 5322 header block")


def token_candidates(
    mail: InboundMail, *, envelope_recipients: Sequence[str], from_address: str
) -> tuple[str, ...]:
    """Tokens in our plus-addresses, most trusted first, each once (anchors 6.2 #12).

    Order: the envelope RCPT TO (our own listener saw it), then Delivered-To
    and X-Original-To (the delivering mail system wrote them; they survive
    Bcc and forwarding aliases), then To and Cc (the sender's client wrote
    them).  ``from_address`` is the configured ``mail.from_address``.
    """
    addresses = [
        *envelope_recipients,
        *mail.recipients.delivered_to,
        *mail.recipients.x_original_to,
        *mail.recipients.to,
        *mail.recipients.cc,
    ]
    return _tokens(addresses, from_address)


def bounce_token_candidates(bounce: Bounce, *, from_address: str) -> tuple[str, ...]:
    """Tokens naming the invitation that bounced: its ORGANIZER, then its Reply-To.

    The DSN itself goes to the envelope sender, which carries no token; the
    returned invitation does (design.md "Mail addresses").
    """
    addresses: list[str] = []
    for part in bounce.original_parts:
        for component in part.calendar.subcomponents:
            organizer = component.get("ORGANIZER")
            if organizer is not None:
                addresses.append(str(organizer))
    addresses += bounce.original_reply_to
    return _tokens(addresses, from_address)


def _tokens(addresses: Sequence[str], from_address: str) -> tuple[str, ...]:
    found = (token_from_address(str(address), from_address) for address in addresses)
    return tuple(dict.fromkeys(token for token in found if token))


def _parse(raw: bytes) -> tuple[Message, bool]:
    """The parsed message, and whether only its headers could be read."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError("read_mail takes the raw message as bytes")
    data = bytes(raw)
    parser = BytesParser(policy=policy.default)
    too_deep = False
    try:
        msg = parser.parsebytes(data)
    except RecursionError:
        # Thousands of nested multiparts: hostile, but still a mail with
        # headers worth recording.
        too_deep = True
        msg = _parse_headers(parser, data)
    except Exception as exc:  # a parser bug; nothing more can be read
        raise NotMail(f"the message could not be parsed ({type(exc).__name__})") from exc
    if not any(str(key).lower() in MAIL_FIELDS for key in msg.keys()):
        raise NotMail("no RFC 5322 header block")
    return msg, too_deep


def _parse_headers(parser: BytesParser, data: bytes) -> Message:
    try:
        return parser.parsebytes(data, headersonly=True)
    except Exception as exc:
        raise NotMail(f"the message could not be parsed ({type(exc).__name__})") from exc


def _recipients(msg: Message) -> Recipients:
    return Recipients(
        to=mailboxes_of(msg, "to"),
        cc=mailboxes_of(msg, "cc"),
        # Exim writes Envelope-to where Postfix writes Delivered-To.
        delivered_to=mailboxes_of(msg, "delivered-to", "envelope-to"),
        x_original_to=mailboxes_of(msg, "x-original-to"),
    )


def _note_leftovers(found: Walk, *, has_calendar: bool, has_bounce: bool) -> None:
    """Notes for what a person may want to look at: other reports, TNEF, no calendar."""
    for kind in found.report_types:
        if kind != "delivery-status":
            found.problems.append(f"report of type {kind or 'unknown'} ignored")
    if found.tnef:
        # TNEF keeps the meeting as MAPI properties; there is no .ics inside.
        found.problems.append(
            "Outlook TNEF attachment (winmail.dat) ignored"
            if has_calendar
            else "Outlook TNEF attachment (winmail.dat) without iCalendar"
        )
    if not has_calendar and not has_bounce:
        found.problems.append("no calendar part")

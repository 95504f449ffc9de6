"""Delivery status notifications: which invitation could not be delivered.

Owns the reading of RFC 3464 reports (``multipart/report;
report-type=delivery-status``): the per-recipient blocks of the
``message/delivery-status`` part, and the returned original (a
``message/rfc822`` or only its ``text/rfc822-headers``), whose calendar and
Reply-To name the event and the token (CCS turns such a bounce into
SCHEDULE-STATUS 5.1, anchors 1.3).

Only ``Action: failed`` is a failure.  ``delayed`` (the MTA is still
trying), ``delivered``, ``relayed`` and ``expanded`` are noted and
otherwise ignored: nothing is to be done about them yet.
"""

from __future__ import annotations

import re
from email import message_from_string, policy
from email.message import Message

from .calendars import payload_bytes, unique_parts
from .fields import clean, mailboxes_of, message_id_of, raw_values, text_of
from .model import Bounce, CalendarPart, FailedRecipient
from .tree import Walk, walk

_BLANK_LINE = re.compile(r"\r?\n[ \t]*\r?\n")
_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
MAX_FIELD = 500


def read_bounce(found: Walk, *, max_calendar_size: int, problems: list[str]) -> Bounce | None:
    """The Bounce reported by the status parts ``found`` collected, if any failed."""
    blocks = [block for part in found.status_parts for block in _status_blocks(part)]
    failed: list[FailedRecipient] = []
    other: list[str] = []
    reporting_mta = None
    for block in blocks:
        reporting_mta = reporting_mta or _typed_value(block, "reporting-mta")
        action = _field(block, "action").lower()
        if action == "failed":
            failed.append(_failed_recipient(block))
        elif action:
            recipient = _typed_value(block, "final-recipient") or "?"
            other.append(f"{action}: {recipient}")
    if other:
        problems.append("delivery status report without a failure for " + ", ".join(other))
    if not failed:
        return None
    original = _original(found, max_calendar_size)
    return Bounce(failed=tuple(failed), reporting_mta=reporting_mta, **original)


def _status_blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status part (RFC 3464 2.1)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    # The parser left it as text (a malformed report): split the blocks here.
    data = payload_bytes(part) or b""
    text = data.decode("utf-8", "replace")
    return [
        message_from_string(chunk.strip() + "\n", policy=policy.default)
        for chunk in _BLANK_LINE.split(text)
        if chunk.strip()
    ]


def _field(block: Message, name: str) -> str:
    values = raw_values(block, name)
    return " ".join(values[0].split())[:MAX_FIELD] if values else ""


def _typed_value(block: Message, name: str) -> str | None:
    """``rfc822; c@example.com`` -> ``c@example.com`` (RFC 3464 2.2.2, 2.3.2)."""
    value = _field(block, name)
    if not value:
        return None
    _, _, rest = value.partition(";")
    text = (rest or value).strip().strip("<>").strip()
    return text.lower() if "@" in text else text or None


def _failed_recipient(block: Message) -> FailedRecipient:
    status = _STATUS.search(_field(block, "status"))
    return FailedRecipient(
        recipient=_typed_value(block, "final-recipient"),
        original_recipient=_typed_value(block, "original-recipient"),
        status=status.group(0) if status else None,
        diagnostic=_field(block, "diagnostic-code") or None,
        remote_mta=_typed_value(block, "remote-mta"),
    )


def _original(found: Walk, max_calendar_size: int) -> dict[str, object]:
    """What the returned message says about the mail that bounced."""
    headers: Message | None = None
    parts: tuple[CalendarPart, ...] = ()
    if found.returned:
        headers = found.returned[0]
        inner = walk(headers, max_calendar_size=max_calendar_size)
        parts = unique_parts(inner.parts)
    elif found.returned_headers:
        data = payload_bytes(found.returned_headers[0]) or b""
        text = clean(data.decode("utf-8", "surrogateescape"))
        headers = message_from_string(text.strip() + "\n\n", policy=policy.default)
    if headers is None:
        return {}
    return {
        "original_message_id": message_id_of(headers),
        "original_subject": text_of(headers, "subject") or None,
        "original_to": mailboxes_of(headers, "to"),
        "original_reply_to": mailboxes_of(headers, "reply-to"),
        "original_parts": parts,
    }


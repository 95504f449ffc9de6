"""Header fields of an inbound mail: addresses, identifiers, automation marks.

Owns how header values are read when the sender cannot be trusted to have
written them well: every reader here returns something (an empty value at
worst) and never raises.  Address headers are read from the raw values
with the permissive ``email.utils.getaddresses`` rather than through the
header registry, which has raised on odd input in past Python releases; the
result is a bare, lower-cased mailbox, or nothing.
"""

from __future__ import annotations

import re
from email.message import Message
from email.utils import getaddresses

from ..headers import scrub

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_MAILBOX = re.compile(r"[^@\s<>\"(),;:\\\[\]]+@[^@\s<>\"(),;:\\\[\]]+")
# RFC 3834 section 5 and what robots write without it.
_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_AUTO_FLAGS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-auto-reply")
_ROBOT_LOCALS = frozenset({"mailer-daemon"})
MAX_HEADER_TEXT = 998


def clean(text: str) -> str:
    """Text with raw 8-bit bytes (kept by ``email`` as surrogates) read as UTF-8."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return text.encode("utf-8", "replace").decode("utf-8", "replace")


def raw_values(msg: Message, name: str) -> list[str]:
    """Every value of header ``name``, unfolded but otherwise as written."""
    wanted = name.lower()
    return [
        clean(_FOLD.sub("", str(value)))
        for key, value in msg.raw_items()
        if str(key).lower() == wanted
    ]


def text_of(msg: Message, name: str) -> str:
    """The first ``name`` header decoded (RFC 2047) as one line of plain text."""
    try:
        value = msg.get(name)
        text = "" if value is None else str(value)
    except Exception:  # the header registry gave up: fall back to the raw text
        values = raw_values(msg, name)
        text = values[0] if values else ""
    return scrub(clean(text), MAX_HEADER_TEXT)


def mailboxes(values: list[str]) -> tuple[str, ...]:
    """The bare lower-cased mailboxes named in address header values."""
    try:
        pairs = getaddresses(values)
    except Exception:  # a parser bug must not lose the whole mail
        return ()
    found = []
    for _, address in pairs:
        address = address.strip().lower()
        if _MAILBOX.fullmatch(address) and address not in found:
            found.append(address)
    return tuple(found)


def mailboxes_of(msg: Message, *names: str) -> tuple[str, ...]:
    values: list[str] = []
    for name in names:
        values += raw_values(msg, name)
    return mailboxes(values)


def single_mailbox(msg: Message, name: str) -> str | None:
    """The mailbox of a header that names exactly one, else None."""
    found = mailboxes_of(msg, name)
    return found[0] if len(found) == 1 else None


def message_id_of(msg: Message, name: str = "message-id") -> str | None:
    """The ``<id@host>`` of a Message-ID header, or its raw text if it has none."""
    values = raw_values(msg, name)
    if not values:
        return None
    match = _MESSAGE_ID.search(values[0])
    if match:
        return match.group(0)
    text = scrub(values[0], MAX_HEADER_TEXT)
    return text or None


def is_automatic(msg: Message) -> bool:
    """True when the mail says a machine wrote it (RFC 3834 and common practice)."""
    for value in raw_values(msg, "auto-submitted"):
        if value.split(";")[0].strip().lower() not in ("", "no"):
            return True
    for value in raw_values(msg, "precedence"):
        if value.strip().lower() in _AUTO_PRECEDENCE:
            return True
    for name in _AUTO_FLAGS:
        if any(v.strip().lower() != "no" for v in raw_values(msg, name)):
            return True
    # A null reverse path is what MTAs and vacation programs use (RFC 5321 4.5.5).
    if any(v.strip() == "<>" for v in raw_values(msg, "return-path")):
        return True
    sender = single_mailbox(msg, "from")
    return sender is not None and sender.partition("@")[0] in _ROBOT_LOCALS


def authentication_results(msg: Message) -> tuple[str, ...]:
    """Raw Authentication-Results values (RFC 8601), topmost first, one line each."""
    return tuple(
        " ".join(value.split()) for value in raw_values(msg, "authentication-results")
    )

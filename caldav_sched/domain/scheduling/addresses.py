"""Calendar user addresses: one normal form so that comparisons are exact.

Owns the address policy of the scheduling engine (RFC 5545 §3.3.3
CAL-ADDRESS, RFC 6047 §2.2 for ``mailto:``).  Clients and mail systems write
the same person as ``MAILTO:Bob@Example.COM``, ``mailto:bob@example.com`` or a
bare ``bob@example.com``; esn-sabre #284 shows what happens when those are
compared as strings (a duplicate ATTENDEE).  Everything here is pure.

Policy: the whole address, local part included, is compared without regard
to case.  RFC 5321 lets a host treat the local part as case-sensitive, but no
mail system a calendar user meets does, and a false mismatch (a reply that is
refused) costs more than the theoretical false match.
"""

from __future__ import annotations

import re

MAILTO = "mailto:"

# Deliberately loose: one "@", something on each side, no white space.  The
# point is to tell "could be mailed" from "certainly cannot", not to validate.
_MAILBOX = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+$|^[^@\s<>\"]+@[^@\s<>\".]+$")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def normalize_address(value: object) -> str:
    """Return the comparable form of a calendar user address.

    ``mailto:`` URIs (any case of the scheme, with or without the scheme, with
    or without angle brackets) become ``mailto:`` + the lower-cased mailbox.
    Other URIs (``urn:uuid:...``, ``https:...``) only lose surrounding white
    space and get a lower-case scheme.  An empty value gives ``""``.
    """
    text = str(value or "").strip().strip("<>").strip()
    if not text:
        return ""
    scheme, sep, rest = text.partition(":")
    if sep and scheme.lower() == "mailto":
        return MAILTO + rest.strip().strip("<>").lower()
    if sep and "@" not in scheme:
        return scheme.lower() + ":" + rest
    # A bare mailbox: what mail headers and careless clients give us.
    return MAILTO + text.lower()


def same_address(left: object, right: object) -> bool:
    """True when two calendar user addresses name the same mailbox."""
    a, b = normalize_address(left), normalize_address(right)
    return bool(a) and a == b


def mailbox(value: object) -> str | None:
    """The bare mailbox of a ``mailto:`` address, or None for other URIs."""
    address = normalize_address(value)
    if not address.startswith(MAILTO):
        return None
    return address[len(MAILTO):]


def is_mailable(value: object) -> bool:
    """True when the address is a ``mailto:`` URI with a mailbox mail can reach.

    The engine marks other attendees with SCHEDULE-STATUS 3.7 (RFC 6638
    §3.2.9, invalid calendar user) instead of planning a message to them.
    Besides the loose shape above: no control characters, an ASCII local
    part (a non-ASCII one needs SMTPUTF8, which delivery does not use) and
    a domain that has an IDNA form.
    """
    box = mailbox(value)
    if box is None or not _MAILBOX.match(box) or _CONTROL.search(box):
        return False
    local, _, domain = box.partition("@")
    if not local.isascii():
        return False
    if not domain.isascii():
        try:
            domain.encode("idna")
        except UnicodeError:
            return False
    return True

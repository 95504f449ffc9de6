"""Reply tokens and the plus-addresses that carry them.

Owns the token format of design.md "Mail addresses": an external attendee
sees ``calendar+<token>@cal.example.com`` as ORGANIZER (and Reply-To), so
their client's REPLY comes back to the service, and the token says which
event and attendee the reply may speak for (anchors 1.1, 6.3 #18, #21).

Format: at least 128 random bits (the caller passes ``os.urandom(16)`` or
more; this module reads no randomness itself, so it stays pure), written as
lower-case RFC 4648 base32 without padding.  Lower case and a 32-letter
alphabet with no look-alike pairs survive every mail system we know of that
folds the case of local parts, and the result is a valid dot-atom.
Storage, revocation and binding to (UID, attendee) are the store's job.
"""

from __future__ import annotations

import base64
import re
from email.utils import getaddresses

MIN_TOKEN_BYTES = 16
# 128 bits in base32 (5 bits a letter) need 26 letters.
MIN_TOKEN_CHARS = 26
MAX_TOKEN_CHARS = 128
_TOKEN = re.compile(r"[a-z2-7]+")
# Anything a mail header or an address parser could misread.
_UNSAFE = re.compile(r"[\x00-\x20\x7f<>\"(),;:\\\[\]]")


def new_token(random_bytes: bytes) -> str:
    """A reply token from ``random_bytes`` (at least 16 of them, i.e. 128 bits)."""
    if len(random_bytes) < MIN_TOKEN_BYTES:
        raise ValueError(f"a reply token needs at least {MIN_TOKEN_BYTES} random bytes")
    return base64.b32encode(random_bytes).decode("ascii").rstrip("=").lower()


def is_token(value: str) -> bool:
    """True when ``value`` has the shape ``new_token`` produces."""
    return (
        MIN_TOKEN_CHARS <= len(value) <= MAX_TOKEN_CHARS
        and _TOKEN.fullmatch(value) is not None
    )


def token_address(from_address: str, token: str) -> str:
    """``calendar@cal.example.com`` + token -> ``calendar+<token>@cal.example.com``.

    ``from_address`` is the configured ``mail.from_address`` (a bare mailbox;
    a ``mailto:`` prefix is tolerated).  The result is a bare mailbox; put
    ``mailto:`` in front of it for iCalendar.
    """
    if not is_token(token):
        raise ValueError("not a reply token")
    local, domain = _split_mailbox(from_address)
    return f"{local}+{token}@{domain}"


def token_from_address(address: str, from_address: str) -> str | None:
    """The token in ``address`` when it is one of our plus-addresses, else None.

    ``address`` may be a bare mailbox, a ``mailto:`` URI or a header form with
    a display name (``"Cal" <calendar+tok@cal.example.com>``).  Local part
    and domain compare without regard to case (mail systems fold both), and
    the token comes back lower-cased.  Anything malformed, foreign, or with
    a token of the wrong shape gives None; this never raises.
    """
    try:
        base_local, base_domain = _split_mailbox(from_address)
    except ValueError:
        return None
    mailbox = _mailbox_of(address)
    if mailbox is None:
        return None
    local, _, domain = mailbox.rpartition("@")
    if domain.lower() != base_domain.lower():
        return None
    prefix = base_local.lower() + "+"
    if not local.lower().startswith(prefix):
        return None
    token = local[len(prefix):].lower()
    return token if is_token(token) else None


def _mailbox_of(address: str) -> str | None:
    """The bare mailbox in a header value or ``mailto:`` URI, None if unclear."""
    if not isinstance(address, str) or re.search(r"[\r\n\x00]", address):
        return None
    text = address.strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    found = getaddresses([text])
    if len(found) != 1:  # a list of addresses is not "an address"
        return None
    mailbox = found[0][1]
    if mailbox.count("@") != 1 or _UNSAFE.search(mailbox):
        return None
    local, _, domain = mailbox.partition("@")
    return mailbox if local and domain else None


def _split_mailbox(address: str) -> tuple[str, str]:
    mailbox = _mailbox_of(address)
    if mailbox is None:
        raise ValueError(f"not a mailbox: {address!r}")
    local, _, domain = mailbox.partition("@")
    return local, domain

"""The RSVP form's protection against forged posts, without cookies.

Each page carries a nonce: the time it was made and an HMAC-SHA256 over the
reply token and that time, keyed with the server's form secret (kept in the
database, so every process and restart agrees).  A POST is taken only with
a nonce made for the same token, not older than ``NONCE_LIFETIME`` and not
from the future.  A site that wants to post for someone cannot make one
without the secret; a mail scanner that only follows links never posts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

NONCE_LIFETIME = 24 * 3600  # a page left open over night still answers
CLOCK_SKEW = 60


def _mac(secret: bytes, token: str, issued: int) -> str:
    digest = hmac.new(secret, f"rsvp|{token}|{issued}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def make_nonce(secret: bytes, token: str, now: int) -> str:
    """``<issued>.<mac>`` for a page about *token* shown at *now* (Unix seconds)."""
    return f"{now}.{_mac(secret, token, now)}"


def check_nonce(secret: bytes, token: str, nonce: str, now: int) -> bool:
    """True when *nonce* was made by ``make_nonce`` for *token* and is still fresh."""
    issued_text, dot, mac = (nonce or "").partition(".")
    if not dot or not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    if not now - NONCE_LIFETIME <= issued <= now + CLOCK_SKEW:
        return False
    return hmac.compare_digest(mac, _mac(secret, token, issued))

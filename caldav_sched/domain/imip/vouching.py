"""Whether the receiving mail system vouches for a message's sender.

Pure.  An invitation from outside (an iMIP REQUEST or CANCEL to a local
user) is taken only when a trusted host of ours added an
``Authentication-Results`` header (RFC 8601) saying the From domain passed
DMARC, or passed DKIM with a signature of that same domain.  Headers from
any other authserv-id are ignored: anyone can write one into a message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_RESULT = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*([a-z]+)", re.IGNORECASE)
_PROP = re.compile(r"\b(header\.from|header\.d|header\.i|smtp\.mailfrom)\s*=\s*([^\s;]+)", re.I)


@dataclass(frozen=True)
class Vouching:
    vouched: bool
    reason: str


def _authserv_id(header: str) -> str:
    return header.split(";", 1)[0].strip().split()[0].lower() if header.strip() else ""


def _domain(value: str) -> str:
    return value.strip().strip("<>\"").rpartition("@")[2].lower()


def sender_vouched(
    headers: Sequence[str], *, trusted_hosts: Sequence[str], sender: str | None
) -> Vouching:
    """Does a trusted Authentication-Results header vouch for *sender*'s domain?"""
    if not sender:
        return Vouching(False, "the message has no single From address")
    trusted = {host.lower() for host in trusted_hosts}
    if not trusted:
        return Vouching(False, "no trusted Authentication-Results host is configured")
    domain = _domain(sender)
    seen = False
    for header in headers:
        if _authserv_id(header) not in trusted:
            continue
        seen = True
        for clause in header.split(";")[1:]:
            result = _RESULT.search(clause)
            if result is None or result.group(2).lower() != "pass":
                continue
            props = {k.lower(): _domain(v) for k, v in _PROP.findall(clause)}
            method = result.group(1).lower()
            if method == "dmarc" and props.get("header.from", domain) == domain:
                return Vouching(True, f"DMARC pass for {domain}")
            if method == "dkim" and domain in (props.get("header.d"), props.get("header.i")):
                return Vouching(True, f"DKIM pass for {domain}")
    if not seen:
        return Vouching(False, "no Authentication-Results header from a trusted host")
    return Vouching(False, f"the trusted host did not authenticate {domain} (no DMARC or DKIM pass)")

"""Participation status values: canonical spellings and what they mean.

Owns the PARTSTAT vocabulary (RFC 5545 §3.2.12).  Two things are lenient on
input and strict on output:

* the walkthrough's spellings ``ATTENDING``, ``NEED-ACTION`` and
  ``NOT-ATTENDING`` (and any case of the standard ones) are read as
  ACCEPTED, NEEDS-ACTION and DECLINED;
* any other value is kept verbatim in the stored data (RFC 5545 allows
  x-name and iana-token values) but *treated* as NEEDS-ACTION, which is what
  §3.2.12 asks of a recipient that does not know it.
"""

from __future__ import annotations

NEEDS_ACTION = "NEEDS-ACTION"
ACCEPTED = "ACCEPTED"
DECLINED = "DECLINED"
TENTATIVE = "TENTATIVE"
DELEGATED = "DELEGATED"
COMPLETED = "COMPLETED"
IN_PROCESS = "IN-PROCESS"

STANDARD = frozenset({NEEDS_ACTION, ACCEPTED, DECLINED, TENTATIVE, DELEGATED, COMPLETED, IN_PROCESS})

# Spellings seen in the seed walkthrough (design.md, "Standards").
ALIASES = {
    "ATTENDING": ACCEPTED,
    "NEED-ACTION": NEEDS_ACTION,
    "NEEDS_ACTION": NEEDS_ACTION,
    "NOT-ATTENDING": DECLINED,
}


def canonical_partstat(value: object) -> str:
    """The value to store: standard or alias -> RFC spelling, else verbatim.

    A missing value is NEEDS-ACTION (the RFC 5545 default).
    """
    text = str(value or "").strip()
    if not text:
        return NEEDS_ACTION
    upper = text.upper()
    if upper in STANDARD:
        return upper
    return ALIASES.get(upper, text)


def effective_partstat(value: object) -> str:
    """The value to act on: always one of the RFC 5545 values.

    Unknown values count as NEEDS-ACTION (RFC 5545 §3.2.12).  Outbound iTIP
    messages carry this form, so a recipient never sees a value it must guess.
    """
    canonical = canonical_partstat(value)
    return canonical if canonical in STANDARD else NEEDS_ACTION

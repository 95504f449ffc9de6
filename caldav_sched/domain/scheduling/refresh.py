"""REFRESH: an attendee asks for the current version of the event.

Owns RFC 5546 §3.2.6: the answer is the REQUEST that attendee would get now
(their instances, current SEQUENCE, fresh DTSTAMP), or a refusal when the
REFRESH does not come from an attendee of this event.  Nothing is stored.
"""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar

from .components import as_utc, organizer_of
from .identity import check_incoming
from .messages import build_request
from .model import ItipMessage, RefusalCode, ReplyRefused


def answer_refresh(
    stored: Calendar | None,
    refresh: Calendar,
    *,
    attendee: str | None = None,
    now: datetime,
    accept_alias: bool = True,
) -> ItipMessage | ReplyRefused:
    """The REQUEST that answers ``refresh`` (``attendee`` as in ``apply_reply``)."""
    who = check_incoming(stored, refresh, "REFRESH", attendee, accept_alias=accept_alias)
    if isinstance(who, ReplyRefused):
        return who
    assert stored is not None
    message = build_request(
        stored, who.address, now=as_utc(now), reason=f"REFRESH requested by {who.address}",
        sender=organizer_of(stored) or "",
    )
    if message is None:  # in the event, but in no component: cannot happen after the check
        return ReplyRefused(RefusalCode.NOT_ATTENDEE, f"{who.address} is not an attendee",
                            None, who.address)
    return message

"""RFC 6638 §5 free-busy lookups through the scheduling outbox, as plain data.

Pure: reads the VFREEBUSY REQUEST a client POSTs (organizer, attendees,
range) and builds each attendee's VFREEBUSY REPLY from their busy periods.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

import icalendar

from caldav_sched.domain.freebusy import BusyPeriod, freebusy_calendar
from caldav_sched.domain.query import TimeRange
from caldav_sched.domain.scheduling import normalize_address
from caldav_sched.errors import CaldavSchedError


class InvalidFreeBusyRequest(CaldavSchedError):
    """The POST is not a VFREEBUSY REQUEST this server can answer."""


@dataclass(frozen=True)
class FreeBusyRequest:
    organizer: str
    attendees: tuple[str, ...]
    range: TimeRange
    uid: str | None


def _utc(value: object) -> datetime:
    moment = getattr(value, "dt", value)
    if not isinstance(moment, datetime):
        raise InvalidFreeBusyRequest("DTSTART and DTEND must be date-times")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def read_request(cal: icalendar.Calendar) -> FreeBusyRequest:
    if str(cal.get("METHOD", "")).upper() != "REQUEST":
        raise InvalidFreeBusyRequest("only METHOD:REQUEST is answered through the outbox")
    freebusy = [c for c in cal.subcomponents if c.name == "VFREEBUSY"]
    if len(freebusy) != 1:
        raise InvalidFreeBusyRequest("the request must hold exactly one VFREEBUSY")
    (fb,) = freebusy
    organizer = fb.get("ORGANIZER")
    attendees = fb.get("ATTENDEE", [])
    attendees = attendees if isinstance(attendees, list) else [attendees]
    if organizer is None or not attendees:
        raise InvalidFreeBusyRequest("a VFREEBUSY request names an ORGANIZER and ATTENDEEs")
    if "DTSTART" not in fb or "DTEND" not in fb:
        raise InvalidFreeBusyRequest("a VFREEBUSY request needs DTSTART and DTEND")
    start, end = _utc(fb["DTSTART"]), _utc(fb["DTEND"])
    if end <= start:
        raise InvalidFreeBusyRequest("DTEND must be after DTSTART")
    return FreeBusyRequest(
        organizer=normalize_address(organizer),
        attendees=tuple(dict.fromkeys(normalize_address(a) for a in attendees)),
        range=TimeRange(start, end),
        uid=str(fb["UID"]) if "UID" in fb else None,
    )


def freebusy_reply(
    request: FreeBusyRequest, attendee: str, periods: Iterable[BusyPeriod], *, now: datetime
) -> bytes:
    """The attendee's VFREEBUSY REPLY (RFC 5546 §3.3.3)."""
    body = freebusy_calendar(
        periods, request.range, now=now, organizer=request.organizer, attendee=attendee,
        uid=request.uid,
    )
    cal = icalendar.Calendar.from_ical(body)
    cal.add("METHOD", "REPLY")
    return cal.to_ical()

"""Reading a calendar object resource as clients send it.

Pure: no I/O.  ``parse_object`` takes a PUT body and returns the parsed
calendar, its UID and component type, and the exact bytes to store.  Lenient
on input (white space around BEGIN/END values, any case of property names,
stray marker lines before BEGIN:VCALENDAR, bare LF line ends, a METHOD that
has no place in a stored object), strict on output: what is stored is valid
iCalendar with CRLF line ends.  When the body needed no repair its octets are
kept as they are, so a client reads back what it wrote.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import icalendar

from caldav_sched.errors import CaldavSchedError, InvalidCalendarData

PRODID = "-//caldav_sched//caldav_sched//EN"
OBJECT_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY")

_BEGIN_END = re.compile(r"^\s*(BEGIN|END)\s*:\s*([A-Za-z0-9-]+)\s*$", re.IGNORECASE)
_CONTENT_LINE = re.compile(r"^[A-Za-z0-9-]+[;:]")


class InvalidObjectResource(CaldavSchedError):
    """A calendar object resource holds one UID and one type of component."""


@dataclass(frozen=True)
class CalendarObject:
    """A calendar object resource ready to be stored."""

    calendar: icalendar.Calendar
    uid: str
    component: str
    data: bytes


def etag_for(data: bytes) -> str:
    """A strong entity tag: it changes whenever the stored octets change."""
    return '"' + hashlib.blake2b(data, digest_size=10).hexdigest() + '"'


def _normalise_text(text: str) -> tuple[str, bool]:
    """Repair what clients and hand-written bodies get wrong; report if anything changed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    started = ended = False
    for line in lines:
        match = _BEGIN_END.match(line)
        if match:
            line = f"{match.group(1).upper()}:{match.group(2).upper()}"
        if not started:
            if line == "BEGIN:VCALENDAR":
                started = True
            else:
                # File-name markers and blank lines ahead of the calendar.
                continue
        elif ended:
            if line.strip():
                raise InvalidCalendarData("data after END:VCALENDAR")
            continue
        if line == "END:VCALENDAR":
            ended = True
        if not line:
            continue
        if line[0] not in " \t" and not _CONTENT_LINE.match(line):
            raise InvalidCalendarData(f"not an iCalendar content line: {line[:60]!r}")
        out.append(line)
    if not started:
        raise InvalidCalendarData("no BEGIN:VCALENDAR")
    if not ended:
        raise InvalidCalendarData("no END:VCALENDAR")
    fixed = "\r\n".join(out) + "\r\n"
    return fixed, fixed != text


def _first_error(cal: icalendar.Calendar) -> str | None:
    for component in cal.walk():
        for prop, message in component.errors:
            return f"{component.name} {prop or ''}: {message}".replace("  ", " ")
    return None


def parse_calendar(data: bytes | str) -> icalendar.Calendar:
    """Parse iCalendar text leniently, refusing what cannot be understood."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidCalendarData("iCalendar data must be UTF-8") from exc
    else:
        text = data
    fixed, _ = _normalise_text(text)
    return _parse_text(fixed)


def _parse_text(text: str) -> icalendar.Calendar:
    try:
        cal = icalendar.Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise InvalidCalendarData(f"cannot parse iCalendar data: {exc}".split("\n")[0]) from exc
    if not isinstance(cal, icalendar.Calendar) or cal.name != "VCALENDAR":
        raise InvalidCalendarData("the top-level component is not VCALENDAR")
    error = _first_error(cal)
    if error:
        raise InvalidCalendarData(f"invalid iCalendar data: {error}")
    return cal


def _check_resource(cal: icalendar.Calendar) -> tuple[str, str]:
    """RFC 4791 section 4.1: one UID, one component type, at most one master."""
    kinds = {c.name for c in cal.subcomponents if c.name != "VTIMEZONE"}
    if not kinds:
        raise InvalidObjectResource("the calendar holds no event, task or journal")
    if len(kinds) > 1:
        raise InvalidObjectResource(
            f"one component type per resource, found {', '.join(sorted(kinds))}"
        )
    (kind,) = kinds
    if kind not in OBJECT_COMPONENTS:
        raise InvalidObjectResource(f"{kind} cannot be stored as a calendar object")
    uids = set()
    masters = 0
    for component in cal.subcomponents:
        if component.name == "VTIMEZONE":
            continue
        uid = component.get("UID")
        if uid is None or not str(uid).strip():
            raise InvalidObjectResource(f"a {kind} without UID")
        uids.add(str(uid))
        if "RECURRENCE-ID" not in component:
            masters += 1
    if len(uids) > 1:
        raise InvalidObjectResource("all components of a resource must share one UID")
    if masters > 1:
        raise InvalidObjectResource(f"more than one {kind} without RECURRENCE-ID")
    if kind == "VEVENT":
        for component in cal.subcomponents:
            if component.name == "VEVENT" and "DTSTART" not in component:
                raise InvalidCalendarData("VEVENT without DTSTART")
    return uids.pop(), kind


def parse_object(body: bytes) -> CalendarObject:
    """Validate a PUT body and decide the octets to store."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidCalendarData("iCalendar data must be UTF-8") from exc
    fixed, repaired = _normalise_text(text)
    cal = _parse_text(fixed)
    uid, kind = _check_resource(cal)
    rewrite = repaired
    # RFC 4791 4.1: no METHOD in a stored object; clients still send PUBLISH.
    if "METHOD" in cal:
        del cal["METHOD"]
        rewrite = True
    if str(cal.get("VERSION", "")) != "2.0":
        cal["VERSION"] = "2.0"
        rewrite = True
    if "PRODID" not in cal:
        cal.add("PRODID", PRODID)
        rewrite = True
    # Without a TZID parameter no time zone can be missing (the walk is not free).
    if "TZID=" in fixed.upper() and cal.get_missing_tzids():
        try:
            cal.add_missing_timezones()
        except Exception as exc:  # an unknown TZID with no VTIMEZONE
            raise InvalidCalendarData(f"time zone without VTIMEZONE: {exc}") from exc
        rewrite = True
    data = serialise(cal) if rewrite else fixed.encode("utf-8")
    return CalendarObject(calendar=cal, uid=uid, component=kind, data=data)


def serialise(cal: icalendar.Calendar) -> bytes:
    return cal.to_ical()

"""Access to the parts of a scheduling object that the iTIP rules read and write.

Owns: finding the schedulable components (VEVENT/VTODO) of one UID, their
ORGANIZER and ATTENDEE lines, SEQUENCE and DTSTAMP, the names of the
server's own bookkeeping parameters, and a small text-to-Calendar helper for
tests and tools.  No rules live here, only access.  Inputs are
``icalendar.Calendar`` objects the CalDAV layer has parsed and validated (one
UID per object, RFC 4791 §4.1).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime

from icalendar import Calendar, vCalAddress
from icalendar.cal import Component

from .addresses import normalize_address

SCHEDULABLE = ("VEVENT", "VTODO")

# Parameters of RFC 6638 that only make sense between a client and its server
# (§7.1-7.3): they are never put into an iTIP message.
SCHEDULE_AGENT = "SCHEDULE-AGENT"
SCHEDULE_STATUS = "SCHEDULE-STATUS"
SCHEDULE_FORCE_SEND = "SCHEDULE-FORCE-SEND"

# The server's own bookkeeping, kept as parameters on the ATTENDEE line of the
# organizer copy so that the engine stays a pure function of the stored data.
BOOKKEEPING_PREFIX = "X-CALDAV-SCHED-"
REPLY_SEQ = "X-CALDAV-SCHED-REPLY-SEQ"  # SEQUENCE of the last applied reply
REPLY_STAMP = "X-CALDAV-SCHED-REPLY-STAMP"  # its DTSTAMP, UTC basic format
REPLY_FROM = "X-CALDAV-SCHED-REPLY-FROM"  # the address the reply really named (alias)
REPLY_SENT_BY = "X-CALDAV-SCHED-REPLY-SENT-BY"  # SENT-BY of the last reply
# An attendee's COMMENT from a reply, as a component property keyed by attendee.
ATTENDEE_COMMENT = "X-CALDAV-SCHED-ATTENDEE-COMMENT"
COMMENT_ATTENDEE = "X-CALDAV-SCHED-ATTENDEE"

_LOOSE_BEGIN_END = re.compile(rb"^(BEGIN|END)\s*:\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)


def parse_calendar(text: str | bytes) -> Calendar:
    """Parse iCalendar text (for tests and tools; the DAV layer has its own).

    Tolerates white space around BEGIN/END values, as in the seed
    walkthrough.  Everything else is left to ``icalendar``.
    """
    data = text.encode() if isinstance(text, str) else text
    data = _LOOSE_BEGIN_END.sub(lambda m: m.group(1).upper() + b":" + m.group(2).upper(), data)
    return Calendar.from_ical(data.strip())


def clone(cal: Calendar) -> Calendar:
    """A deep copy: the engine never edits its inputs.

    VTIMEZONE components are the exception: nothing in the server edits
    one, and the parser shares one parsed zone among all calendars that
    carry its text, so the copy shares them too (a zone is about half of a
    zoned event's properties).
    """
    shared = {id(zone): zone for zone in cal.subcomponents if zone.name == "VTIMEZONE"}
    return copy.deepcopy(cal, shared)


def schedulable(cal: Calendar) -> list[Component]:
    """The VEVENT/VTODO components of the object, master first as stored."""
    return [c for c in cal.subcomponents if c.name in SCHEDULABLE]


def uid_of(cal: Calendar | None) -> str | None:
    """The UID shared by the object's components, or None."""
    for comp in schedulable(cal) if cal is not None else ():
        if comp.get("UID") is not None:
            return str(comp["UID"])
    return None


def method_of(cal: Calendar) -> str:
    """METHOD, upper-cased (clients send ``METHOD:Reply``; CCS sanitizeCalendar)."""
    return str(cal.get("METHOD") or "").strip().upper()


def attendee_lines(comp: Component) -> list[vCalAddress]:
    """The ATTENDEE properties of a component, always as a list."""
    value = comp.get("ATTENDEE")
    if value is None:
        return []
    lines = value if isinstance(value, list) else [value]
    return [line if isinstance(line, vCalAddress) else vCalAddress(str(line)) for line in lines]


def set_attendee_lines(comp: Component, lines: Iterable[vCalAddress]) -> None:
    """Replace the ATTENDEE properties of a component, keeping their order."""
    comp.pop("ATTENDEE", None)
    for line in lines:
        comp.add("ATTENDEE", line, encode=False)


def find_attendee(comp: Component, address: str) -> vCalAddress | None:
    """The ATTENDEE line of ``address`` (compared normalised), or None."""
    wanted = normalize_address(address)
    for line in attendee_lines(comp):
        if normalize_address(line) == wanted:
            return line
    return None


def organizer_line(cal_or_comp: Calendar | Component) -> vCalAddress | None:
    """The first ORGANIZER property found (components agree on it)."""
    comps = [cal_or_comp] if cal_or_comp.name in SCHEDULABLE else schedulable(cal_or_comp)
    for comp in comps:
        value = comp.get("ORGANIZER")
        if value is not None:
            return value if isinstance(value, vCalAddress) else vCalAddress(str(value))
    return None


def organizer_of(cal: Calendar | None) -> str | None:
    """The normalised ORGANIZER address of the object, or None."""
    line = organizer_line(cal) if cal is not None else None
    return normalize_address(line) or None if line is not None else None


def param(line: vCalAddress, name: str) -> str | None:
    """A parameter value as text (lists joined), or None; names are caseless."""
    value = line.params.get(name)
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def schedule_agent(line: vCalAddress) -> str:
    """SCHEDULE-AGENT of a line, SERVER when absent (RFC 6638 §7.1)."""
    return (param(line, SCHEDULE_AGENT) or "SERVER").strip().upper()


def server_schedules(line: vCalAddress) -> bool:
    """True when the server must do the scheduling for this line.

    RFC 6638 §7.1: CLIENT and NONE mean the server sends nothing, and an
    unknown value must be treated like NONE.
    """
    return schedule_agent(line) == "SERVER"


def sequence_of(comp: Component | None) -> int:
    """SEQUENCE of a component, 0 when absent or unreadable (RFC 5545 §3.8.7.4)."""
    if comp is None:
        return 0
    try:
        return int(str(comp.get("SEQUENCE", 0)).strip() or 0)
    except ValueError:
        return 0


def dtstamp_of(comp: Component) -> datetime | None:
    """DTSTAMP as an aware UTC datetime, or None when absent."""
    prop = comp.get("DTSTAMP")
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one is read as UTC (the engine's clock is UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ``, the form used in bookkeeping parameters."""
    return as_utc(value).strftime("%Y%m%dT%H%M%SZ")


def parse_utc(text: str | None) -> datetime | None:
    """Inverse of :func:`format_utc`; None for anything unreadable."""
    try:
        return datetime.strptime(str(text), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def walk_lines(comp: Component) -> Iterator[vCalAddress]:
    """The ORGANIZER and ATTENDEE lines of a component."""
    organizer = comp.get("ORGANIZER")
    if isinstance(organizer, vCalAddress):
        yield organizer
    yield from attendee_lines(comp)


def drop_params(line: vCalAddress, names: Iterable[str] = (), *, bookkeeping: bool = False) -> None:
    """Remove parameters from a line in place (and, optionally, all bookkeeping)."""
    doomed = {n.upper() for n in names}
    for key in list(line.params):
        upper = key.upper()
        if upper in doomed or (bookkeeping and upper.startswith(BOOKKEEPING_PREFIX)):
            del line.params[key]

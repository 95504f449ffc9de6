"""Builders shared by the query tests: iCalendar text, UTC instants, filters."""

from __future__ import annotations

from datetime import datetime, timezone

from icalendar import Calendar

from caldav_sched.domain.query import CompFilter, PropFilter, TimeRange

UTC = timezone.utc

BERLIN_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""


def ics(*components: str, timezones: str = "") -> str:
    """A VCALENDAR around component blocks (each written without BEGIN:VCALENDAR)."""
    body = "".join(c if c.endswith("\n") else c + "\n" for c in components)
    text = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//query//EN\n" + timezones + body + "END:VCALENDAR\n"
    return text.replace("\n", "\r\n")


def cal(*components: str, timezones: str = "") -> Calendar:
    return Calendar.from_ical(ics(*components, timezones=timezones))


def component(name: str, *lines: str, uid: str = "uid-1", subcomponents: str = "") -> str:
    inner = "\n".join((f"UID:{uid}", "DTSTAMP:20240101T000000Z", *lines))
    return f"BEGIN:{name}\n{inner}\n{subcomponents}END:{name}\n"


def event(*lines: str, uid: str = "uid-1", alarms: str = "") -> str:
    return component("VEVENT", *lines, uid=uid, subcomponents=alarms)


def todo(*lines: str, uid: str = "uid-1", alarms: str = "") -> str:
    return component("VTODO", *lines, uid=uid, subcomponents=alarms)


def alarm(*lines: str) -> str:
    return "BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:ping\n" + "\n".join(lines) + "\nEND:VALARM\n"


def utc(text: str | None) -> datetime | None:
    """20240105T100000Z -> aware UTC datetime; None stays None."""
    if text is None:
        return None
    return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def rng(start: str | None, end: str | None) -> TimeRange:
    return TimeRange(utc(start), utc(end))


def in_range(name: str, start: str | None, end: str | None, *props: PropFilter) -> CompFilter:
    """VCALENDAR > name with a time-range (and optional prop-filters)."""
    return CompFilter("VCALENDAR", comp_filters=(CompFilter(name, time_range=rng(start, end), prop_filters=props),))


def index_admits(span: tuple[int | None, int | None], time_range: TimeRange) -> bool:
    """The store's predicate: (lo IS NULL OR lo < end) AND (hi IS NULL OR hi > start)."""
    lo, hi = span
    end = time_range.end.timestamp() if time_range.end is not None else None
    start = time_range.start.timestamp() if time_range.start is not None else None
    return (lo is None or end is None or lo < end) and (hi is None or start is None or hi > start)

"""Free-busy time: busy periods from stored objects, and the VFREEBUSY reply.

Layer: domain (pure).  Imports the standard library, ``icalendar`` and the
sibling ``timespan``/``query`` modules; never aiohttp, sqlite or
``caldav_sched.dav``.  No clock reads: DTSTAMP is the ``now`` passed in.

RFC 4791 7.10 says which components count: VEVENTs that are not
TRANSP:TRANSPARENT and not STATUS:CANCELLED (TENTATIVE ones are
BUSY-TENTATIVE, the rest BUSY), and the FREEBUSY periods of stored
VFREEBUSY components other than FBTYPE=FREE.  The same code serves the
free-busy-query REPORT and scheduling outbox requests (RFC 6638).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import TypeVar

from icalendar import Calendar, Component, FreeBusy

from caldav_sched.domain.query import TimeRange, instance_overlaps
from caldav_sched.domain.timespan import UTC, group_series, property_values, to_utc

BUSY = "BUSY"
BUSY_TENTATIVE = "BUSY-TENTATIVE"
BUSY_UNAVAILABLE = "BUSY-UNAVAILABLE"
FREE = "FREE"

#: The PRODID of generated free-busy objects unless the caller names one.
DEFAULT_PRODID = "-//caldav_sched//free-busy//EN"

BusyPeriod = tuple[datetime, datetime, str]
Moment = TypeVar("Moment", datetime, int)


def busy_periods(
    cals: Iterable[Calendar], rng: TimeRange, *, tz: tzinfo | None = None
) -> list[BusyPeriod]:
    """Busy time within ``rng`` as sorted, per-type coalesced (start, end, FBTYPE) in UTC.

    ``rng`` needs both bounds (RFC 4791 7.8).  Periods are clipped to the
    range; zero-length events make no busy time.  Floating and all-day
    values are read in ``tz`` (the calendar-timezone), else UTC.
    """
    if rng.start is None or rng.end is None:
        raise ValueError("free-busy needs a time-range with start and end")
    found: list[BusyPeriod] = []
    for cal in cals:
        found.extend(_event_periods(cal, rng, tz))
        found.extend(_freebusy_component_periods(cal, rng, tz))
    return coalesce(found)


def _event_periods(cal: Calendar, rng: TimeRange, tz: tzinfo | None) -> Iterable[BusyPeriod]:
    for series in group_series(cal, ("VEVENT",)):
        for instance in series.instances(rng.start, rng.end):
            fbtype = event_fbtype(instance.component)
            if fbtype is None or instance.start is None or instance.end is None:
                continue
            if not instance_overlaps(instance, rng, tz):
                continue
            clipped = _clip(to_utc(instance.start, tz), to_utc(instance.end, tz), rng)
            if clipped is not None:
                yield (*clipped, fbtype)


def event_fbtype(event: Component) -> str | None:
    """RFC 4791 7.10: which FBTYPE an event's instance adds, or None when it adds none."""
    transp = str(event.get("TRANSP", "OPAQUE")).strip().upper()
    status = str(event.get("STATUS", "")).strip().upper()
    if transp == "TRANSPARENT" or status == "CANCELLED":
        return None
    return BUSY_TENTATIVE if status == "TENTATIVE" else BUSY


def _freebusy_component_periods(cal: Calendar, rng: TimeRange, tz: tzinfo | None) -> Iterable[BusyPeriod]:
    for component in cal.subcomponents:
        if component.name != "VFREEBUSY":
            continue
        for prop in freebusy_properties(component):
            # RFC 5545 3.2.9: an unknown FBTYPE is to be read as BUSY.
            fbtype = str(prop.params.get("FBTYPE", BUSY)).strip().upper()
            if fbtype == FREE:
                continue
            if fbtype not in (BUSY, BUSY_TENTATIVE, BUSY_UNAVAILABLE):
                fbtype = BUSY
            clipped = _clip(to_utc(prop.start, tz), to_utc(prop.end, tz), rng)
            if clipped is not None:
                yield (*clipped, fbtype)


def freebusy_properties(component: Component) -> list:
    """Every FREEBUSY period; icalendar gives each its own vPeriod with the line's params."""
    found: list = []
    for value in property_values(component, "FREEBUSY"):
        found.extend(value if isinstance(value, list) else [value])
    return found


def _clip(first: datetime, last: datetime, rng: TimeRange) -> tuple[datetime, datetime] | None:
    assert rng.start is not None and rng.end is not None
    first, last = max(first, rng.start), min(last, rng.end)
    return (first, last) if first < last else None


def coalesce(periods: Iterable[tuple[Moment, Moment, str]]) -> list[tuple[Moment, Moment, str]]:
    """Merge overlapping or touching periods of the same FBTYPE; sort by start.

    The bounds are datetimes, or UTC seconds (the time table's busy rows).
    """
    by_type: dict[str, list[tuple[Moment, Moment]]] = {}
    for first, last, fbtype in periods:
        by_type.setdefault(fbtype, []).append((first, last))
    merged: list[tuple[Moment, Moment, str]] = []
    for fbtype, spans in by_type.items():
        spans.sort()
        current_first, current_last = spans[0]
        for first, last in spans[1:]:
            if first <= current_last:
                current_last = max(current_last, last)
            else:
                merged.append((current_first, current_last, fbtype))
                current_first, current_last = first, last
        merged.append((current_first, current_last, fbtype))
    merged.sort(key=lambda p: (p[0], p[1], p[2]))
    return merged


def freebusy_calendar(
    periods: Iterable[BusyPeriod],
    rng: TimeRange,
    *,
    now: datetime,
    organizer: str | None = None,
    attendee: str | None = None,
    uid: str | None = None,
    prodid: str = DEFAULT_PRODID,
) -> bytes:
    """A VCALENDAR with one VFREEBUSY covering ``rng`` (RFC 4791 7.8, RFC 5545 3.6.4).

    DTSTAMP is ``now``; DTSTART/DTEND are the range; one FREEBUSY line per
    period, in UTC, with its FBTYPE.  ORGANIZER, ATTENDEE and UID are added
    when given (scheduling replies need them, the REPORT does not).
    """
    if rng.start is None or rng.end is None:
        raise ValueError("a VFREEBUSY needs a time-range with start and end")
    cal = Calendar()
    cal.add("VERSION", "2.0")
    cal.add("PRODID", prodid)
    fb = FreeBusy()
    if uid is not None:
        fb.add("UID", uid)
    fb.add("DTSTAMP", now.astimezone(UTC))
    fb.add("DTSTART", rng.start.astimezone(UTC))
    fb.add("DTEND", rng.end.astimezone(UTC))
    if organizer is not None:
        fb.add("ORGANIZER", organizer)
    if attendee is not None:
        fb.add("ATTENDEE", attendee)
    cal.add_component(fb)
    # The FREEBUSY lines are written as text: a month of busy time is hundreds
    # of periods, and icalendar's property objects cost about 40 us each.
    # Every value is a UTC period and FBTYPE one of this module's tokens, so the line
    # needs no escaping and stays under 75 octets.
    lines = "".join(
        f"FREEBUSY;FBTYPE={fbtype}:{first.astimezone(UTC):%Y%m%dT%H%M%SZ}/"
        f"{last.astimezone(UTC):%Y%m%dT%H%M%SZ}\r\n"
        for first, last, fbtype in periods
    )
    text = cal.to_ical(sorted=False)
    end = text.rindex(b"END:VFREEBUSY\r\n")
    return text[:end] + lines.encode("ascii") + text[end:]

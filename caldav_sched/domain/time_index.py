"""The time index of a calendar object: time-range filters decided without parsing.

Layer: domain (pure).  Imports the standard library, ``icalendar`` and the
sibling ``timespan``/``query`` modules; no clock reads (``now`` is passed in).

Every row of the table in RFC 4791 9.9 is a condition on the range's start
AND a condition on its end (``domain.query.instance_test``).  With whole
seconds, each condition is one comparison, so an instance whose values are
in UTC or a named zone becomes two numbers ``(starts_at, ends_at)``: it is
in a range exactly when ``range.start < ends_at AND range.end > starts_at``.
The store keeps one row per instance (:class:`InstanceRow`) in a table
indexed by time, so a query reads the instances in its range and not every
object that might have one (CalendarServer's TIME_RANGE table).

Values without a zone (DATE, floating DATE-TIME) mean a different moment in
each calendar-timezone: such an instance keeps its wall-clock seconds and
its 9.9 rule (``code``), and its ``starts_at``/``ends_at`` are widened by a
day, further than any zone's offset from UTC, so that the store's scan finds
it from every zone; :func:`zone_less_in_range` then reads it in the query's
zone.  Rows that last longer than :data:`LONG` are marked, so that the scan
of short ones can start :data:`LONG` before the range instead of at the
beginning of time.

A series without end is kept up to a horizon, half a year past the later
of now and its start (so is a COUNT series whose last instance the stored
span could not tell: too many, or too sparse to walk to); a series that began more than half a year ago is kept
from half a year back (CalendarServer's expand-ahead window and lower
limit).  A query that ends later, or starts earlier, has the object parsed
and kept that far (``time_index(..., until=..., since=...)``).  The
rows of a series are exact instances either way: a row found in a range is
an instance in it, whatever the bounds.  Each row of a VEVENT carries its
busy type (RFC 4791 7.10), so free-busy reads the same rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import NamedTuple

from icalendar import Calendar, Component

from caldav_sched.domain.freebusy import (
    BUSY,
    BUSY_TENTATIVE,
    BUSY_UNAVAILABLE,
    BusyPeriod,
    coalesce,
)
from caldav_sched.domain.freebusy import event_fbtype, freebusy_properties
from caldav_sched.domain.query import (
    ALWAYS,
    EVENT,
    FREEBUSY,
    POINT,
    SPAN,
    TODO_COMPLETED,
    TODO_CREATED,
    TODO_CREATED_COMPLETED,
    TODO_DUE,
    TODO_DURATION,
    TODO_START_DUE,
    InstanceTest,
    TimeRange,
    instance_test,
)
from caldav_sched.domain.timespan import (
    RECURRING_COMPONENTS,
    UTC,
    anchor,
    date_value,
    group_series,
    is_floating,
    is_recurring,
    object_span,
    property_values,
    surely_more_than,
    to_utc,
)

#: An end that no range reaches; also "the index decides every range".
BEYOND = 2**62
#: ``until`` of an object whose instances cannot be indexed (too many, or odd
#: values): queries parse it and do not try again until it is written anew.
NOT_INDEXED = -(2**62)

#: How far past now (or past its start, if later) a series without end is
#: kept, and how far before now a series that began earlier is kept.  Every
#: instance is a row written with the object, and in a large calendar each
#: row is a page of the database to write (a weekly meeting: 26 rows a half
#: year; an edit or a reply rewrites them all); the views people open most
#: lie within a few months of now, and one further out keeps the series
#: further once (``until``/``since``).
HORIZON = timedelta(days=183)
LOWER_LIMIT = timedelta(days=183)
#: ``since`` that asks for every instance from the first (a range without start).
EARLIEST = datetime(1, 1, 2, tzinfo=timezone.utc)
#: The most instances one object may keep in its index.
MAX_INDEXED_INSTANCES = 2000
#: Rows lasting longer than this are scanned apart from the others.
LONG = 8 * 86400
#: How far a zone-less row is widened: more than any zone's offset from UTC
#: (Python's tzinfo keeps offsets strictly within a day).
ZONE_WIDENING = 86400

_FBTYPES = {BUSY: 1, BUSY_TENTATIVE: 2, BUSY_UNAVAILABLE: 3}
FBTYPE_NAMES = {code: name for name, code in _FBTYPES.items()}
# Code of a zone-less row: the 9.9 rule in the low four bits, then whether
# the first and the second value are wall-clock seconds, then the FBTYPE.
_FIRST_FLOATING = 1 << 4
_SECOND_FLOATING = 1 << 5
_FBTYPE_SHIFT = 6
_EPOCH = datetime(1970, 1, 1)
_EPOCH_DAY = date(1970, 1, 1)


class InstanceRow(NamedTuple):
    """One instance of an object as the store's time table keeps it.

    A zoned instance is in a range exactly when ``range.start < ends_at AND
    range.end > starts_at``; it makes busy time of type ``fbtype`` (0: none).
    A zone-less one (``code`` set) keeps its wall-clock seconds, and its
    ``starts_at``/``ends_at`` only bound where it can be from any zone.
    """

    is_long: int
    starts_at: int
    ends_at: int
    fbtype: int
    code: int | None = None
    wall_first: int | None = None
    wall_second: int | None = None


class TimeIndex(NamedTuple):
    """What the store keeps of an object to answer time-range queries and free-busy.

    ``rows``: one per instance, by start.  ``until``: the rows decide every
    range that ends by then (``BEYOND``: every range; ``NOT_INDEXED``: none,
    and there are no rows).  ``since``: and that starts at or after then
    (None: from the beginning of time).
    """

    span_start: int | None
    span_end: int | None
    rows: tuple[InstanceRow, ...]
    until: int
    since: int | None = None


class _Unindexable(Exception):
    """The object's instances cannot be kept: the query parses it."""


def time_index(
    cal: Calendar, now: datetime, until: datetime | None = None, since: datetime | None = None
) -> TimeIndex:
    """The span and the instance rows of an object, as of ``now``.

    ``until`` asks that a series without end be kept at least that far (for
    a query beyond the horizon), ``since`` that a series be kept from at
    least then (a query before the lower limit; :data:`EARLIEST` for all).
    Never raises: an object whose instances cannot be kept gets ``until =
    NOT_INDEXED`` and is parsed by queries.
    """
    span_start, span_end = object_span(cal)
    try:
        rows, decided, kept_since = _rows(cal, (span_start, span_end), now, until, since)
    except Exception:  # noqa: BLE001 - never fail a write over the index
        return TimeIndex(span_start, span_end, (), NOT_INDEXED)
    return TimeIndex(span_start, span_end, rows, decided, kept_since)


def _rows(
    cal: Calendar,
    span: tuple[int | None, int | None],
    now: datetime,
    until: datetime | None,
    since: datetime | None,
) -> tuple[tuple[InstanceRow, ...], int, int | None]:
    span_start, span_end = span
    components = [c for c in cal.subcomponents if c.name != "VTIMEZONE"]
    names = {c.name for c in components}
    if len(names) > 1:
        raise _Unindexable  # a query filters on one type; the store keeps one per object
    collector = _Collector()
    if not names:
        return (), BEYOND, None
    name = names.pop()
    decided = BEYOND
    if name == "VFREEBUSY":
        for component in components:
            _add_freebusy(collector, component)
    elif name in RECURRING_COMPONENTS:
        forever = [c for c in components if is_recurring(c) and _runs_on(c, span_end)]
        if forever:
            horizon = _horizon(forever, now, until)
            decided = math.ceil(horizon.timestamp())
            # A day more, so that zone-less instances read in any zone are all in.
            hi: datetime | None = horizon + timedelta(days=1)
        else:
            hi = None if span_end is None else datetime.fromtimestamp(span_end, UTC)
        kept_since = _lower_limit(components, span_start, now, since)
        lo = None
        if kept_since is not None:
            collector.since = kept_since
            # Two days less, so that zone-less instances read in any zone are all in.
            lo = datetime.fromtimestamp(kept_since, UTC) - timedelta(days=2)
        first = span_start if kept_since is None else kept_since
        if hi is not None and first is not None:
            # Say at once when a rule has more instances than an index keeps.
            reach = int(hi.timestamp()) - first
            if any(surely_more_than(c, MAX_INDEXED_INSTANCES, reach) for c in components):
                raise _Unindexable
        fbtypes: dict[int, str | None] = {}  # by component: read once, not per instance
        for series in group_series(cal, (name,)):
            for instance in series.instances(lo=lo, hi=hi):
                test = instance_test(instance)
                if test is None:
                    continue
                key = id(instance.component)
                if key not in fbtypes:
                    fbtypes[key] = event_fbtype(instance.component) if name == "VEVENT" else None
                collector.add(test, fbtypes[key])
    else:
        raise _Unindexable  # no time-range rule of 9.9 known here: the evaluator decides
    return collector.done(), decided, collector.since


def _lower_limit(
    components: Sequence[Component], span_start: int | None, now: datetime, since: datetime | None
) -> int | None:
    """From when a series is kept: None (from its first instance) unless it
    is a series that began before the lower limit (or before ``since``)."""
    if span_start is None or not any(is_recurring(c) for c in components):
        return None
    limit = now.astimezone(UTC).replace(microsecond=0) - LOWER_LIMIT
    if since is not None:
        limit = min(limit, since.astimezone(UTC))
    limit_seconds = math.floor(limit.timestamp())
    return limit_seconds if span_start < limit_seconds else None


def _runs_forever(master: Component) -> bool:
    return any(not rule.get("COUNT") and not rule.get("UNTIL") for rule in property_values(master, "RRULE"))


def _runs_on(master: Component, span_end: int | None) -> bool:
    """A series kept up to a horizon: one without end, or a COUNT rule whose
    last instance the span could not say (too many, or too sparse to walk to)."""
    if _runs_forever(master):
        return True
    return span_end is None and any(rule.get("COUNT") for rule in property_values(master, "RRULE"))


def _horizon(forever: Sequence[Component], now: datetime, until: datetime | None) -> datetime:
    first = max(to_utc(anchor(c)) for c in forever)  # type: ignore[arg-type]
    horizon = max(now.astimezone(UTC), first).replace(microsecond=0) + HORIZON
    return horizon if until is None else max(horizon, until.astimezone(UTC))


def _row(
    starts_at: int,
    ends_at: int,
    fbtype: int,
    code: int | None = None,
    wall_first: int | None = None,
    wall_second: int | None = None,
) -> InstanceRow:
    is_long = int(ends_at - starts_at > LONG)
    return InstanceRow(is_long, starts_at, ends_at, fbtype, code, wall_first, wall_second)


class _Collector:
    def __init__(self) -> None:
        self.rows: list[InstanceRow] = []
        # Rows that end by then are not kept (a series' lower limit).
        self.since: int | None = None

    def add(self, test: InstanceTest, fbtype: str | None) -> None:
        if len(self.rows) >= MAX_INDEXED_INSTANCES:
            raise _Unindexable
        busy = _FBTYPES.get(fbtype or "", 0)
        if test.rule == TODO_CREATED_COMPLETED and _seconds(test.second) < _seconds(test.first):
            # The rule is the same either way round; the earlier value goes first.
            test = InstanceTest(test.rule, test.second, test.first)
        first, second = _seconds(test.first), _seconds(test.second)
        if second < first - 86400:
            # Ends (or is due) well before it starts: its place in start order
            # says nothing of its range; leave such data to the parser.
            raise _Unindexable
        after, before = bounds(test.rule, first, second)
        first_floating = test.first is not None and is_floating(test.first)
        second_floating = test.second is not None and is_floating(test.second)
        if first_floating or second_floating:
            code = test.rule | busy << _FBTYPE_SHIFT
            code |= _FIRST_FLOATING if first_floating else 0
            code |= _SECOND_FLOATING if second_floating else 0
            widened = (after - ZONE_WIDENING, before + ZONE_WIDENING)
            if self.since is None or widened[1] > self.since:
                self.rows.append(_row(*widened, 0, code, first, second))
            return
        if self.since is None or before > self.since:
            self.rows.append(_row(after, before, busy if second > first else 0))

    def done(self) -> tuple[InstanceRow, ...]:
        return tuple(sorted(self.rows, key=lambda row: (row.starts_at, row.ends_at)))


def _add_freebusy(collector: _Collector, freebusy: Component) -> None:
    """RFC 4791 9.9 for VFREEBUSY.  Its busy periods (RFC 4791 7.10) are read
    by parsing it: a calendar rarely keeps any, and free-busy does so."""
    start, end = date_value(freebusy, "DTSTART"), date_value(freebusy, "DTEND")
    if start is not None and end is not None:
        collector.add(InstanceTest(FREEBUSY, start, end), None)
    else:
        for period in freebusy_properties(freebusy):
            collector.add(InstanceTest(SPAN, period.start, period.end), None)


def _seconds(value: date | datetime | None) -> int:
    """UTC seconds of a zoned value; wall-clock seconds (as if UTC) of a zone-less one."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        seconds = (value - _EPOCH).total_seconds() if value.tzinfo is None else to_utc(value).timestamp()
    else:
        seconds = (value - _EPOCH_DAY).days * 86400
    if seconds != int(seconds):
        raise _Unindexable  # fractions of a second: the whole-second rules would not hold
    return int(seconds)


def bounds(rule: int, first: int, second: int) -> tuple[int, int]:
    """``(after, before)`` of a 9.9 rule: the instance is in a range exactly when
    ``range.start < before AND range.end > after`` (whole seconds).

    Each bound moves no further than its values do, which is what lets a
    zone-less row be widened by the most a zone can move it.
    """
    if rule == EVENT:
        rule = SPAN if second > first else POINT
    if rule == SPAN:
        return first, second
    if rule == POINT:
        return first, first + 1
    if rule == TODO_DURATION:
        return min(first, second - 1), second + 1
    if rule == TODO_START_DUE:
        return min(first, second - 1), max(second, first + 1)
    if rule == TODO_DUE:
        return second - 1, second
    if rule == TODO_CREATED_COMPLETED:
        return min(first, second) - 1, max(first, second) + 1
    if rule == TODO_COMPLETED:
        return second - 1, second + 1
    if rule == TODO_CREATED:
        return first, BEYOND
    if rule == ALWAYS:
        return -BEYOND, BEYOND
    if rule == FREEBUSY:
        return first, second + 1
    raise ValueError(f"unknown time-range rule {rule}")


# -- reading the rows -------------------------------------------------------------


def decides(until: int | None, since: int | None, rng: TimeRange) -> bool:
    """Whether an index kept ``until`` and ``since`` answers ``rng`` (else a
    row in it still says the object is in; without one, the object is parsed)."""
    if until is None or until == NOT_INDEXED:
        return False
    if since is not None and (rng.start is None or rng.start.timestamp() < since):
        return False
    if until >= BEYOND:
        return True
    return rng.end is not None and rng.end.timestamp() <= until


def until_needed(rng: TimeRange) -> int:
    """The least ``until`` of an index that answers ``rng`` (see :func:`decides`)."""
    return BEYOND if rng.end is None else math.ceil(rng.end.timestamp())


class Window(NamedTuple):
    """The store's scan for a range: rows with ``starts_at < end AND ends_at > start``;
    of the short ones, only those starting at ``short_from`` or later can be in it."""

    start: int
    end: int
    short_from: int


def window(rng: TimeRange) -> Window:
    """The scan of the time table for ``rng``, in whole seconds.

    For whole-second rows, ``ends_at > floor(start)`` says what ``ends_at >
    start`` says, and ``starts_at < ceil(end)`` what ``starts_at < end`` says.
    """
    start = -BEYOND - LONG if rng.start is None else math.floor(rng.start.timestamp())
    end = BEYOND + 1 if rng.end is None else math.ceil(rng.end.timestamp())
    return Window(start, end, start - LONG)


def wall_to_utc(seconds: int, tz: tzinfo | None) -> int:
    """UTC seconds of a wall-clock time read in ``tz`` (RFC 4791 9.9; UTC when None)."""
    if tz is None or tz is timezone.utc:
        return seconds
    return int((_EPOCH + timedelta(seconds=seconds)).replace(tzinfo=tz).timestamp())


def _read(first: int, second: int, code: int, tz: tzinfo | None) -> tuple[int, int]:
    if code & _FIRST_FLOATING:
        first = wall_to_utc(first, tz)
    if code & _SECOND_FLOATING:
        second = wall_to_utc(second, tz)
    return first, second


def zone_less_in_range(
    code: int, first: int, second: int, rng: TimeRange, tz: tzinfo | None
) -> bool:
    """RFC 4791 9.9 for a zone-less row: read in ``tz`` (UTC when None), is it in ``rng``?"""
    return zone_less_test(rng, tz)(code, first, second)


def zone_less_test(rng: TimeRange, tz: tzinfo | None) -> Callable[[int, int, int], bool]:
    """``zone_less_in_range`` for the rows of one query, as a test of
    ``(code, wall_first, wall_second)``: the range is read once."""
    lo = -math.inf if rng.start is None else rng.start.timestamp()
    hi = math.inf if rng.end is None else rng.end.timestamp()

    def in_range(code: int, first: int, second: int) -> bool:
        after, before = bounds(code & 0xF, *_read(first, second, code, tz))
        return lo < before and hi > after

    return in_range


def busy_from_rows(
    zoned: Iterable[tuple[int, int, int]],
    zone_less: Iterable[tuple[int, int, int]],
    rng: TimeRange,
    tz: tzinfo | None,
) -> list[BusyPeriod]:
    """Busy periods of VEVENT rows within ``rng``, clipped and coalesced.

    ``zoned``: ``(starts_at, ends_at, fbtype)`` of rows that make busy time;
    ``zone_less``: ``(code, wall_first, wall_second)``, read in ``tz``.
    Merged as UTC seconds: a month of a busy calendar is thousands of rows.
    """
    assert rng.start is not None and rng.end is not None
    lo, hi = int(rng.start.timestamp()), int(rng.end.timestamp())
    spans: list[tuple[int, int, str]] = []
    for start, end, fbtype in zoned:
        first, last = max(start, lo), min(end, hi)
        if first < last:
            spans.append((first, last, FBTYPE_NAMES[fbtype]))
    for code, wall_first, wall_second in zone_less:
        fbtype = code >> _FBTYPE_SHIFT
        if fbtype:
            start, end = _read(wall_first, wall_second, code, tz)
            first, last = max(start, lo), min(end, hi)
            if first < last:
                spans.append((first, last, FBTYPE_NAMES[fbtype]))
    return [
        (datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC), fbtype)
        for first, last, fbtype in coalesce(spans)
    ]


def calendar_zone(text: str | None) -> tzinfo | None:
    """The zone of a stored CALDAV:calendar-timezone (a VCALENDAR with one
    VTIMEZONE), or None (UTC) when there is none or it cannot be read."""
    if not text or not text.strip():
        return None
    try:
        zones = Calendar.from_ical(text).walk("VTIMEZONE")
        return zones[0].to_tz() if len(zones) == 1 else None
    except Exception:  # noqa: BLE001 - icalendar raises several types on bad input
        return None

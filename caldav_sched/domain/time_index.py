"""The time index of a calendar object: time-range filters decided without parsing.

Layer: domain (pure).  Imports the standard library, ``icalendar`` and the
sibling ``timespan``/``query``/``freebusy`` modules; no clock reads (``now``
is passed in).

Every row of the table in RFC 4791 9.9 is a condition on the range's start
AND a condition on its end (``domain.query.instance_test``).  With whole
seconds, each condition is one comparison, so an instance whose values are
in UTC or a named zone is stored as two numbers ``(after, before)``: it is
in a range exactly when ``range.start < before AND range.end > after``.  An
object's pairs, sorted, answer a range by bisection (``domain.query``'s
``span_test``).  Values without a zone (DATE, floating DATE-TIME) mean a
different moment in each calendar-timezone, so such instances are kept apart
as ``(first, second, code)`` with their wall-clock seconds; a query reads
them in its own zone and applies the same rule.

A series without end is kept up to a horizon, about 18 months past the later
of now and its start (CalendarServer's expand-ahead window); a query that
ends later extends it (``time_index(..., until=...)``).  Busy time for
free-busy is kept beside the pairs: ``(start, end, FBTYPE)`` in UTC.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_left
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import NamedTuple

from icalendar import Calendar, Component

from caldav_sched.domain.freebusy import BUSY, BUSY_TENTATIVE, BUSY_UNAVAILABLE, FREE, BusyPeriod
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
    span_test,
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

#: How far past now (or past its start, if later) a series without end is kept.
HORIZON = timedelta(days=548)
#: The most instances one object may keep in its index.
MAX_INDEXED_INSTANCES = 2000

_FBTYPES = {BUSY: 1, BUSY_TENTATIVE: 2, BUSY_UNAVAILABLE: 3}
FBTYPE_NAMES = {code: name for name, code in _FBTYPES.items()}
# Code of a zone-less entry: the 9.9 rule in the low four bits, then whether
# the first and the second value are wall-clock seconds, then the FBTYPE.
_FIRST_FLOATING = 1 << 4
_SECOND_FLOATING = 1 << 5
_FBTYPE_SHIFT = 6
_EPOCH = datetime(1970, 1, 1)
_EPOCH_DAY = date(1970, 1, 1)


class TimeIndex(NamedTuple):
    """What the store keeps of an object to answer time-range queries and free-busy.

    ``instances``: flat ``after, before, after, before, ...`` UTC seconds,
    by ``after``; ``floating``: flat ``first, second, code`` of instances
    with a zone-less value, by ``first``; ``busy``: flat ``start, end,
    fbtype`` in UTC, by start.  ``until``: the index decides every range
    that ends by then (``BEYOND``: every range; ``NOT_INDEXED``: none).
    """

    span_start: int | None
    span_end: int | None
    instances: tuple[int, ...]
    floating: tuple[int, ...]
    busy: tuple[int, ...]
    until: int


class _Unindexable(Exception):
    """The object's instances cannot be kept: the query parses it."""


def time_index(cal: Calendar, now: datetime, until: datetime | None = None) -> TimeIndex:
    """The span and the instance index of an object, as of ``now``.

    ``until`` asks that a series without end be kept at least that far
    (a query beyond the horizon).  Never raises: an object whose instances
    cannot be kept gets ``until = NOT_INDEXED`` and is parsed by queries.
    """
    span_start, span_end = object_span(cal)
    try:
        instances, floating, busy, decided = _entries(cal, (span_start, span_end), now, until)
    except Exception:  # noqa: BLE001 - never fail a write over the index
        return TimeIndex(span_start, span_end, (), (), (), NOT_INDEXED)
    return TimeIndex(span_start, span_end, instances, floating, busy, decided)


def _entries(
    cal: Calendar, span: tuple[int | None, int | None], now: datetime, until: datetime | None
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int]:
    span_start, span_end = span
    components = [c for c in cal.subcomponents if c.name != "VTIMEZONE"]
    names = {c.name for c in components}
    if len(names) > 1:
        raise _Unindexable  # a query filters on one type; the store keeps one per object
    collector = _Collector()
    if not names:
        return (), (), (), BEYOND
    name = names.pop()
    decided = BEYOND
    if name == "VFREEBUSY":
        for component in components:
            _add_freebusy(collector, component)
    elif name in RECURRING_COMPONENTS:
        forever = [c for c in components if is_recurring(c) and _runs_forever(c)]
        if forever:
            horizon = _horizon(forever, now, until)
            decided = int(horizon.timestamp())
            # A day more, so that zone-less instances read in any zone are all in.
            hi: datetime | None = horizon + timedelta(days=1)
        else:
            hi = None if span_end is None else datetime.fromtimestamp(span_end, UTC)
        if hi is not None and span_start is not None:
            # Say at once when a rule has more instances than an index keeps.
            reach = int(hi.timestamp()) - span_start
            if any(surely_more_than(c, MAX_INDEXED_INSTANCES, reach) for c in components):
                raise _Unindexable
        fbtypes: dict[int, str | None] = {}  # by component: read once, not per instance
        for series in group_series(cal, (name,)):
            for instance in series.instances(hi=hi):
                test = instance_test(instance)
                if test is None:
                    continue
                key = id(instance.component)
                if key not in fbtypes:
                    fbtypes[key] = event_fbtype(instance.component) if name == "VEVENT" else None
                collector.add(test, fbtypes[key])
    else:
        raise _Unindexable  # no time-range rule of 9.9 known here: the evaluator decides
    return collector.done(decided)


def _runs_forever(master: Component) -> bool:
    return any(not rule.get("COUNT") and not rule.get("UNTIL") for rule in property_values(master, "RRULE"))


def _horizon(forever: Sequence[Component], now: datetime, until: datetime | None) -> datetime:
    first = max(to_utc(anchor(c)) for c in forever)  # type: ignore[arg-type]
    latest = max(now.astimezone(UTC), first, until or first)
    return latest.replace(microsecond=0) + HORIZON


class _Collector:
    def __init__(self) -> None:
        self.pairs: list[tuple[int, int]] = []
        self.floating: list[tuple[int, int, int]] = []
        self.busy: list[tuple[int, int, int]] = []

    def add(self, test: InstanceTest, fbtype: str | None) -> None:
        if len(self.pairs) + len(self.floating) >= MAX_INDEXED_INSTANCES:
            raise _Unindexable
        busy = _FBTYPES.get(fbtype or "", 0)
        if test.rule == TODO_CREATED_COMPLETED and _seconds(test.second) < _seconds(test.first):
            # The rule is the same either way round; the earlier value goes first.
            test = InstanceTest(test.rule, test.second, test.first)
        first_floating = test.first is not None and is_floating(test.first)
        second_floating = test.second is not None and is_floating(test.second)
        if first_floating or second_floating:
            code = test.rule | busy << _FBTYPE_SHIFT
            code |= _FIRST_FLOATING if first_floating else 0
            code |= _SECOND_FLOATING if second_floating else 0
            first, second = _seconds(test.first), _seconds(test.second)
            if second < first - 86400:
                raise _Unindexable  # as for zoned values, below
            self.floating.append((first, second, code))
            return
        first, second = _seconds(test.first), _seconds(test.second)
        if second < first - 86400:
            # Ends (or is due) well before it starts: its place in start order
            # says nothing of its range; leave such data to the parser.
            raise _Unindexable
        self.pairs.append(bounds(test.rule, first, second))
        if busy and second > first:
            self.busy.append((first, second, busy))

    def add_busy(self, start: int, end: int, fbtype: str) -> None:
        self.busy.append((start, end, _FBTYPES.get(fbtype, 1)))

    def done(self, until: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int]:
        return (_flat(self.pairs), _flat(self.floating), _flat(self.busy), until)


def _flat(rows: list) -> tuple[int, ...]:
    return tuple(value for row in sorted(rows) for value in row)


def _add_freebusy(collector: _Collector, freebusy: Component) -> None:
    """RFC 4791 9.9 for VFREEBUSY, and its busy periods (RFC 4791 7.10)."""
    start, end = date_value(freebusy, "DTSTART"), date_value(freebusy, "DTEND")
    periods = [p for p in freebusy_properties(freebusy)]
    if start is not None and end is not None:
        collector.add(InstanceTest(FREEBUSY, start, end), None)
    else:
        for period in periods:
            collector.add(InstanceTest(SPAN, period.start, period.end), None)
    for period in periods:
        fbtype = str(period.params.get("FBTYPE", BUSY)).strip().upper()
        if fbtype == FREE:
            continue
        if is_floating(period.start) or is_floating(period.end):
            raise _Unindexable  # RFC 5545 wants UTC here; leave the odd case to the parser
        first, last = _seconds(period.start), _seconds(period.end)
        collector.add_busy(first, last, fbtype if fbtype in _FBTYPES else BUSY)


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
    ``range.start < before AND range.end > after`` (whole seconds)."""
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


# -- reading the index ------------------------------------------------------------


def decides(until: int | None, rng: TimeRange) -> bool:
    """Whether an index kept ``until`` answers ``rng`` (else the object is parsed)."""
    if until is None or until == NOT_INDEXED:
        return False
    if until >= BEYOND:
        return True
    return rng.end is not None and rng.end.timestamp() <= until


def wall_to_utc(seconds: int, tz: tzinfo | None) -> int:
    """UTC seconds of a wall-clock time read in ``tz`` (RFC 4791 9.9; UTC when None)."""
    if tz is None:
        return seconds
    return int((_EPOCH + timedelta(seconds=seconds)).replace(tzinfo=tz).timestamp())


def _read(entry_first: int, entry_second: int, code: int, tz: tzinfo | None) -> tuple[int, int]:
    first = wall_to_utc(entry_first, tz) if code & _FIRST_FLOATING else entry_first
    second = wall_to_utc(entry_second, tz) if code & _SECOND_FLOATING else entry_second
    return first, second


# Zone offsets lie within a day of UTC; a zone-less entry whose wall-clock
# start is more than this past a range's end cannot be in it.
_WALL_SLACK = 2 * 86400


# Below this many flat numbers, testing every entry is cheaper than finding where to start.
_FEW_ENTRIES = 3 * 8
# Rules whose instance stays in every range after its first value.
_OPEN_RULES = frozenset({TODO_CREATED, ALWAYS})


def _first_entry_reaching(floating: Sequence[int], firsts: Sequence[int], lo: float) -> int:
    """Where the zone-less entries that may still reach ``lo`` begin (a flat index).

    Entries come by wall-clock start; every rule but the open ones ends by
    the later of its two values (plus a second), and no entry's later value
    lies further past its start than the longest entry's.  A long series
    (a birthday kept since its birth year) is then tested from near the
    range only, not from its first instance: each entry's test reads it in
    the query's zone, which costs more than finding where to begin.
    """
    if len(floating) <= _FEW_ENTRIES or lo == -math.inf:
        return 0
    if any(code & 0xF in _OPEN_RULES for code in set(floating[2::3])):
        return 0
    longest = max(0, max(map(operator.sub, floating[1::3], firsts)))
    return bisect_left(firsts, lo - longest - _WALL_SLACK - 1) * 3


def range_test(rng: TimeRange, tz: tzinfo | None) -> Callable[[Sequence[int], Sequence[int]], bool]:
    """RFC 4791 9.9 from the index: ``test(instances, floating)`` says whether any instance is in ``rng``.

    Meaningful only when :func:`decides` holds for the object.
    """
    in_pairs = span_test(rng)
    lo = -math.inf if rng.start is None else rng.start.timestamp()
    hi = math.inf if rng.end is None else rng.end.timestamp()

    def test(instances: Sequence[int], floating: Sequence[int]) -> bool:
        if instances and in_pairs(instances):
            return True
        if not floating:
            return False
        firsts = floating[0::3]
        last = bisect_left(firsts, hi + _WALL_SLACK) * 3
        for i in range(_first_entry_reaching(floating, firsts, lo), last, 3):
            code = floating[i + 2]
            first, second = _read(floating[i], floating[i + 1], code, tz)
            after, before = bounds(code & 0xF, first, second)
            if lo < before and hi > after:
                return True
        return False

    return test


def busy_from_index(
    busy: Sequence[int], floating: Sequence[int], rng: TimeRange, tz: tzinfo | None
) -> list[BusyPeriod]:
    """Busy periods of one object within ``rng`` (clipped, not coalesced), from its index."""
    assert rng.start is not None and rng.end is not None
    lo, hi = int(rng.start.timestamp()), int(rng.end.timestamp())
    found: list[BusyPeriod] = []
    # Every entry before the range is looked at: each costs less than
    # finding where the ones that reach it begin (see range_test).
    last = bisect_left(busy[0::3], hi) * 3
    for i in range(0, last, 3):
        _clip_into(found, busy[i], busy[i + 1], busy[i + 2], lo, hi)
    last = bisect_left(floating[0::3], hi + _WALL_SLACK) * 3
    for i in range(0, last, 3):
        code = floating[i + 2]
        fbtype = code >> _FBTYPE_SHIFT
        if fbtype:
            first, second = _read(floating[i], floating[i + 1], code, tz)
            _clip_into(found, first, second, fbtype, lo, hi)
    return found


def _clip_into(found: list[BusyPeriod], start: int, end: int, fbtype: int, lo: int, hi: int) -> None:
    first, last = max(start, lo), min(end, hi)
    if first < last:
        found.append((
            datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC), FBTYPE_NAMES[fbtype]
        ))


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

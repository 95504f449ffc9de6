"""The calendar-query filter: its model and its evaluation (RFC 4791 9.7-9.9).

Layer: domain (pure).  Imports the standard library, ``icalendar`` and
``domain.timespan``; never aiohttp, sqlite or ``caldav_sched.dav`` (the DAV
layer parses the XML into these dataclasses and translates
:class:`UnsupportedCollation` into its ``supported-collation`` error).

This module owns:

* the frozen filter model (:class:`CompFilter`, :class:`PropFilter`,
  :class:`ParamFilter`, :class:`TextMatch`, :class:`TimeRange`);
* :func:`matches`, the exact evaluation of a filter against one calendar
  object resource, with the per-component time-range rules of RFC 4791 9.9
  applied to every instance of a recurrence set;
* :func:`index_range` and :func:`component_type`, what the store may use to
  narrow its scan before :func:`matches` runs on the candidates.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from icalendar import Calendar, Component
from icalendar.prop import vBroken

from caldav_sched.domain.ical import OBJECT_COMPONENTS
from caldav_sched.domain.timespan import (
    Instance,
    Series,
    add_duration,
    date_value,
    group_series,
    is_date,
    property_values,
    to_utc,
    value_of,
)
from caldav_sched.errors import CaldavSchedError

#: RFC 4791 7.5.1 requires the first two; RFC 5051 adds the third.
SUPPORTED_COLLATIONS = ("i;ascii-casemap", "i;octet", "i;unicode-casemap")
#: RFC 4790 9.3 match types (as used by RFC 6352 text-match); CalDAV's own is "contains".
MATCH_TYPES = ("contains", "equals", "starts-with", "ends-with")
#: Components for which RFC 4791 9.9 defines a time-range test.
#: RFC 7953 3.1 adds VAVAILABILITY.
TIME_RANGE_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VALARM", "VAVAILABILITY")
#: Components whose stored span (timespan.object_span) an index scan may use.
INDEXED_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY")

# Multi-valued text properties whose values are matched one by one.
_LIST_PROPERTIES = ("RESOURCES",)
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class UnsupportedCollation(CaldavSchedError):
    """The text-match collation is not one this server implements."""


# -- the filter model --------------------------------------------------------


@dataclass(frozen=True)
class TimeRange:
    """RFC 4791 9.9 ``time-range``: aware datetimes, ``None`` for an open side."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if value is not None and value.tzinfo is None:
                raise ValueError("time-range bounds must be aware datetimes")

    def contains(self, instant: datetime) -> bool:
        """``start <= instant < end``: the test for a point in time."""
        return (self.start is None or self.start <= instant) and (self.end is None or self.end > instant)

    def overlaps(self, first: datetime, last: datetime) -> bool:
        """``start < last AND end > first``: the test for a span."""
        return (self.start is None or self.start < last) and (self.end is None or self.end > first)


@dataclass(frozen=True)
class TextMatch:
    """RFC 4791 9.7.5 ``text-match`` (``match_type`` from RFC 4790 9.3 for leniency)."""

    text: str
    collation: str = "i;ascii-casemap"
    negate: bool = False
    match_type: str = "contains"


@dataclass(frozen=True)
class ParamFilter:
    """RFC 4791 9.7.3 ``param-filter``."""

    name: str
    is_not_defined: bool = False
    text_match: TextMatch | None = None


@dataclass(frozen=True)
class PropFilter:
    """RFC 4791 9.7.2 ``prop-filter``."""

    name: str
    is_not_defined: bool = False
    time_range: TimeRange | None = None
    text_match: TextMatch | None = None
    param_filters: tuple[ParamFilter, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CompFilter:
    """RFC 4791 9.7.1 ``comp-filter``."""

    name: str
    is_not_defined: bool = False
    time_range: TimeRange | None = None
    prop_filters: tuple[PropFilter, ...] = field(default_factory=tuple)
    comp_filters: tuple[CompFilter, ...] = field(default_factory=tuple)


# -- what the index may use --------------------------------------------------


def _indexable_children(flt: CompFilter) -> Iterator[CompFilter]:
    if flt.name.upper() != "VCALENDAR" or flt.is_not_defined:
        return
    for child in flt.comp_filters:
        if not child.is_not_defined and child.name.upper() in INDEXED_COMPONENTS:
            yield child


def index_range(flt: CompFilter) -> TimeRange | None:
    """The time-range an index scan over stored spans may use, if any.

    Only a ``VCALENDAR > VEVENT|VTODO|VJOURNAL|VFREEBUSY`` comp-filter's own
    time-range qualifies: every child comp-filter must match, so its range
    is a necessary condition.  Negated or nested ranges give ``None``.
    """
    for child in _indexable_children(flt):
        if child.time_range is not None:
            return child.time_range
    return None


def component_type(flt: CompFilter) -> str | None:
    """The component type (VEVENT, VTODO...) that every match must contain, if any.

    Stored objects are listed by it, so only objects of that type are parsed.
    """
    if flt.name.upper() != "VCALENDAR" or flt.is_not_defined:
        return None
    for child in flt.comp_filters:
        if not child.is_not_defined and child.name.upper() in OBJECT_COMPONENTS:
            return child.name.upper()
    return None


def indexed_filter(flt: CompFilter) -> tuple[str, TimeRange, bool] | None:
    """What the time index answers of a filter: ``(component, time-range, alone)``.

    The first ``VCALENDAR > VEVENT|VTODO|VJOURNAL|VFREEBUSY`` comp-filter,
    when it has a time-range (every match must have an instance in it, so
    the index may drop any object without one).  ``alone`` is true when that
    time-range is all the filter tests: the index then decides the object
    without parsing it (``domain.time_index``).  None for other filters.
    """
    children = list(_indexable_children(flt))
    if not children or children[0].time_range is None:
        return None
    child = children[0]
    alone = (
        not flt.prop_filters
        and len(flt.comp_filters) == 1
        and not child.prop_filters
        and not child.comp_filters
    )
    return child.name.upper(), child.time_range, alone


# -- evaluation ----------------------------------------------------------------


class _Context:
    """One evaluation: the resource, the zone for floating times, series by component."""

    def __init__(self, root: Component, tz: tzinfo | None) -> None:
        self.root = root
        self.tz = tz
        self._series: dict[int, Series] | None = None

    def series_of(self, component: Component) -> Series:
        if self._series is None:
            self._series = {}
            for series in group_series(self.root):
                for member in series.components:
                    self._series[id(member)] = series
        return self._series.get(id(component)) or Series([component])


def matches(cal: Calendar, flt: CompFilter, *, tz: tzinfo | None = None) -> bool:
    """Whether a calendar object resource matches a calendar-query filter.

    RFC 4791 9.7: ``flt`` is the top-level comp-filter (VCALENDAR).  A
    comp-filter matches when some component of that name in scope matches
    all of its time-range, prop-filters and comp-filters; for a recurring
    component the time-range is met when any instance it contributes to the
    recurrence set (after RRULE, RDATE, EXDATE and overrides) overlaps.
    Floating times and DATE values are read in ``tz`` (the collection's
    calendar-timezone, or the request's C:timezone), else in UTC.

    Raises :class:`UnsupportedCollation` for a collation outside
    :data:`SUPPORTED_COLLATIONS`.
    """
    present = flt.name.upper() == cal.name
    if flt.is_not_defined:
        return not present
    return present and _component_matches(cal, flt, _Context(cal, tz), parent=None)


def _component_matches(component: Component, flt: CompFilter, ctx: _Context, parent: Component | None) -> bool:
    # Cheap tests first: a time-range may expand a recurrence set.
    if not all(_prop_filter_matches(component, pf, ctx) for pf in flt.prop_filters):
        return False
    if not all(_child_filter_matches(component, cf, ctx) for cf in flt.comp_filters):
        return False
    return flt.time_range is None or _in_time_range(component, flt.time_range, ctx, parent)


def _child_filter_matches(component: Component, flt: CompFilter, ctx: _Context) -> bool:
    name = flt.name.upper()
    children = [c for c in component.subcomponents if c.name == name]
    if flt.is_not_defined:
        return not children
    return any(_component_matches(child, flt, ctx, parent=component) for child in children)


# -- time-range (RFC 4791 9.9) ---------------------------------------------------


def _in_time_range(component: Component, rng: TimeRange, ctx: _Context, parent: Component | None) -> bool:
    try:
        return _component_in_time_range(component, rng, ctx, parent)
    except (ValueError, TypeError, OverflowError):
        # Stored data odd enough to defeat date arithmetic (mixed value types,
        # dates near datetime.max) cannot be placed in time: it does not match,
        # rather than failing the whole REPORT.
        return False


def _component_in_time_range(component: Component, rng: TimeRange, ctx: _Context, parent: Component | None) -> bool:
    name = component.name
    if name == "VFREEBUSY":
        return _freebusy_overlaps(component, rng, ctx.tz)
    if name == "VAVAILABILITY":
        return _availability_overlaps(component, rng, ctx.tz)
    if name == "VALARM":
        return parent is not None and _alarm_overlaps(component, parent, rng, ctx)
    if name not in ("VEVENT", "VTODO", "VJOURNAL"):
        return False  # RFC 4791 9.9 defines no time-range test for other components
    series = ctx.series_of(component)
    return any(instance_overlaps(i, rng, ctx.tz) for i in series.instances_of(component, rng.start, rng.end))


def instance_overlaps(instance: Instance, rng: TimeRange, tz: tzinfo | None = None) -> bool:
    """RFC 4791 9.9: whether one VEVENT/VTODO/VJOURNAL instance overlaps ``rng``.

    The table row is chosen by which properties the source component has
    (:func:`instance_test`); the values come from the instance (its DTSTART,
    and DTEND/DUE or DTSTART+DURATION shifted with it).
    """
    test = instance_test(instance)
    if test is None:
        return False
    first = None if test.first is None else to_utc(test.first, tz)
    second = None if test.second is None else to_utc(test.second, tz)
    return rule_holds(test.rule, first, second, rng)


# The rows of the table in RFC 4791 9.9, as rules over two values (first,
# second) of an instance.  Each is "a condition on the range's start AND a
# condition on its end", which is what lets the instance index store them as
# two numbers (domain.time_index).
SPAN = 1  # start < second AND end > first
POINT = 2  # start <= first AND end > first
EVENT = 3  # SPAN when second > first, else POINT (an event without DTEND)
TODO_DURATION = 4  # start <= second AND (end > first OR end >= second)
TODO_START_DUE = 5  # (start < second OR start <= first) AND (end > first OR end >= second)
TODO_DUE = 6  # start < second AND end >= second
TODO_CREATED_COMPLETED = 7  # (start <= first OR start <= second) AND (end >= first OR end >= second)
TODO_COMPLETED = 8  # start <= second AND end >= second
TODO_CREATED = 9  # end > first
ALWAYS = 10  # a to-do without dates
FREEBUSY = 11  # start <= second AND end > first (VFREEBUSY with DTSTART and DTEND)


@dataclass(frozen=True)
class InstanceTest:
    """Which row of RFC 4791 9.9 decides an instance, and its two values (zone-less ones read later)."""

    rule: int
    first: date | datetime | None
    second: date | datetime | None


def instance_test(instance: Instance) -> InstanceTest | None:
    """The 9.9 row for one instance; None when it is never in any range."""
    name = instance.component.name
    if name == "VEVENT":
        if instance.start is None or instance.end is None:
            return None
        rule = SPAN if _has(instance.component, "DTEND") else EVENT
        return InstanceTest(rule, instance.start, instance.end)
    if name == "VTODO":
        return _todo_test(instance)
    if name == "VJOURNAL":
        if instance.start is None:
            return None
        if is_date(instance.start):
            return InstanceTest(SPAN, instance.start, instance.start + timedelta(days=1))
        return InstanceTest(POINT, instance.start, instance.start)
    return None


def _todo_test(instance: Instance) -> InstanceTest:
    todo = instance.component
    has_start, has_due = _has(todo, "DTSTART"), _has(todo, "DUE")
    if has_start and instance.start is not None and instance.end is not None:
        if not has_due and _has(todo, "DURATION"):
            return InstanceTest(TODO_DURATION, instance.start, instance.end)
        if has_due:
            return InstanceTest(TODO_START_DUE, instance.start, instance.end)
        return InstanceTest(POINT, instance.start, instance.start)
    if has_due and instance.end is not None:
        return InstanceTest(TODO_DUE, instance.end, instance.end)
    completed = date_value(todo, "COMPLETED")
    created = date_value(todo, "CREATED")
    if completed is not None and created is not None:
        return InstanceTest(TODO_CREATED_COMPLETED, created, completed)
    if completed is not None:
        return InstanceTest(TODO_COMPLETED, completed, completed)
    if created is not None:
        return InstanceTest(TODO_CREATED, created, created)
    return InstanceTest(ALWAYS, None, None)


def rule_holds(rule: int, first: datetime | None, second: datetime | None, rng: TimeRange) -> bool:
    """Whether a rule of 9.9 holds for ``rng``, the instance's values given in UTC."""
    if rule == ALWAYS:
        return True
    assert first is not None and second is not None
    start, end = rng.start, rng.end
    if rule == EVENT:
        rule = SPAN if second > first else POINT
    if rule == SPAN:
        return rng.overlaps(first, second)
    if rule == POINT:
        return rng.contains(first)
    if rule == TODO_DURATION:
        return _le(start, second) and (_gt(end, first) or _ge(end, second))
    if rule == TODO_START_DUE:
        return (_lt(start, second) or _le(start, first)) and (_gt(end, first) or _ge(end, second))
    if rule == TODO_DUE:
        return _lt(start, second) and _ge(end, second)
    if rule == TODO_CREATED_COMPLETED:
        return (_le(start, first) or _le(start, second)) and (_ge(end, first) or _ge(end, second))
    if rule == TODO_COMPLETED:
        return _le(start, second) and _ge(end, second)
    if rule == TODO_CREATED:
        return _gt(end, first)
    if rule == FREEBUSY:
        return _le(start, second) and _gt(end, first)
    raise ValueError(f"unknown time-range rule {rule}")


def _freebusy_overlaps(freebusy: Component, rng: TimeRange, tz: tzinfo | None) -> bool:
    start = _utc_property(freebusy, "DTSTART", tz)
    end = _utc_property(freebusy, "DTEND", tz)
    if start is not None and end is not None:
        return rule_holds(FREEBUSY, start, end, rng)
    return any(rng.overlaps(first, last) for first, last in freebusy_periods(freebusy, tz))


def _availability_overlaps(availability: Component, rng: TimeRange, tz: tzinfo | None) -> bool:
    """RFC 7953 3.1: the period a VAVAILABILITY covers overlaps the range.

    Without DTSTART it starts at the beginning of time; without DTEND or
    DURATION it runs to the end of time.
    """
    start = date_value(availability, "DTSTART")
    end = date_value(availability, "DTEND")
    if end is None and start is not None:
        duration = value_of(availability.get("DURATION"))
        end = add_duration(start, duration) if isinstance(duration, timedelta) else None
    first = to_utc(start, tz) if start is not None else None
    last = to_utc(end, tz) if end is not None else None
    return (last is None or _lt(rng.start, last)) and (first is None or _gt(rng.end, first))


def freebusy_periods(freebusy: Component, tz: tzinfo | None = None) -> Iterator[tuple[datetime, datetime]]:
    """The FREEBUSY periods of a VFREEBUSY as UTC (start, end) pairs."""
    for prop in property_values(freebusy, "FREEBUSY"):
        for period in prop if isinstance(prop, list) else [prop]:
            yield to_utc(period.start, tz), to_utc(period.end, tz)


def _alarm_overlaps(alarm: Component, parent: Component, rng: TimeRange, ctx: _Context) -> bool:
    """RFC 4791 9.9 VALARM: (start <= trigger-time AND end > trigger-time) for any trigger.

    Relative triggers are taken from each instance the parent contributes;
    REPEAT/DURATION add further trigger times.
    """
    trigger = alarm.get("TRIGGER")
    value = value_of(trigger)
    repeats = _repeat_offsets(alarm)
    if isinstance(value, (date, datetime)):
        first = to_utc(value, ctx.tz)
        return any(rng.contains(first + offset) for offset in repeats)
    if not isinstance(value, timedelta):
        return False
    offsets = [value + offset for offset in repeats]
    from_end = str(trigger.params.get("RELATED", "START")).upper() == "END"
    # A trigger in [start, end) needs an anchor in [start - max, end - min).
    lo = rng.start - max(offsets) if rng.start is not None else None
    hi = rng.end - min(offsets) if rng.end is not None else None
    for instance in ctx.series_of(parent).instances_of(parent, lo, hi):
        anchor = instance.end if from_end else instance.start
        if anchor is None:
            continue
        moment = to_utc(anchor, ctx.tz)
        if any(rng.contains(moment + offset) for offset in offsets):
            return True
    return False


def _repeat_offsets(alarm: Component) -> list[timedelta]:
    try:
        count = int(alarm.get("REPEAT", 0))
    except (TypeError, ValueError):
        count = 0
    interval = value_of(alarm.get("DURATION"))
    if count <= 0 or not isinstance(interval, timedelta):
        return [timedelta(0)]
    return [interval * k for k in range(count + 1)]


def _utc_property(component: Component, name: str, tz: tzinfo | None) -> datetime | None:
    value = date_value(component, name)
    return to_utc(value, tz) if value is not None else None


def _has(component: Component, name: str) -> bool:
    """The property is present with a parsable value."""
    return value_of(component.get(name)) is not None


# Comparisons where an absent range bound is -infinity (start) or +infinity (end).
def _lt(start: datetime | None, value: datetime) -> bool:
    return start is None or start < value


def _le(start: datetime | None, value: datetime) -> bool:
    return start is None or start <= value


def _gt(end: datetime | None, value: datetime) -> bool:
    return end is None or end > value


def _ge(end: datetime | None, value: datetime) -> bool:
    return end is None or end >= value


# -- prop-filter, param-filter, text-match (RFC 4791 9.7.2-9.7.5) ------------------


def _prop_filter_matches(component: Component, flt: PropFilter, ctx: _Context) -> bool:
    """Some instance of the property meets every test of the prop-filter."""
    props = _raw_properties(component, flt.name.upper())
    if flt.is_not_defined:
        return not props
    return any(_property_matches(prop, flt, ctx) for prop in props)


def _raw_properties(component: Component, name: str) -> list:
    """Every instance of a property, unparsable ones included (they still exist and have text)."""
    value = component.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _property_matches(prop: object, flt: PropFilter, ctx: _Context) -> bool:
    if flt.time_range is not None and not _property_in_range(prop, flt.time_range, ctx.tz):
        return False
    if flt.text_match is not None and not text_matches(_property_texts(prop, flt.name.upper()), flt.text_match):
        return False
    params = getattr(prop, "params", {})
    return all(_param_filter_matches(params, pf) for pf in flt.param_filters)


def _property_in_range(prop: object, rng: TimeRange, tz: tzinfo | None) -> bool:
    """A DATE/DATE-TIME value v matches when (start <= v AND end > v); a PERIOD when it overlaps."""
    for value in _date_values(prop):
        if isinstance(value, tuple):
            first, last = value
            if isinstance(last, timedelta):
                last = add_duration(first, last)
            if rng.overlaps(to_utc(first, tz), to_utc(last, tz)):
                return True
        elif isinstance(value, (date, datetime)) and rng.contains(to_utc(value, tz)):
            return True
    return False


def _date_values(prop: object) -> list:
    if isinstance(prop, vBroken):
        return []
    if hasattr(prop, "dts"):
        return [item.dt for item in prop.dts]
    value = getattr(prop, "dt", None)
    return [] if value is None else [value]


def _property_texts(prop: object, name: str) -> list[str]:
    """The text value(s) a text-match compares: unescaped, one per list element."""
    cats = getattr(prop, "cats", None)
    if cats is not None:
        return [str(c) for c in cats]
    if isinstance(prop, str):
        text = str(prop)
    else:
        to_ical = getattr(prop, "to_ical", None)
        raw = to_ical() if to_ical is not None else prop
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if name in _LIST_PROPERTIES:
        return [part.strip() for part in text.split(",")]
    return [text]


def _param_filter_matches(params: object, flt: ParamFilter) -> bool:
    value = params.get(flt.name.upper()) if hasattr(params, "get") else None
    if flt.is_not_defined:
        return value is None
    if value is None:
        return False
    if flt.text_match is None:
        return True
    values = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
    return text_matches(values, flt.text_match)


def text_matches(values: Sequence[str], tm: TextMatch) -> bool:
    """RFC 4791 9.7.5: true when any value matches; ``negate`` inverts the outcome."""
    needle = _fold(tm.text, tm.collation)
    hit = any(_compare(_fold(v, tm.collation), needle, tm.match_type) for v in values)
    return hit != tm.negate


def _fold(text: str, collation: str) -> str:
    if collation == "i;ascii-casemap":
        return text.translate(_ASCII_UPPER)  # RFC 4790 9.2: only a-z fold
    if collation == "i;octet":
        return text
    if collation == "i;unicode-casemap":
        # RFC 5051 maps to titlecase then NFKD; casefold of NFKD gives the
        # same equivalence classes for practical purposes.
        return unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    raise UnsupportedCollation(f"collation {collation!r} is not supported")


def _compare(value: str, needle: str, match_type: str) -> bool:
    if match_type == "equals":
        return value == needle
    if match_type == "starts-with":
        return value.startswith(needle)
    if match_type == "ends-with":
        return value.endswith(needle)
    return needle in value


__all__ = [
    "INDEXED_COMPONENTS",
    "MATCH_TYPES",
    "SUPPORTED_COLLATIONS",
    "TIME_RANGE_COMPONENTS",
    "CompFilter",
    "ParamFilter",
    "PropFilter",
    "TextMatch",
    "TimeRange",
    "UnsupportedCollation",
    "component_type",
    "freebusy_periods",
    "index_range",
    "indexed_filter",
    "instance_overlaps",
    "matches",
    "text_matches",
]

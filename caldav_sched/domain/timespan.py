"""Time covered by calendar components: instances and index spans.

Layer: domain (pure).  Imports only the standard library, ``icalendar``,
``recurring_ical_events``, ``dateutil`` (a dependency of both) and its
domain siblings ``ical``, ``plain_rules`` and ``rule_reach``; never
aiohttp, sqlite, or anything from ``caldav_sched.dav``/``store``/``services``.

This module owns two things:

* :class:`Series` and :class:`Instance`: the recurrence set of one UID
  (master plus overrides, RFC 5545 3.8.5 and 3.8.4.4) as concrete
  instances, each tagged with the component it comes from.  Expansion of
  RRULE/RDATE/EXDATE is delegated to ``recurring_ical_events``, or for a
  plain event series to dateutil directly (``domain.plain_rules``, held to
  the library by tests); this module only decides which instances belong
  to the master and which to overrides.  Rules with no instance besides
  DTSTART are dropped before expanding (``domain.rule_reach``): dateutil
  would look for one until the year 9999.
  The time-range *predicates* of RFC 4791 9.9 live in ``domain.query``.
* :func:`object_span`: the UTC interval stored with each calendar object
  resource so that a time-range query is an index scan followed by an exact
  check.  It is computed on every PUT, so it works from DTSTART, UNTIL and
  COUNT instead of expanding recurrences, and it only has to be a superset.

Beside them, :func:`exceeds_instances_per_year` (the bound behind
CALDAV:max-instances).  The stored instance index is ``domain.time_index``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

import recurring_ical_events
from dateutil.rrule import rrulestr
from icalendar import Calendar, Component
from icalendar.prop import vBroken

from caldav_sched.domain.ical import has_valid_intervals
from caldav_sched.domain.plain_rules import cheaper_rule, plain_occurrences
from caldav_sched.domain.rule_reach import raw_rules, rule_recurs, with_rules, without_barren_rules

UTC = timezone.utc

#: UTC offsets run from -12:00 to +14:00, so a floating time or a DATE read
#: in any calendar-timezone lies within 14 hours of the same wall time in UTC.
FLOATING_SLACK = timedelta(hours=14)

#: Components whose time-range behaviour RFC 4791 9.9 defines at top level.
SPAN_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY")
RECURRING_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")

# How far around a query window the expander is asked to look: covers an
# all-day journal's day (RFC 4791 9.9 gives it DTSTART + P1D, the expander
# sees a point), a floating or all-day value read in any zone (up to 14
# hours off UTC) and the <= versus < differences between the library's
# overlap test and RFC 4791 9.9; exact checks follow anyway.
_WINDOW_SLACK = timedelta(days=2)

# Instances one master may contribute to one window.  A minutely or secondly
# rule can have millions; matching stops at the first hit anyway, and expand
# or free-busy output past this size would not be useful to any client.
MAX_INSTANCES = 20_000

# COUNT rules are expanded to find their last instance, up to this many,
# and no further than this many periods of the rule from DTSTART: a sparse
# rule (29 February on a Monday) would otherwise be walked for millennia.
_COUNT_EXPANSION_CAP = 5_000
_PERIOD_DAYS = {
    "SECONDLY": 1 / 86400, "MINUTELY": 1 / 1440, "HOURLY": 1 / 24, "DAILY": 1, "WEEKLY": 7,
    "MONTHLY": 31, "YEARLY": 366,
}

# Margins for the stored span, in seconds: one second turns the RFC's
# inclusive comparisons into the index's strict ones; one hour absorbs
# daylight-saving shifts between nominal and exact durations in recurrences.
_EDGE = 1.0
_DST = 3600.0

Value = date | datetime


# -- small time helpers ------------------------------------------------------


def is_date(value: object) -> bool:
    """True for a DATE value (a ``date`` that is not a ``datetime``)."""
    return isinstance(value, date) and not isinstance(value, datetime)


def is_floating(value: Value) -> bool:
    """True for values that carry no zone: DATE and floating DATE-TIME."""
    return is_date(value) or (isinstance(value, datetime) and value.tzinfo is None)


def to_utc(value: Value, tz: tzinfo | None = None) -> datetime:
    """An aware UTC datetime for ``value``.

    RFC 4791 9.9: floating DATE-TIME and DATE values are read in the
    calendar-timezone ``tz`` (UTC when there is none); a DATE is its
    midnight in that zone.
    """
    zone = tz or UTC
    if is_date(value):
        value = datetime.combine(value, time(0))
    assert isinstance(value, datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def add_duration(value: Value, delta: timedelta) -> Value:
    """``value + delta``; a DATE becomes a DATE-TIME if ``delta`` has a time part."""
    if is_date(value) and (delta.seconds or delta.microseconds):
        value = datetime.combine(value, time(0))
    return value + delta


def recurrence_key(value: Value) -> datetime:
    """A hashable key that identifies a RECURRENCE-ID whatever zone it is written in."""
    if is_date(value):
        return datetime.combine(value, time(0))
    assert isinstance(value, datetime)
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def property_values(component: Component, name: str) -> list:
    """Every parsed value of a possibly repeated property, as a list.

    icalendar keeps a value it could not parse as ``vBroken``, which raises
    on attribute access; such values are left out here.
    """
    value = component.get(name)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [v for v in values if not isinstance(v, vBroken)]


def value_of(prop: object) -> object | None:
    """A property's parsed value (``.dt``), or None when absent or unparsable."""
    if prop is None or isinstance(prop, vBroken):
        return None
    return getattr(prop, "dt", None)


def date_value(component: Component, name: str) -> Value | None:
    """A DATE or DATE-TIME property's value, or None when absent or not a date."""
    value = value_of(component.get(name))
    return value if isinstance(value, (date, datetime)) else None


def duration_value(component: Component, name: str) -> timedelta | None:
    value = value_of(component.get(name))
    return value if isinstance(value, timedelta) else None


def _date_list(component: Component, name: str) -> list:
    """The dates of every RDATE/EXDATE line: ``date``, ``datetime`` or (start, end|duration)."""
    return [item.dt for prop in property_values(component, name) for item in getattr(prop, "dts", [])]


# -- instances ---------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    """One instance of a component in a recurrence set.

    ``start`` is DTSTART of the instance (DUE for a VTODO without DTSTART);
    ``end`` is its DTEND, DUE or DTSTART+DURATION, the day after a DATE
    VEVENT with neither, or ``start`` itself.  Both are ``None`` only for a
    VTODO without DTSTART and DUE.  Values keep their original type and zone.
    ``recurrence_id`` is ``None`` for a non-recurring component.
    """

    component: Component
    start: Value | None
    end: Value | None
    recurrence_id: Value | None = None


def own_instance(component: Component) -> Instance | None:
    """The single instance a component describes by itself, ignoring recurrence."""
    start = date_value(component, "DTSTART")
    rid = date_value(component, "RECURRENCE-ID")
    name = component.name
    if name == "VTODO":
        due = date_value(component, "DUE")
        if start is None:
            return Instance(component, due, due, rid)
        return Instance(component, start, due if due is not None else _end_by_duration(component, start), rid)
    if start is None:
        return None
    if name == "VEVENT":
        end = date_value(component, "DTEND")
        if end is not None:
            return Instance(component, start, end, rid)
        if "DURATION" in component:
            return Instance(component, start, _end_by_duration(component, start), rid)
        return Instance(component, start, start + timedelta(days=1) if is_date(start) else start, rid)
    return Instance(component, start, start, rid)


def _end_by_duration(component: Component, start: Value) -> Value:
    duration = duration_value(component, "DURATION")
    return start if duration is None else add_duration(start, duration)


def anchor(component: Component) -> Value | None:
    """The value a component's recurrence rules count from: DTSTART, or DUE of a to-do without one."""
    start = date_value(component, "DTSTART")
    if start is None and component.name == "VTODO":
        return date_value(component, "DUE")
    return start


def is_recurring(component: Component) -> bool:
    """A master that carries its own recurrence rules (and a DTSTART, or a to-do's DUE, to anchor them)."""
    return (
        component.name in RECURRING_COMPONENTS
        and anchor(component) is not None
        and "RECURRENCE-ID" not in component
        and any(name in component for name in ("RRULE", "RDATE", "EXDATE"))
    )


class Series:
    """All components of one UID and type: the master and its overrides.

    RFC 5545 3.8.4.4: an override (a component with RECURRENCE-ID) replaces
    the master's instance with that recurrence identifier; an override whose
    RECURRENCE-ID the master lists in EXDATE is cancelled.
    """

    def __init__(self, components: Iterable[Component]) -> None:
        self.components = list(components)
        masters = [c for c in self.components if "RECURRENCE-ID" not in c]
        self.master: Component | None = masters[0] if masters else None
        self.overrides = [c for c in self.components if "RECURRENCE-ID" in c]
        rids = (date_value(c, "RECURRENCE-ID") for c in self.overrides)
        self._overridden = {recurrence_key(rid) for rid in rids if rid is not None}
        self._excluded: set[datetime] = set()
        self._excluded_days: set[date] = set()
        if self.master is not None:
            for value in _date_list(self.master, "EXDATE"):
                if isinstance(value, (date, datetime)):
                    self._excluded.add(recurrence_key(value))
                    if is_date(value):
                        self._excluded_days.add(value)
        self._from_here = sorted(
            (change for change in map(_later_change, self.overrides)
             if change is not None and not self.is_cancelled(change.override)),
            key=lambda change: change.since,
        )

    def is_cancelled(self, override: Component) -> bool:
        """True when the master's EXDATE removes this override's instance."""
        rid = date_value(override, "RECURRENCE-ID")
        if rid is None:
            return False
        day = rid if is_date(rid) else rid.date()
        return recurrence_key(rid) in self._excluded or day in self._excluded_days

    def instances(self, lo: datetime | None = None, hi: datetime | None = None) -> Iterator[Instance]:
        """Instances of every component; see :meth:`instances_of`."""
        for component in self.components:
            yield from self.instances_of(component, lo, hi)

    def instances_of(
        self, component: Component, lo: datetime | None = None, hi: datetime | None = None
    ) -> Iterator[Instance]:
        """The instances that ``component`` contributes to the recurrence set.

        Yields at least every instance that may overlap ``[lo, hi)`` (aware
        datetimes, ``None`` for open), possibly more; callers check each one
        exactly.  With ``hi`` open and an unbounded rule the stream is
        endless (in start order): stop at the first instance you need.
        """
        if "RECURRENCE-ID" in component:
            if self.master is None or not self.is_cancelled(component):
                instance = own_instance(component)
                if instance is not None:
                    yield instance
            return
        if not is_recurring(component):
            instance = own_instance(component)
            if instance is not None:
                yield instance
            return
        yield from self._expanded(component, lo, hi)

    def _expanded(self, master: Component, lo: datetime | None, hi: datetime | None) -> Iterator[Instance]:
        produced = False
        # Instances moved by a RANGE=THISANDFUTURE override may come from
        # outside the window; widen it by the farthest move.
        reach = max((change.reach for change in self._from_here), default=timedelta(0))
        lo = lo - reach if lo is not None else None
        hi = hi + reach if hi is not None else None
        stop = hi + _WINDOW_SLACK if hi is not None else None
        try:
            for start, end in itertools.islice(self._occurrences(master, lo, hi), MAX_INSTANCES):
                # Occurrences come in start order, so nothing later can overlap.
                if stop is not None and to_utc(start) > stop:
                    break
                # The master alone is expanded, so an occurrence's RECURRENCE-ID is its start.
                key = recurrence_key(start)
                if key in self._overridden:
                    continue
                produced = True
                change = self._change_for(key)
                if change is not None:
                    yield change.applied_to(start)
                    continue
                yield Instance(master, start, end, start)
        except Exception:  # noqa: BLE001
            # The expander raises assorted errors on odd rules and mixed
            # value types; a stored object must still be matchable, so fall
            # back to the master's own instance.
            if not produced:
                instance = own_instance(master)
                if instance is not None:
                    yield instance

    def _change_for(self, key: datetime) -> _LaterChange | None:
        """The last RANGE=THISANDFUTURE override at or before an instance, if any."""
        found = None
        for change in self._from_here:
            if change.since > key:
                break
            found = change
        return found

    def _occurrences(
        self, master: Component, lo: datetime | None, hi: datetime | None
    ) -> Iterator[tuple[Value, Value]]:
        """The (start, end) of the master's occurrences around ``[lo, hi)``, in start order."""
        if not has_valid_intervals(master):
            # Stored before PUT refused them: such a rule has no next instance
            # (dateutil's walk would not end); the master stands alone.
            raise ValueError("an RRULE with an INTERVAL below 1")
        # A rule with no instance besides DTSTART adds nothing to the set
        # (RFC 5545 3.8.5.3), and dateutil would look for one until the year 9999.
        master = without_barren_rules(master)
        start = (lo if lo is not None else _earliest_start(master)) - _WINDOW_SLACK
        if hi is not None and not _is_dense(master):
            plain = plain_occurrences(master, start, hi + _WINDOW_SLACK)
            if plain is not None:
                return iter(plain)
            return iter(library_occurrences(master, start, hi + _WINDOW_SLACK))
        # Lazy, so that a sub-daily rule or an open window is never listed in full.
        return (
            (anchor(component), _occurrence_end(component))
            for component in _library_query(master).after(start)
        )


def library_occurrences(master: Component, start: datetime, stop: datetime) -> list[tuple[Value, Value]]:
    """``(start, end)`` of the master's occurrences that overlap ``[start, stop)``
    (aware datetimes), in start order, as ``recurring_ical_events`` expands them.

    One pass over the rule: much cheaper than the windowed search behind
    ``after`` when the window holds no match.  The series give occurrences'
    times; ``between`` would also build a copy of the master for each,
    which is most of the cost.
    """
    has_end = master.name in ("VEVENT", "VTODO")
    found = [
        (occurrence.start, occurrence.end if has_end else occurrence.start)
        for series in _library_query(master).series
        for occurrence in series.between(start, stop)
    ]
    return sorted(found, key=lambda times: to_utc(times[0]))


def _library_query(master: Component) -> recurring_ical_events.CalendarQuery:
    # The master alone: overrides are handled by Series, by RECURRENCE-ID, so
    # that every instance can be attributed to the component it comes from.
    alone = Calendar()
    alone.add_component(_with_cheaper_rules(master))
    return recurring_ical_events.CalendarQuery(
        alone, keep_recurrence_attributes=True, components=(master.name,)
    )


@dataclass(frozen=True)
class _LaterChange:
    """An override with RANGE=THISANDFUTURE (RFC 5545 3.2.13): it also changes every later instance.

    Each later instance takes the override's properties, its start moved as
    far as the override's DTSTART is from its RECURRENCE-ID, and the
    override's duration.
    """

    override: Component
    since: datetime  # recurrence_key of its RECURRENCE-ID
    shift: timedelta
    length: timedelta

    @property
    def reach(self) -> timedelta:
        return abs(self.shift) + abs(self.length)

    def applied_to(self, start: Value) -> Instance:
        moved = add_duration(start, self.shift)
        return Instance(self.override, moved, add_duration(moved, self.length), start)


def _later_change(override: Component) -> _LaterChange | None:
    rid_prop = override.get("RECURRENCE-ID")
    rid = date_value(override, "RECURRENCE-ID")
    if rid is None or str(getattr(rid_prop, "params", {}).get("RANGE", "")).upper() != "THISANDFUTURE":
        return None
    own = own_instance(override)
    if own is None or own.start is None or own.end is None:
        return None
    try:
        shift = to_utc(own.start) - to_utc(rid)
        length = to_utc(own.end) - to_utc(own.start)
    except (TypeError, ValueError, OverflowError):
        return None
    return _LaterChange(override, recurrence_key(rid), shift, length)


def _with_cheaper_rules(master: Component) -> Component:
    """``master``, or a shallow copy whose rules are ``plain_rules.cheaper_rule``'s
    (a birthday from 1950 cost 7 ms to expand to today as a yearly rule)."""
    rules = property_values(master, "RRULE")
    if not rules or len(rules) != len(raw_rules(master)):
        return master
    rewritten = [cheaper_rule(rule) for rule in rules]
    if all(new is old for new, old in zip(rewritten, rules)):
        return master
    return with_rules(master, rewritten)


def _is_dense(master: Component) -> bool:
    """A rule that may put more than a few instances into a day."""
    for rule in property_values(master, "RRULE"):
        if str((rule.get("FREQ") or [""])[0]).upper() in ("SECONDLY", "MINUTELY", "HOURLY"):
            return True
        if rule.get("BYHOUR") or rule.get("BYMINUTE") or rule.get("BYSECOND"):
            return True
    return False


_PERIOD_SECONDS = {
    "SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400, "WEEKLY": 7 * 86400,
    "MONTHLY": 28 * 86400, "YEARLY": 365 * 86400,
}


def surely_more_than(component: Component, limit: int, span_seconds: int) -> bool:
    """Whether a rule of ``component`` has more than ``limit`` instances, known cheaply.

    From COUNT, or for a rule without BY parts (which could thin it out),
    from its period and the span it covers.  False means "maybe not".
    """
    for rule in property_values(component, "RRULE"):
        count = rule.get("COUNT")
        if count and int(count[0]) > limit:
            return True
        if any(part.startswith("BY") for part in rule):
            continue
        period = _PERIOD_SECONDS.get(str((rule.get("FREQ") or [""])[0]).upper())
        interval = int((rule.get("INTERVAL") or [1])[0] or 1)
        if period and span_seconds // (period * interval) > limit + 1:
            return True
    return False


def _occurrence_end(occurrence: Component) -> Value:
    start = anchor(occurrence)
    end_name = {"VEVENT": "DTEND", "VTODO": "DUE"}.get(occurrence.name)
    if end_name is not None and end_name in occurrence:
        return occurrence[end_name].dt
    return start


def _earliest_start(master: Component) -> datetime:
    """No instance of ``master`` starts before this (RDATEs may precede DTSTART)."""
    values: list[Value] = [anchor(master) or datetime(1970, 1, 1, tzinfo=UTC)]
    for value in _date_list(master, "RDATE"):
        values.append(value[0] if isinstance(value, tuple) else value)
    return min(to_utc(v) for v in values) - FLOATING_SLACK


def group_series(calendar: Component, names: Iterable[str] = RECURRING_COMPONENTS) -> list[Series]:
    """The top-level components of ``calendar`` with those names, grouped by (name, UID)."""
    wanted = set(names)
    groups: dict[tuple[str, str], list[Component]] = {}
    for index, component in enumerate(calendar.subcomponents):
        if component.name not in wanted:
            continue
        uid = component.get("UID")
        key = (component.name, str(uid) if uid is not None else f"#{index}")
        groups.setdefault(key, []).append(component)
    return [Series(components) for components in groups.values()]


# -- the stored span ---------------------------------------------------------


class _Unsure(Exception):
    """Raised inside the span computation when only (None, None) is safe."""


class _Extent:
    """A growing [lo, hi] in Unix seconds, widened for zone-less values."""

    def __init__(self) -> None:
        self.lo = math.inf
        self.hi = -math.inf

    def add(self, value: Value, margin: float = _EDGE) -> None:
        self.add_range(value, value, margin)

    def add_range(self, first: Value, last: Value, margin: float = _EDGE) -> None:
        if to_utc(last) < to_utc(first):
            first, last = last, first
        lo = to_utc(first).timestamp() - margin
        hi = to_utc(last).timestamp() + margin
        if is_floating(first):
            lo -= FLOATING_SLACK.total_seconds()
        if is_floating(last):
            hi += FLOATING_SLACK.total_seconds()
        self.lo = min(self.lo, lo)
        self.hi = max(self.hi, hi)

    def add_seconds(self, lo: float, hi: float) -> None:
        self.lo = min(self.lo, lo)
        self.hi = max(self.hi, hi)

    def merge(self, other: _Extent) -> None:
        self.add_seconds(other.lo, other.hi)

    @property
    def empty(self) -> bool:
        return self.lo > self.hi


def object_span(cal: Calendar) -> tuple[int | None, int | None]:
    """The UTC span (Unix seconds) that a calendar object resource covers.

    A superset of every instance's effective span under RFC 4791 9.9, for
    the index predicate ``(start IS NULL OR start < :end) AND (end IS NULL
    OR end > :start)``.  ``None`` is open (-infinity / +infinity): an RRULE
    without COUNT or UNTIL, a VTODO without dates (which matches every
    range), or anything this function is unsure of.  Alarms are not
    covered: alarm queries are checked exactly on every candidate.
    """
    try:
        total = _Extent()
        for component in cal.subcomponents:
            if component.name in SPAN_COMPONENTS:
                total.merge(_component_extent(component))
    except Exception:  # noqa: BLE001
        # Never fail a PUT over the index: an open span is always correct.
        return (None, None)
    if total.empty:
        return (None, None)
    lo = None if total.lo == -math.inf else math.floor(total.lo)
    hi = None if total.hi == math.inf else math.ceil(total.hi)
    return (lo, hi)


def _component_extent(component: Component) -> _Extent:
    """The extent of one component; empty when it can never match a time-range."""
    if component.name == "VFREEBUSY":
        return _freebusy_extent(component)
    rid = component.get("RECURRENCE-ID")
    if rid is not None and str(getattr(rid, "params", {}).get("RANGE", "")).upper() == "THISANDFUTURE":
        # Such an override moves every later instance; not worth modelling.
        raise _Unsure
    if component.name == "VTODO" and date_value(component, "DTSTART") is None and not is_recurring(component):
        return _undated_todo_extent(component)
    extent = _Extent()
    instance = own_instance(component)
    if instance is None or instance.start is None or instance.end is None:
        return extent  # RFC 4791 9.9: no DTSTART, never in any range
    end = instance.end
    if component.name == "VJOURNAL" and is_date(instance.start):
        end = instance.start + timedelta(days=1)
    extent.add_range(instance.start, end)
    if is_recurring(component):
        _add_recurrences(extent, component, instance.start, end)
    return extent


def _add_recurrences(extent: _Extent, master: Component, start: Value, end: Value) -> None:
    """Widen ``extent`` to every instance of ``master``'s RRULE/RDATE set."""
    length = to_utc(end).timestamp() - to_utc(start).timestamp()
    before, after = min(0.0, length), max(0.0, length)
    widen = FLOATING_SLACK.total_seconds() if is_floating(start) else 0.0
    for value in _date_list(master, "RDATE"):
        if isinstance(value, tuple):
            period_start, period_end = value
            if isinstance(period_end, timedelta):
                period_end = add_duration(period_start, period_end)
            extent.add_range(period_start, period_end, _EDGE + _DST)
        else:
            rdate = to_utc(value).timestamp()
            rdate_widen = FLOATING_SLACK.total_seconds() if is_floating(value) else widen
            extent.add_seconds(
                rdate + before - rdate_widen - _EDGE - _DST, rdate + after + rdate_widen + _EDGE + _DST
            )
    last = _last_rule_start(master, start)
    if last == math.inf:
        extent.hi = math.inf
    elif last > -math.inf:
        extent.add_seconds(extent.lo, last + after + widen + _EDGE + _DST)


def _last_rule_start(master: Component, start: Value) -> float:
    """Latest instance start any RRULE allows, in Unix seconds (+inf if unbounded)."""
    latest = -math.inf
    for rule in property_values(master, "RRULE"):
        until = rule.get("UNTIL")
        if until:
            value = until[0]
            # A DATE UNTIL admits instances during that whole day.
            bound = to_utc(value + timedelta(days=1) if is_date(value) else value).timestamp()
            latest = max(latest, bound + (FLOATING_SLACK.total_seconds() if is_floating(value) else 0.0))
        elif not rule_recurs(rule, start):
            continue  # DTSTART alone, already in the extent
        elif rule.get("COUNT"):
            latest = max(latest, _last_counted_start(rule, start))
        else:
            return math.inf
    return latest


def _last_counted_start(rule: object, start: Value) -> float:
    """The last start of a COUNT rule that has instances besides DTSTART (+inf: too far to say)."""
    try:
        anchor = datetime.combine(start, time(0)) if is_date(start) else start
        text = rule.to_ical().decode()  # type: ignore[attr-defined]
        reach = anchor + _periods(rule, _COUNT_EXPANSION_CAP)
        starts = []
        # The rule has later instances, so the walk meets one past ``reach`` soon.
        for moment in rrulestr(text, dtstart=anchor):
            if moment > reach or len(starts) == _COUNT_EXPANSION_CAP:
                return math.inf  # a rule this long or this sparse may run on: stay open
            starts.append(moment)
    except Exception:  # noqa: BLE001
        return math.inf  # a rule we cannot expand may run on: stay open
    if not starts:
        return math.inf
    return max(to_utc(s).timestamp() for s in starts)


def _periods(rule: object, count: int) -> timedelta:
    """About ``count`` periods of the rule (INTERVAL times its frequency), at least."""
    freq = str((rule.get("FREQ") or ["DAILY"])[0]).upper()  # type: ignore[attr-defined]
    interval = int((rule.get("INTERVAL") or [1])[0] or 1)  # type: ignore[attr-defined]
    days = min(count * interval * _PERIOD_DAYS.get(freq, 366), 3_000_000)
    return timedelta(days=days)


# A rule that repeats at most daily and names no hours, minutes or seconds
# has at most this many instances in a year (MONTHLY or YEARLY on every day
# of every month: 12 x 31).
_MOST_DAILY_PER_YEAR = 372
_YEAR = timedelta(days=366)


def exceeds_instances_per_year(cal: Calendar, limit: int) -> bool:
    """Whether a recurrence rule of the object has more than ``limit`` instances in a year.

    The year is the one that starts at the rule's first instance.  RFC 4791
    5.2.8 (CALDAV:max-instances) bounds the instances an object may
    generate; a rule without COUNT or UNTIL generates endlessly many, so
    this server bounds them per year, as CalendarServer bounds them within
    its expansion window: a daily meeting without end has 366, an hourly
    one 8,760.  What such a bound protects is every later time-range
    query, which walks the rule from its start to the window it asks about.

    Cheap for ordinary rules: one that repeats at most daily without
    BYHOUR, BYMINUTE or BYSECOND is known to stay within 372 a year;
    others are expanded lazily, at most ``limit`` + 1 instances.  A rule
    that cannot be expanded is left to the query's own fallback (False).
    """
    for component in cal.subcomponents:
        if component.name not in RECURRING_COMPONENTS or "RECURRENCE-ID" in component:
            continue
        start = date_value(component, "DTSTART")
        if start is None:
            continue
        for rule in property_values(component, "RRULE"):
            sub_daily = str((rule.get("FREQ") or [""])[0]).upper() in (
                "SECONDLY", "MINUTELY", "HOURLY"
            ) or any(rule.get(part) for part in ("BYHOUR", "BYMINUTE", "BYSECOND"))
            if not sub_daily and limit >= _MOST_DAILY_PER_YEAR:
                continue
            if _more_in_first_year(rule, start, limit):
                return True
    return False


def _more_in_first_year(rule: object, start: Value, limit: int) -> bool:
    if not rule_recurs(rule, start):  # type: ignore[arg-type]
        return False  # DTSTART alone
    try:
        anchor = datetime.combine(start, time(0)) if is_date(start) else start
        text = rule.to_ical().decode()  # type: ignore[attr-defined]
        first = None
        seen = 0
        # The rule has later instances, so the walk meets one past the year soon.
        for moment in rrulestr(text, dtstart=anchor):
            first = moment if first is None else first
            if moment - first >= _YEAR:
                return False
            seen += 1
            if seen > limit:
                return True
    except Exception:  # noqa: BLE001
        return False
    return False


def _undated_todo_extent(todo: Component) -> _Extent:
    """RFC 4791 9.9, the VTODO rows without DTSTART."""
    extent = _Extent()
    due = date_value(todo, "DUE")
    if due is not None:
        extent.add(due)
        return extent
    completed = date_value(todo, "COMPLETED")
    created = date_value(todo, "CREATED")
    if completed is not None:
        extent.add(completed)
        if created is not None:
            extent.add(created)
        return extent
    if created is not None:
        extent.add(created)
        extent.hi = math.inf  # (end > CREATED): every later range matches
        return extent
    extent.add_seconds(-math.inf, math.inf)  # no dates at all: matches every range
    return extent


def _freebusy_extent(freebusy: Component) -> _Extent:
    extent = _Extent()
    start, end = date_value(freebusy, "DTSTART"), date_value(freebusy, "DTEND")
    if start is not None and end is not None:
        extent.add_range(start, end)
        return extent
    for prop in property_values(freebusy, "FREEBUSY"):
        periods = prop if isinstance(prop, list) else [prop]
        for period in periods:
            extent.add_range(period.start, period.end)
    return extent

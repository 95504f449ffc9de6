"""Recurrence instances: keys, labels, membership and derived overrides.

Owns the question "which instance does this RECURRENCE-ID name?".  Instances
are compared as instants, never as strings: a RECURRENCE-ID written in UTC
names the same instance as one written with the series' TZID (sabre/vobject
#358), and an all-day series is keyed by date whatever form the
RECURRENCE-ID takes (Zimbra zm-mailbox #441).  Recurrence expansion is left
to ``recurring_ical_events``, without the rules that have no instance
besides DTSTART (``domain.rule_reach``), which it would walk to the year 9999;
whether a key names an instance of a plain series is asked of
``domain.plain_rules`` around the key, which does not walk from DTSTART.

A key is an aware UTC ``datetime`` for timed series, a ``date`` for all-day
series, and None for the master component.  Floating times are read in the
series' own zone (itself floating), i.e. compared as if UTC on both sides.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import recurring_ical_events
from icalendar import Calendar
from icalendar.cal import Component

from caldav_sched.domain.plain_rules import plain_occurrences
from caldav_sched.domain.rule_reach import without_barren_rules

from .components import schedulable

Key = date | datetime
MASTER_LABEL = "master"

# Around a key, the window a plain series is expanded in: wider than any
# zone moves a wall-clock time, so the exact key comparison decides.
_KEY_SLACK = timedelta(days=2)

_RECURRENCE_PROPS = ("RRULE", "RDATE", "EXDATE", "EXRULE")


@dataclass(frozen=True)
class Series:
    """How a series writes its times: all-day or not, and in which zone."""

    all_day: bool
    tz: tzinfo | None

    @classmethod
    def of(cls, cal: Calendar) -> Series:
        """The series context, read from the master's DTSTART (or any RECURRENCE-ID)."""
        comps = schedulable(cal)
        master = next((c for c in comps if c.get("RECURRENCE-ID") is None), None)
        for comp, name in ((master, "DTSTART"), *((c, "RECURRENCE-ID") for c in comps)):
            value = getattr(comp.get(name), "dt", None) if comp is not None else None
            if isinstance(value, datetime):
                return cls(False, value.tzinfo)
            if isinstance(value, date):
                return cls(True, None)
        return cls(False, None)

    def key(self, value: date | datetime) -> Key:
        """The comparable key of a date or date-time in this series."""
        if isinstance(value, datetime):
            if self.all_day:
                return value.date()
            if value.tzinfo is None:
                value = value.replace(tzinfo=self.tz or UTC)
            return value.astimezone(UTC)
        if self.all_day:
            return value
        # A DATE RECURRENCE-ID on a timed series: midnight in the series' zone.
        return datetime.combine(value, time(), self.tz or UTC).astimezone(UTC)

    def local(self, key: Key) -> date | datetime:
        """A key written the way the series writes its DTSTART."""
        if isinstance(key, datetime):
            if self.tz is None:
                return key.replace(tzinfo=None) if not self.all_day else key.date()
            return key.astimezone(self.tz)
        return key


def label(key: Key | None) -> str:
    """Human and log form of a key: ``20250619T060000Z``, ``20250619`` or ``master``."""
    if key is None:
        return MASTER_LABEL
    if isinstance(key, datetime):
        return key.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return key.strftime("%Y%m%d")


def component_key(comp: Component, series: Series) -> Key | None:
    """The key of a component: None for the master, else its RECURRENCE-ID."""
    rid = comp.get("RECURRENCE-ID")
    if rid is None:
        return None
    return series.key(rid.dt)


def by_key(cal: Calendar) -> dict[Key | None, Component]:
    """The schedulable components of an object, keyed by instance."""
    series = Series.of(cal)
    return {component_key(c, series): c for c in schedulable(cal)}


def is_recurring(comp: Component) -> bool:
    """True when the component defines more than one instance."""
    return any(comp.get(p) is not None for p in ("RRULE", "RDATE", "EXRULE"))


def date_keys(comp: Component, name: str, series: Series) -> frozenset[Key]:
    """The keys of all values of a multi-valued date property (RDATE, EXDATE)."""
    props = comp.get(name)
    if props is None:
        return frozenset()
    keys: set[Key] = set()
    for prop in props if isinstance(props, list) else [props]:
        for item in getattr(prop, "dts", []):
            value = item.dt
            if isinstance(value, tuple):  # RDATE;VALUE=PERIOD: the start names the instance
                value = value[0]
            keys.add(series.key(value))
    return frozenset(keys)


def _master_only(cal: Calendar, master: Component) -> Calendar:
    """A calendar holding just the master and the time zones, for expansion."""
    out = Calendar()
    for sub in cal.subcomponents:
        if sub.name == "VTIMEZONE":
            out.add_component(sub)
    out.add_component(without_barren_rules(master))
    return out


def _expandable(cal: Calendar) -> Calendar:
    """``cal``, or a copy whose masters lack the rules that have no instance
    besides DTSTART: dateutil would look for one until the year 9999."""
    trimmed = [without_barren_rules(sub) if sub.get("RECURRENCE-ID") is None else sub for sub in cal.subcomponents]
    if all(new is old for new, old in zip(trimmed, cal.subcomponents)):
        return cal
    out = cal.copy()
    out.subcomponents = trimmed
    return out


def names_instance(cal: Calendar, key: Key) -> bool:
    """True when ``key`` is an instance of the series as the master defines it.

    Existing overrides count.  EXDATE'd or never-generated instances do not:
    a reply to them must not create a phantom override (anchors 6.4 #26).
    """
    series = Series.of(cal)
    comps = by_key(cal)
    if key in comps:
        return True
    master = comps.get(None)
    if master is None or master.get("DTSTART") is None:
        return False
    if not is_recurring(master):
        return series.key(master["DTSTART"].dt) == key
    # A plain series is walked from just before the key, not from DTSTART: a
    # reply may name an instance decades (or millennia) after the first.
    around = key if isinstance(key, datetime) else datetime.combine(key, time(), UTC)
    plain = plain_occurrences(
        without_barren_rules(master), around - _KEY_SLACK, around + _KEY_SLACK
    )
    if plain is not None:
        return any(series.key(start) == key for start, _ in plain)
    if isinstance(key, datetime):
        start, end = key - timedelta(seconds=1), key + timedelta(seconds=1)
    else:
        start, end = key, key + timedelta(days=1)
    query = recurring_ical_events.of(_master_only(cal, master))
    for occurrence in query.between(start, end):
        rid = occurrence.get("RECURRENCE-ID") or occurrence.get("DTSTART")
        if series.key(rid.dt) == key:
            return True
    return False


def has_instance_after(cal: Calendar, when: datetime) -> bool:
    """True when any instance of the object ends after ``when``.

    For the mail layer to skip invitations to events entirely in the past
    (anchors 6.7 #46); an unbounded RRULE always has one.
    """
    try:
        occurrences = recurring_ical_events.of(_expandable(cal)).after(when)
        return next(iter(occurrences), None) is not None
    except Exception:  # noqa: BLE001 - unreadable recurrence: assume it still matters
        return True


def derive_override(master: Component, key: Key, series: Series) -> Component:
    """A new override for one instance, copied from the master (RFC 5545 §3.8.4.4).

    The copy drops the recurrence rules, takes the instance's start as both
    RECURRENCE-ID and DTSTART, and keeps the master's duration.
    """
    override = copy.deepcopy(master)
    for name in _RECURRENCE_PROPS:
        override.pop(name, None)
    start = series.local(key)
    old_start = master["DTSTART"].dt if master.get("DTSTART") is not None else None
    old_end = master.get("DTEND") or master.get("DUE")
    for name in ("DTSTART", "RECURRENCE-ID"):
        override.pop(name, None)
        override.add(name, start)
    if old_end is not None and old_start is not None:
        end_name = "DTEND" if master.get("DTEND") is not None else "DUE"
        override.pop(end_name, None)
        override.add(end_name, start + (old_end.dt - old_start))
    return override

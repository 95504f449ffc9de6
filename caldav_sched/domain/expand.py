"""Calendar data as CALDAV:expand and CALDAV:limit-recurrence-set ask for it.

Layer: domain (pure).  Imports the standard library, ``icalendar`` and the
sibling ``timespan``/``query`` modules; never aiohttp, sqlite or
``caldav_sched.dav``.

RFC 4791 9.6.5 (expand): every instance that overlaps the range becomes a
component of its own with a RECURRENCE-ID, no RRULE/RDATE/EXDATE/EXRULE,
and no VTIMEZONE; date-times that reference a time zone are given in UTC.
All-day (DATE) and floating values stay as written, since they have no zone
to convert from.  RFC 4791 9.6.6 (limit-recurrence-set): the master stays,
overrides outside the range go.  Neither function mutates its input.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from icalendar import Calendar, Component
from icalendar.prop import vDDDTypes

from caldav_sched.domain.query import TimeRange, instance_overlaps
from caldav_sched.domain.timespan import (
    RECURRING_COMPONENTS,
    UTC,
    Instance,
    date_value,
    group_series,
    is_recurring,
    own_instance,
    to_utc,
    value_of,
)

_RECURRENCE_PROPERTIES = ("RRULE", "RDATE", "EXDATE", "EXRULE")
_END_PROPERTY = {"VEVENT": "DTEND", "VTODO": "DUE"}


def expand(cal: Calendar, rng: TimeRange, *, tz: tzinfo | None = None) -> Calendar:
    """RFC 4791 9.6.5: the instances of ``cal`` that overlap ``rng``, one component each.

    Overlap follows RFC 4791 9.9 (``tz`` reads floating values).
    Non-recurring components are kept when they overlap, with their zoned
    date-times in UTC and no RECURRENCE-ID added.  Components other than
    VEVENT/VTODO/VJOURNAL (VFREEBUSY, X-) are kept, VTIMEZONE dropped.
    """
    out = _empty_like(cal)
    for series in group_series(cal):
        recurring = bool(series.overrides) or (series.master is not None and is_recurring(series.master))
        picked = [i for i in series.instances(rng.start, rng.end) if instance_overlaps(i, rng, tz)]
        picked.sort(key=lambda i: _sort_key(i, tz))
        for instance in picked:
            out.add_component(_instance_component(instance, recurring))
    for component in cal.subcomponents:
        if component.name not in RECURRING_COMPONENTS and component.name != "VTIMEZONE":
            copy = component.copy(recursive=True)
            _zoned_to_utc(copy)
            out.add_component(copy)
    return out


def limit_recurrence_set(cal: Calendar, rng: TimeRange, *, tz: tzinfo | None = None) -> Calendar:
    """RFC 4791 9.6.6: keep masters, and only the overrides that concern ``rng``.

    An override concerns the range when its own instance overlaps it or its
    RECURRENCE-ID falls inside (the instance it replaces was in the range).
    The returned calendar shares its components with ``cal``.
    """
    out = _empty_like(cal)
    for component in cal.subcomponents:
        if _keep_in_limited(component, rng, tz):
            out.add_component(component)
    return out


def _keep_in_limited(component: Component, rng: TimeRange, tz: tzinfo | None) -> bool:
    rid = date_value(component, "RECURRENCE-ID")
    if rid is None or component.name not in RECURRING_COMPONENTS:
        return True
    if rng.contains(to_utc(rid, tz)):
        return True
    instance = own_instance(component)
    return instance is not None and instance_overlaps(instance, rng, tz)


def _empty_like(cal: Calendar) -> Calendar:
    out = Calendar()
    for name, value in cal.items():
        out[name] = value
    return out


def _sort_key(instance: Instance, tz: tzinfo | None) -> datetime:
    return to_utc(instance.start, tz) if instance.start is not None else datetime.min.replace(tzinfo=UTC)


def _instance_component(instance: Instance, recurring: bool) -> Component:
    component = instance.component.copy(recursive=True)
    for name in _RECURRENCE_PROPERTIES:
        component.pop(name, None)
    if recurring and instance.start is not None:
        if "DTSTART" in component:  # a to-do may recur from its DUE alone
            _set(component, "DTSTART", instance.start)
        end_name = _END_PROPERTY.get(component.name)
        if end_name is not None and end_name in component and instance.end is not None:
            _set(component, end_name, instance.end)
        if instance.recurrence_id is not None:
            _set(component, "RECURRENCE-ID", instance.recurrence_id)
    _zoned_to_utc(component)
    return component


def _set(component: Component, name: str, value: object) -> None:
    component.pop(name, None)
    component.add(name, value)


def _zoned_to_utc(component: Component) -> None:
    """Rewrite every DATE-TIME with a zone into UTC (dropping TZID), in place and below."""
    for name in list(component.keys()):
        value = component[name]
        if isinstance(value, list):
            component[name] = [_utc_property(v) for v in value]
        else:
            component[name] = _utc_property(value)
    for sub in component.subcomponents:
        _zoned_to_utc(sub)


def _utc_property(prop: object) -> object:
    value = value_of(prop)
    if not isinstance(value, datetime) or value.tzinfo is None:
        return prop
    params = {k: v for k, v in getattr(prop, "params", {}).items() if k.upper() != "TZID"}
    return vDDDTypes(value.astimezone(UTC), params=params or None)

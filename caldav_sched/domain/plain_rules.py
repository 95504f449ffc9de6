"""Plain recurrence rules of events, expanded with dateutil directly.

Layer: domain (pure).  Imports the standard library, ``icalendar`` and
``dateutil``; no clock reads.

``timespan.Series`` expands recurrences with ``recurring_ical_events``,
which handles every rule, RDATE periods, mixed value types and pytz zones.
Most series are simpler: a VEVENT with one RRULE repeating at most daily,
EXDATEs and no RDATE (a weekly meeting, a monthly review, a birthday).  For
those the library's generality costs more than the rule does: a weekly
series indexed for a year cost about 40 us an instance, and a birthday
from 1970 walked every month since.  :func:`plain_occurrences` expands such
a series with dateutil itself, giving the library's answers (DTSTART always
an instance, an EXDATE matched by UTC or by wall-clock time, each instance
as long as the master; tests/query/test_plain_rules.py holds it to the
library on random rules, zones and windows), and for a rule without COUNT
it starts the walk a whole number of periods before the window instead of
at DTSTART.  Anything else returns None: the caller asks the library.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Union

from dateutil.rrule import rrule, rrulestr
from icalendar import Component
from icalendar.prop import vBroken, vRecur

Value = Union[date, datetime]

#: Rules repeating at most daily: a window of a year holds a few hundred.
_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_SUB_DAILY_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")


def plain_occurrences(
    master: Component, start: datetime, stop: datetime
) -> list[tuple[Value, Value]] | None:
    """``(start, end)`` of every instance of ``master`` that may overlap
    ``[start, stop]`` (aware datetimes), possibly a few more, in start order;
    None when the master's rules are not plain (see the module's docstring)."""
    plain = _plain(master)
    if plain is None:
        return None
    first, length, rule, excluded, as_dates = plain
    zone = first.tzinfo
    # The window in the rule's frame: a floating or DATE series reads it as
    # wall-clock time (the library does the same; callers widen the window
    # by more than any zone moves it).
    lo = _in_frame(start, zone) - length
    hi = _in_frame(stop, zone)
    # COUNT counts from DTSTART: such a rule is walked from there.
    dtstart = first if rule.get("COUNT") else _walk_start(first, lo, rule)
    try:
        expanded = rrulestr(rule.to_ical().decode(), dtstart=dtstart, cache=False)
    except (ValueError, TypeError, OverflowError):
        return None  # an UNTIL of another type than DTSTART: the library rewrites it
    if not isinstance(expanded, rrule):
        return None
    until = expanded._until  # noqa: SLF001 - dateutil keeps UNTIL only here
    try:
        starts = expanded.between(lo, hi, inc=True)
    except (ValueError, TypeError, OverflowError):
        return None
    # RFC 5545 3.8.5.3: DTSTART is the first instance, matched by the rule or not.
    if lo <= first <= hi and (until is None or first <= until) and first not in starts:
        starts.insert(0, first)
    found = []
    for occurrence in starts:
        if excluded and not excluded.isdisjoint(_recurrence_ids(occurrence)):
            continue
        end = occurrence + length
        found.append((occurrence.date(), end.date()) if as_dates else (occurrence, end))
    return found


#: DTSTART as a datetime, the length, the rule, the EXDATEs' keys, whether a DATE series.
_Plain = tuple[datetime, timedelta, vRecur, set[datetime], bool]


def _plain(master: Component) -> _Plain | None:
    """The parts of a plain series, or None."""
    if master.name != "VEVENT" or "RDATE" in master or "RECURRENCE-ID" in master:
        return None
    rules = master.get("RRULE")
    if not isinstance(rules, vRecur):
        return None  # none, several, or one that did not parse
    freq = rules.get("FREQ") or [""]
    if len(freq) != 1 or str(freq[0]).upper() not in _FREQUENCIES:
        return None
    if any(rules.get(part) for part in _SUB_DAILY_PARTS):
        return None
    count = rules.get("COUNT")
    if count and not (isinstance(count[0], int) and count[0] > 0):
        return None
    interval = rules.get("INTERVAL")
    if interval and not (isinstance(interval[0], int) and interval[0] > 0):
        return None
    start = _value(master, "DTSTART")
    if start is None or _is_pytz(start):
        return None
    end = _end(master, start)
    if end is None or type(end) is not type(start) or _aware(end) != _aware(start):
        return None
    first, last = _as_datetime(start), _as_datetime(end)
    length = last - first
    if length < timedelta(0):
        return None  # the library swaps such ends; rare enough to leave to it
    # EXDATEs of DTSTART's type only: the library's rules for other mixes
    # (a DATE removing a whole day of timed instances) stay with it.
    excluded: set[datetime] = set()
    exdates = master.get("EXDATE")
    for prop in exdates if isinstance(exdates, list) else [exdates] if exdates is not None else []:
        if isinstance(prop, vBroken):
            return None
        for item in getattr(prop, "dts", []):
            value = item.dt
            if not isinstance(value, date) or type(value) is not type(start):
                return None  # a period, or a value of another type than DTSTART
            if isinstance(value, datetime) and (_aware(value) != _aware(start) or _is_pytz(value)):
                return None
            excluded.update(_recurrence_ids(_as_datetime(value)))
    return first, length, cheaper_rule(rules), excluded, not isinstance(start, datetime)


def _value(component: Component, name: str) -> Value | None:
    prop = component.get(name)
    if prop is None or isinstance(prop, (vBroken, list)):
        return None
    value = getattr(prop, "dt", None)
    return value if isinstance(value, date) else None


def _end(master: Component, start: Value) -> Value | None:
    """The master's end as the library reads it: DTEND, DTSTART + DURATION, or the default."""
    if "DTEND" in master:
        return _value(master, "DTEND")
    if "DURATION" in master:
        prop = master.get("DURATION")
        duration = None if isinstance(prop, (vBroken, list)) else getattr(prop, "dt", None)
        if not isinstance(duration, timedelta):
            return None
        if not isinstance(start, datetime) and (duration.seconds or duration.microseconds):
            return None  # a DATE start with a time-of-day duration: the library's mixed case
        return start + duration
    return start if isinstance(start, datetime) else start + timedelta(days=1)


def cheaper_rule(rule: vRecur) -> vRecur:
    """``rule``, or for a yearly rule without BY parts the same set as a
    monthly one every 12 x INTERVAL months.

    dateutil walks a FREQ=YEARLY rule one year at a time over every day of
    the year (about 0.1 ms a year), a monthly one a month at a time: ten
    times cheaper.  The sets are the same: the same day of the month,
    invalid days such as 29 February skipped in both, COUNT and UNTIL the
    same.
    """
    if str((rule.get("FREQ") or [""])[0]).upper() != "YEARLY" or any(part.startswith("BY") for part in rule):
        return rule
    monthly = vRecur({key: value for key, value in rule.items()})
    monthly["FREQ"] = ["MONTHLY"]
    monthly["INTERVAL"] = [12 * int((rule.get("INTERVAL") or [1])[0] or 1)]
    return monthly


def _walk_start(first: datetime, lo: datetime, rule: vRecur) -> datetime:
    """A DTSTART for dateutil's walk: ``first`` moved forward by whole
    periods of the rule to at least a period before ``lo``.

    For a rule without COUNT this gives the same instances from there on:
    every BY part and INTERVAL repeats with the period, and the parts
    dateutil takes from DTSTART (the weekday of a weekly rule, the day of a
    monthly one, the month and day of a yearly one) are kept, as is the wall
    time.  A day of the month past the 28th is not moved by months.
    """
    freq = str(rule["FREQ"][0]).upper()
    interval = int((rule.get("INTERVAL") or [1])[0] or 1)
    if interval < 1 or lo <= first:
        return first
    if freq in ("DAILY", "WEEKLY"):
        step = interval * (7 if freq == "WEEKLY" else 1)
        steps = ((lo - first).days // step) - 1
        return first + timedelta(days=steps * step) if steps > 0 else first
    months = (lo.year - first.year) * 12 + lo.month - first.month
    step = interval * (12 if freq == "YEARLY" else 1)
    steps = months // step - 1
    if steps <= 0 or first.day > 28:
        return first
    month = first.month - 1 + steps * step
    return first.replace(year=first.year + month // 12, month=month % 12 + 1)


def _in_frame(moment: datetime, zone: object) -> datetime:
    """An aware moment as the series compares it: in its zone, or wall-clock when it has none."""
    return moment.replace(tzinfo=None) if zone is None else moment


def _as_datetime(value: Value) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time(0))


def _aware(value: Value) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None


def _is_pytz(value: Value) -> bool:
    return isinstance(value, datetime) and hasattr(value.tzinfo, "localize")


def _recurrence_ids(value: datetime) -> tuple[datetime, ...]:
    """The keys the library matches an instance and an EXDATE by: UTC and wall-clock time."""
    if value.tzinfo is None:
        return (value,)
    return (value.astimezone(timezone.utc).replace(tzinfo=None), value.replace(tzinfo=None))

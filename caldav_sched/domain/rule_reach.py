"""Whether a recurrence rule has any instance besides DTSTART, decided exactly and cheaply.

Layer: domain (pure).  Imports the standard library, ``icalendar`` and
``dateutil``; no clock reads.

dateutil checks UNTIL and COUNT only on candidates, and ends a search that
finds none only at the year 9999.  A rule with no instance at all
(``FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30``) therefore walked every day from
DTSTART to 9999, seconds of CPU on every expansion.  RFC 5545 3.8.5.3 makes
DTSTART the first instance whatever the rule says, so such a series is
DTSTART alone; :func:`without_barren_rules` gives the expanders a copy
without those rules, and :func:`rule_recurs` is the exact test behind it.

The test rests on the Gregorian calendar repeating every 400 years
(146097 days, exactly 20871 weeks, 4800 months): every BY part of RFC 5545
(month, week number, day of year or month, weekday with or without an
ordinal, BYSETPOS) picks the same days in one 400-year cycle as in the
next, so moving DTSTART by 400 years moves every instance by 400 years.
Whether a rule has a further instance is then answered by expanding it,
with dateutil, from a DTSTART moved close to the year 9999 by whole cycles,
for one whole period of the rule: dateutil's own stop at 9999 ends the walk.

* YEARLY, MONTHLY, WEEKLY: the rule itself is walked for its whole period,
  ``lcm(INTERVAL, cycle)`` of its unit: at most about 800 years, 9600
  months or 41742 weeks (tens of milliseconds).
* DAILY and finer: a walk of 400 years of days would cost a tenth of a
  second, so the days are found apart from the times.  The days that pass
  the day filters are those of a yearly rule with the same filters (400
  iterations); which of them the INTERVAL reaches at an allowed time of day
  depends only on their distance from DTSTART modulo ``INTERVAL / gcd(
  INTERVAL, units per day)`` days, which is arithmetic.

BYEASTER (dateutil's, not RFC 5545's) follows a cycle of millions of years;
a rule with it is not expanded.  Results are cached by rule text and
DTSTART: a stored series pays for its probe once per process.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from dateutil.rrule import DAILY, HOURLY, MINUTELY, MONTHLY, SECONDLY, WEEKLY, YEARLY, rrule, rrulestr
from icalendar import Component
from icalendar.prop import vBroken, vRecur

#: The Gregorian cycle in each unit a rule can step by.
CYCLE_YEARS = 400
CYCLE_DAYS = 146097
_CYCLE = {YEARLY: CYCLE_YEARS, MONTHLY: 4800, WEEKLY: 20871}
#: Units per day of the frequencies finer than a day.
_PER_DAY = {DAILY: 1, HOURLY: 24, MINUTELY: 1440, SECONDLY: 86400}
#: The last year dateutil expands; a walk is placed to end within it.
_LAST_YEAR = 9999
_ALL_WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)


def without_barren_rules(component: Component) -> Component:
    """``component``, or a shallow copy without the RRULEs that have no
    instance besides DTSTART (or that this server does not expand)."""
    rules = raw_rules(component)
    start = _start(component)
    if not rules or start is None:
        return component
    kept = [rule for rule in rules if isinstance(rule, vBroken) or not isinstance(rule, vRecur)
            or rule_recurs(rule, start)]
    if len(kept) == len(rules):
        return component
    return with_rules(component, kept)


def with_rules(component: Component, rules: list) -> Component:
    """A shallow copy of ``component`` whose RRULEs are ``rules``."""
    copy = component.copy()
    copy.pop("RRULE")
    for rule in rules:
        copy.add("RRULE", rule)
    return copy


def barren_rules(component: Component) -> list[vRecur]:
    """The RRULEs of ``component`` that have no instance besides DTSTART."""
    start = _start(component)
    if start is None:
        return []
    return [rule for rule in raw_rules(component)
            if isinstance(rule, vRecur) and not rule_recurs(rule, start)]


def rule_recurs(rule: vRecur, start: date | datetime) -> bool:
    """Whether ``rule`` from ``start`` has an instance after ``start`` (COUNT and UNTIL aside).

    True as well for a rule dateutil cannot read: the expanders' own
    fallbacks deal with it, at no cost.
    """
    if "BYEASTER" in rule:
        return False
    unbounded = vRecur({key: value for key, value in rule.items() if key not in ("COUNT", "UNTIL")})
    try:
        text = unbounded.to_ical().decode()
    except Exception:  # noqa: BLE001 - icalendar raises several types on odd values
        return True
    wall = start if isinstance(start, datetime) else datetime.combine(start, time(0))
    return _recurs(text, wall.replace(tzinfo=None))


@functools.lru_cache(maxsize=4096)
def _recurs(text: str, start: datetime) -> bool:
    try:
        parsed = rrulestr(text, dtstart=start, cache=False)
    except (ValueError, TypeError, OverflowError):
        return True
    if not isinstance(parsed, rrule) or parsed._interval < 1:  # noqa: SLF001
        return True  # INTERVAL below 1 is refused and skipped elsewhere
    freq = parsed._freq  # noqa: SLF001
    try:
        if freq in _CYCLE:
            return _walk_finds_one(text, start, freq, parsed._interval)  # noqa: SLF001
        return _days_and_times_meet(parsed, start)
    except (ValueError, TypeError, OverflowError, IndexError, KeyError):
        # dateutil reads some values it cannot walk (BYMONTH=60): it fails
        # at the first step, here as in every expansion after.
        return True


# -- YEARLY, MONTHLY, WEEKLY: one whole period, walked ---------------------------


def _walk_finds_one(text: str, start: datetime, freq: int, interval: int) -> bool:
    """Expand the rule for one whole period, placed to end with dateutil's last year."""
    cycle = _CYCLE[freq]
    period_years = CYCLE_YEARS * interval // math.gcd(interval, cycle)
    moved = _moved_by_cycles(start, period_years)
    if freq == WEEKLY:
        moved = _moved_by_weeks(moved, period_years * CYCLE_DAYS // CYCLE_YEARS, interval)
    later = (moment for moment in rrulestr(text, dtstart=moved, cache=False) if moment > moved)
    return next(later, None) is not None


def _moved_by_cycles(start: datetime, span_years: int) -> datetime:
    """``start`` moved by whole 400-year cycles as late as leaves ``span_years`` before 9999 ends.

    A span longer than the years left is not moved: dateutil stops at 9999
    anyway, which is where the series' instances end for it too.
    """
    cycles = (_LAST_YEAR - 1 - span_years - start.year) // CYCLE_YEARS
    if cycles <= 0:
        return start
    return start.replace(year=start.year + cycles * CYCLE_YEARS)


def _moved_by_weeks(start: datetime, span_days: int, interval: int) -> datetime:
    """``start`` moved by whole periods of a weekly rule as late as leaves ``span_days``
    before 9999 ends: the same weekday, time and phase, so the same instances from there."""
    room = (datetime(_LAST_YEAR - 1, 12, 31) - start).days - span_days
    periods = room // (7 * interval)
    return start + timedelta(weeks=periods * interval) if periods > 0 else start


# -- DAILY and finer: days by a yearly rule, times by arithmetic -------------------


def _days_and_times_meet(parsed: rrule, start: datetime) -> bool:
    """Whether some day that passes the rule's day filters is reached at an allowed time."""
    if not _sets_keep_something(parsed):
        return False
    units = _PER_DAY[parsed._freq]  # noqa: SLF001
    interval = parsed._interval  # noqa: SLF001
    # The times of day reached on a day depend on its distance from DTSTART
    # modulo ``period`` days; day filters repeat every cycle, so only that
    # distance modulo ``modulus`` decides whether one of them is ever reached.
    period = interval // math.gcd(interval, units)
    modulus = math.gcd(period, CYCLE_DAYS)
    wanted = _reached_distances(parsed, start, units, period, modulus)
    if not wanted:
        return False
    first = start.toordinal()
    return any((day.toordinal() - first) % modulus in wanted for day in _filtered_days(parsed))


def _sets_keep_something(parsed: rrule) -> bool:
    """BYSETPOS of a daily or finer rule picks from the same times in every period."""
    positions = parsed._bysetpos  # noqa: SLF001
    if not positions:
        return True
    freq = parsed._freq  # noqa: SLF001
    if freq == DAILY:
        size = len(parsed._timeset)  # noqa: SLF001
    elif freq == HOURLY:
        size = len(parsed._byminute) * len(parsed._bysecond)  # noqa: SLF001
    elif freq == MINUTELY:
        size = len(parsed._bysecond)  # noqa: SLF001
    else:
        size = 1
    return any(1 <= abs(position) <= size for position in positions)


def _reached_distances(parsed: rrule, start: datetime, units: int, period: int, modulus: int) -> set[int]:
    """Distances in days from DTSTART (modulo ``modulus``) of days the INTERVAL reaches at an allowed time.

    Instances fall ``k * INTERVAL`` units after DTSTART; on the day ``d``
    days later, time ``q`` (in units since midnight) is one exactly when
    ``d * units + q - start_q`` is a multiple of INTERVAL.
    """
    interval = parsed._interval  # noqa: SLF001
    start_q = _units_into_day(start, parsed._freq)  # noqa: SLF001
    common = math.gcd(interval, units)
    step = pow(units // common, -1, period) if period > 1 else 0
    wanted: set[int] = set()
    for q in _allowed_times(parsed):
        gap = start_q - q
        if gap % common:
            continue
        wanted.add((gap // common * step) % period % modulus)
        if len(wanted) == modulus:
            break
    return wanted


def _units_into_day(moment: datetime, freq: int) -> int:
    if freq == DAILY:
        return 0
    if freq == HOURLY:
        return moment.hour
    if freq == MINUTELY:
        return moment.hour * 60 + moment.minute
    return (moment.hour * 60 + moment.minute) * 60 + moment.second


def _allowed_times(parsed: rrule) -> Iterable[int]:
    """The times of day (in the rule's unit) its BYHOUR, BYMINUTE and BYSECOND allow."""
    freq = parsed._freq  # noqa: SLF001
    if freq == DAILY:
        return (0,)
    hours = parsed._byhour or range(24)  # noqa: SLF001
    if freq == HOURLY:
        return hours
    minutes = parsed._byminute or range(60)  # noqa: SLF001
    if freq == MINUTELY:
        return (h * 60 + m for h in hours for m in minutes)
    seconds = parsed._bysecond or range(60)  # noqa: SLF001
    return ((h * 60 + m) * 60 + s for h in hours for m in minutes for s in seconds)


def _filtered_days(parsed: rrule) -> Iterable[datetime]:
    """Every day of one 400-year cycle that the rule's day filters let through.

    A yearly rule with the same filters picks the same days; an all-weekdays
    filter keeps dateutil from filling in DTSTART's month and day.
    """
    monthdays = tuple(parsed._bymonthday) + tuple(parsed._bynmonthday)  # noqa: SLF001
    first = datetime(_LAST_YEAR + 1 - CYCLE_YEARS, 1, 1)
    return rrule(
        YEARLY,
        dtstart=first,
        bymonth=parsed._bymonth,  # noqa: SLF001
        bymonthday=monthdays or None,
        byyearday=parsed._byyearday,  # noqa: SLF001
        byweekno=parsed._byweekno,  # noqa: SLF001
        byweekday=parsed._byweekday or _ALL_WEEKDAYS,  # noqa: SLF001
        wkst=parsed._wkst,  # noqa: SLF001
        byhour=0,
        byminute=0,
        bysecond=0,
        cache=False,
    )


# -- reading the component ---------------------------------------------------------


def raw_rules(component: Component) -> list:
    """The RRULE values of ``component`` as parsed, unreadable ones included."""
    value = component.get("RRULE")
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _start(component: Component) -> date | datetime | None:
    """The value a component's rules count from: DTSTART, or DUE of a to-do without one."""
    for name in ("DTSTART", "DUE"):
        prop = component.get(name)
        value = None if prop is None or isinstance(prop, (vBroken, list)) else getattr(prop, "dt", None)
        if isinstance(value, date):
            return value
    return None

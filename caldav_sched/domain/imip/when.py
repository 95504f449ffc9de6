"""Dates, times and recurrence rules in words, for subjects and mail bodies.

Owns how an event's time reads to a person: in the event's own time zone,
with the zone named (the reader's client shows their local time from the
attached iCalendar; the mail text must not guess it), all-day dates as
dates, and common RRULEs in English ("every week on Monday").  Anything
unusual is shown as the raw RRULE rather than described wrongly.

Names of days and months come from tables here, not from ``strftime``, so
the output does not depend on the process locale.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from icalendar.cal import Component

DAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)
WEEKDAYS = {
    "MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday",
    "FR": "Friday", "SA": "Saturday", "SU": "Sunday",
}
WORKWEEK = ["MO", "TU", "WE", "TH", "FR"]
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last", -2: "second to last"}
UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
# RRULE parts the describer understands; any other part means "show it raw".
DESCRIBABLE = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "WKST"}


def format_date(value: date) -> str:
    """``Tue 10 Jun 2025``."""
    return f"{DAY_ABBR[value.weekday()]} {value.day} {MONTH_ABBR[value.month - 1]} {value.year}"


def format_time(value: datetime) -> str:
    """``09:00`` (24-hour clock: unambiguous in every country)."""
    return f"{value.hour:02d}:{value.minute:02d}"


def zone_label(prop: object) -> str | None:
    """The zone a DTSTART-like property is written in; None for floating time.

    The TZID parameter is preferred over the tzinfo because it is what the
    organizer's client chose to call the zone (and Outlook's Windows names
    have no tz database key).
    """
    params = getattr(prop, "params", {}) or {}
    tzid = params.get("TZID")
    if tzid:
        return str(tzid)
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return _tz_name(value.tzinfo, value)
    return None


def _tz_name(tz: tzinfo, value: datetime) -> str:
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)
    if key in ("UTC", "Etc/UTC", "Z") or (not key and value.utcoffset() == timedelta(0)):
        return "UTC"
    return str(key or tz.tzname(value) or "UTC")


def component_end(comp: Component) -> date | datetime | None:
    """DTEND, DUE, or DTSTART + DURATION; None for an event without a span."""
    for name in ("DTEND", "DUE"):
        prop = comp.get(name)
        if prop is not None and hasattr(prop, "dt"):
            return prop.dt
    start = comp.get("DTSTART")
    duration = comp.get("DURATION")
    if start is not None and duration is not None and isinstance(getattr(duration, "dt", None), timedelta):
        return start.dt + duration.dt
    return None


def describe_when(comp: Component) -> str:
    """When a component happens, e.g. ``Tue 10 Jun 2025 09:00-10:00 (Europe/Berlin)``."""
    prop = comp.get("DTSTART")
    if prop is None:
        prop = comp.get("RECURRENCE-ID")
    start = getattr(prop, "dt", None)
    if not isinstance(start, date):  # none, or a duration or time a PUT refuses today
        return ""
    end = component_end(comp)
    if not isinstance(start, datetime):
        return _all_day(start, end)
    return _timed(start, end, zone_label(prop))


def describe_moment(prop: object) -> str:
    """One point in time (a RECURRENCE-ID, say) in the same words, no end."""
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        return _timed(value, None, zone_label(prop))
    return format_date(value) if isinstance(value, date) else ""


def _all_day(start: date, end: date | datetime | None) -> str:
    # DTEND of an all-day event is exclusive (RFC 5545 §3.6.1).
    last = end - timedelta(days=1) if isinstance(end, date) and not isinstance(end, datetime) else start
    if last <= start:
        return f"{format_date(start)} (all day)"
    return f"{format_date(start)} - {format_date(last)} (all day)"


def _timed(start: datetime, end: date | datetime | None, zone: str | None) -> str:
    label = f" ({zone})" if zone else " (floating time)"
    if not _comparable(start, end) or end <= start:
        return f"{format_date(start)} {format_time(start)}{label}"
    if start.tzinfo is not None and end.tzinfo is not None:
        end = end.astimezone(start.tzinfo)  # one zone in the text, the start's
    if end.date() == start.date():
        return f"{format_date(start)} {format_time(start)}-{format_time(end)}{label}"
    return f"{format_date(start)} {format_time(start)} - {format_date(end)} {format_time(end)}{label}"


def _comparable(start: datetime, end: object) -> bool:
    # A floating start with a zoned end (or the reverse) cannot be ordered.
    return isinstance(end, datetime) and (start.tzinfo is None) == (end.tzinfo is None)


def describe_recurrence(comp: Component) -> str | None:
    """The RRULE in words, the raw rule when it is unusual, None without one."""
    rule = comp.get("RRULE")
    if rule is None:
        return None
    if isinstance(rule, list):  # several RRULEs (deprecated, but legal): too rare to describe
        return "; ".join(_raw(r) for r in rule)
    start = getattr(comp.get("DTSTART"), "dt", None)
    words = _rule_words(rule, start if isinstance(start, date) else None)
    return words if words is not None else _raw(rule)


def _raw(rule: object) -> str:
    to_ical = getattr(rule, "to_ical", None)
    text = to_ical().decode("utf-8", "replace") if to_ical else str(rule)
    return f"RRULE:{text}"


def _rule_words(rule: dict, start: date | datetime | None) -> str | None:
    parts = {str(k).upper(): list(v) if isinstance(v, list | tuple) else [v] for k, v in rule.items()}
    if not set(parts) <= DESCRIBABLE or len(parts.get("FREQ", [])) != 1:
        return None
    freq = str(parts["FREQ"][0]).upper()
    unit = UNITS.get(freq)
    interval = _int(parts.get("INTERVAL", [1])[0])
    if unit is None or interval is None or interval < 1:
        return None
    head = f"every {unit}" if interval == 1 else f"every {interval} {unit}s"
    detail = _detail(freq, parts, start)
    if detail is None:
        return None
    return head + detail + _limit(parts, start)


def _detail(freq: str, parts: dict[str, list], start: date | datetime | None) -> str | None:
    days = [str(d).upper() for d in parts.get("BYDAY", [])]
    monthdays = [_int(d) for d in parts.get("BYMONTHDAY", [])]
    months = [_int(m) for m in parts.get("BYMONTH", [])]
    if freq == "DAILY":
        if monthdays or months:
            return None
        if not days:
            return ""
        return " on weekdays" if days == WORKWEEK else _plain_days(days)
    if freq == "WEEKLY":
        if monthdays or months:
            return None
        if not days and start is not None:
            days = [list(WEEKDAYS)[start.weekday()]]
        return " on weekdays" if days == WORKWEEK else _plain_days(days)
    if freq == "MONTHLY":
        if months:
            return None
        return _in_month(days, monthdays, start)
    # YEARLY
    if len(months) > 1 or None in months:
        return None
    month = months[0] if months else (start.month if start is not None else None)
    if month is None or not 1 <= month <= 12:
        return None
    inner = _in_month(days, monthdays, start)
    if inner is None:
        return None
    if inner.startswith(" on day "):
        return f" on {inner.removeprefix(' on day ')} {MONTH_NAMES[month - 1]}"
    return f"{inner} of {MONTH_NAMES[month - 1]}"


def _in_month(days: list[str], monthdays: list[int | None], start: date | datetime | None) -> str | None:
    """``on day 15``, ``on the last day``, ``on the second Tuesday``; None if unusual."""
    if days and monthdays or len(days) > 1 or len(monthdays) > 1:
        return None
    if monthdays:
        day = monthdays[0]
        if day == -1:
            return " on the last day"
        return f" on day {day}" if day is not None and 1 <= day <= 31 else None
    if days:
        ordinal, weekday = days[0][:-2], days[0][-2:]
        name = ORDINALS.get(_int(ordinal.lstrip("+")) or 0)
        if weekday not in WEEKDAYS or name is None:
            return None
        return f" on the {name} {WEEKDAYS[weekday]}"
    return f" on day {start.day}" if start is not None else ""


def _plain_days(days: list[str]) -> str | None:
    if not days or any(d not in WEEKDAYS for d in days):
        return None  # an ordinal such as 1MO inside a weekly rule: show it raw
    names = [WEEKDAYS[d] for d in days]
    return " on " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def _limit(parts: dict[str, list], start: date | datetime | None) -> str:
    if "COUNT" in parts:
        count = _int(parts["COUNT"][0])
        return f", {count} times" if count and count > 1 else ", once"
    if "UNTIL" in parts:
        until = parts["UNTIL"][0]
        if isinstance(until, datetime):
            if until.tzinfo is not None and isinstance(start, datetime) and start.tzinfo is not None:
                until = until.astimezone(start.tzinfo)
            until = until.date()
        if isinstance(until, date):
            return f", until {format_date(until)}"
    return ""


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None

"""Plain series expanded by dateutil directly give recurring-ical-events' instances.

``domain.plain_rules`` expands the common series (a VEVENT with one RRULE
repeating at most daily, EXDATEs, no RDATE) itself, and starts the walk of
a rule without COUNT near the window rather than at DTSTART.  The library is
the oracle: on random rules (every frequency, INTERVAL, COUNT and UNTIL,
BYDAY with and without ordinals, BYMONTHDAY, BYMONTH, BYSETPOS, WKST),
random starts from 1950 to 2035 (all-day, floating, UTC, zones with DST
changes, a zone from the object's own VTIMEZONE, times inside a DST gap),
random EXDATEs (instances written in the series' zone, in UTC, as DATEs)
and random windows near and far from the start, every instance the library
finds in the window is found, with the same start, end, type and offset,
and every extra one is an instance the library finds in a wider window.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_outcome
from hypothesis import strategies as st
from icalendar import Calendar, Component
from recurring_ical_events.util import time_span_contains_event

from caldav_sched.domain.plain_rules import plain_occurrences
from caldav_sched.domain.timespan import Series, library_occurrences
from tests.query._query_helpers import BERLIN_VTIMEZONE, cal, event

UTC = timezone.utc
CUSTOM_VTIMEZONE = BERLIN_VTIMEZONE.replace("TZID:Europe/Berlin", "TZID:Office time")
KINDS = ["date", "floating", "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Office time"]
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def written(value: datetime, kind: str, name: str) -> str:
    """A property line holding ``value`` (wall-clock) as ``kind`` says."""
    if kind == "date":
        return f"{name};VALUE=DATE:{value:%Y%m%d}"
    if kind == "floating":
        return f"{name}:{value:%Y%m%dT%H%M%S}"
    if kind == "UTC":
        return f"{name}:{value:%Y%m%dT%H%M%S}Z"
    return f"{name};TZID={kind}:{value:%Y%m%dT%H%M%S}"


@st.composite
def rules(draw: st.DrawFn, first: datetime, kind: str) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 4))}")
    ending = draw(st.sampled_from(["none", "none", "count", "until"]))
    if ending == "count":
        parts.append(f"COUNT={draw(st.integers(1, 60))}")
    elif ending == "until":
        until = first + timedelta(days=draw(st.integers(-10, 4000)), hours=draw(st.integers(0, 23)))
        until_kind = draw(st.sampled_from(["as start", "as start", "date", "UTC", "floating"]))
        if until_kind == "as start":
            until_kind = "UTC" if kind not in ("date", "floating") else kind
        parts.append("UNTIL=" + written(until, until_kind, "X").partition(":")[2])
    if freq in ("WEEKLY", "MONTHLY", "YEARLY") and draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3, unique=True))
        if freq != "WEEKLY" and draw(st.booleans()):
            days = [f"{draw(st.sampled_from([1, 2, -1]))}{day}" for day in days]
        parts.append("BYDAY=" + ",".join(days))
    if freq in ("MONTHLY", "YEARLY") and draw(st.integers(0, 3)) == 0:
        days = draw(st.lists(st.sampled_from([1, 13, 28, 29, 30, 31, -1]), min_size=1, max_size=2, unique=True))
        parts.append("BYMONTHDAY=" + ",".join(map(str, days)))
    if freq in ("DAILY", "YEARLY") and draw(st.integers(0, 3)) == 0:
        months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True))
        parts.append("BYMONTH=" + ",".join(map(str, months)))
    if any(p.startswith("BYDAY") for p in parts) and draw(st.integers(0, 4)) == 0:
        parts.append(f"BYSETPOS={draw(st.sampled_from([1, -1, 2]))}")
    if freq == "WEEKLY" and draw(st.integers(0, 3)) == 0:
        parts.append(f"WKST={draw(st.sampled_from(['MO', 'SU', 'WE']))}")
    return "RRULE:" + ";".join(parts)


@st.composite
def series_and_window(draw: st.DrawFn) -> tuple[Component, datetime, datetime]:
    kind = draw(st.sampled_from(KINDS))
    day = draw(st.dates(min_value=date(1950, 1, 1), max_value=date(2035, 12, 31)))
    # 02:30 falls into the spring DST gap of Berlin and New York on their change days.
    clock = draw(st.sampled_from([(0, 0), (2, 30), (9, 0), (14, 30), (23, 0)]))
    first = datetime(day.year, day.month, day.day, *clock)
    if kind == "date":
        first = first.replace(hour=0, minute=0)
    lines = [written(first, kind, "DTSTART"), draw(rules(first, kind))]
    ending = draw(st.sampled_from(["dtend", "duration", "none"]))
    if ending == "dtend":
        days = draw(st.integers(0, 3))
        hours = 0 if kind == "date" else draw(st.integers(0, 30))
        lines.append(written(first + timedelta(days=days, hours=hours), kind, "DTEND"))
    elif ending == "duration":
        lines.append(f"DURATION:P{draw(st.integers(0, 2))}DT{draw(st.integers(0, 5))}H")
    zones = CUSTOM_VTIMEZONE if kind == "Office time" else ""
    master = cal(event(*lines), timezones=zones).walk("VEVENT")[0]
    # EXDATEs: instances of the series (in its own form, in UTC, as a DATE) and near misses.
    known = library_occurrences(master, _utc(first) - timedelta(days=1), _utc(first) + timedelta(days=800))
    exdates = []
    for start, _ in draw(st.lists(st.sampled_from(known), max_size=3)) if known else []:
        form = draw(st.sampled_from(["own", "own", "UTC", "date", "shifted"]))
        wall = datetime.combine(start, datetime.min.time()) if not isinstance(start, datetime) else start
        if form == "UTC" and isinstance(start, datetime) and start.tzinfo is not None:
            exdates.append(written(start.astimezone(UTC).replace(tzinfo=None), "UTC", "EXDATE"))
        elif form == "date":
            exdates.append(written(wall, "date", "EXDATE"))
        elif form == "shifted":
            exdates.append(written(wall.replace(tzinfo=None) + timedelta(hours=1), kind, "EXDATE"))
        else:
            exdates.append(written(wall.replace(tzinfo=None), kind, "EXDATE"))
    if exdates:
        master = cal(event(*lines, *exdates), timezones=zones).walk("VEVENT")[0]
    offset = timedelta(days=draw(st.integers(-400, 40 * 366)), hours=draw(st.integers(0, 23)))
    start = _utc(first) + offset
    stop = start + timedelta(days=draw(st.sampled_from([1, 7, 31, 200, 400, 800])))
    return master, start, stop


def _utc(value: date | datetime) -> datetime:
    if not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def comparable(found: list) -> list:
    """Instances with what equality of aware datetimes would hide: type and offset."""
    def one(value: date | datetime) -> tuple:
        if isinstance(value, datetime):
            return ("datetime", value.replace(tzinfo=None), value.utcoffset())
        return ("date", value, None)
    return sorted((one(start), one(end)) for start, end in found)


def assert_same_as_library(master: Component, start: datetime, stop: datetime) -> bool:
    plain = plain_occurrences(master, start, stop)
    if plain is None:
        return False
    in_window = [(s, e) for s, e in plain if time_span_contains_event(start, stop, s, e)]
    assert comparable(in_window) == comparable(library_occurrences(master, start, stop))
    wider = library_occurrences(master, start - timedelta(days=5) - _length(plain), stop + timedelta(days=5))
    assert set(comparable(plain)) <= set(comparable(wider))
    assert [_utc(s) for s, _ in plain] == sorted(_utc(s) for s, _ in plain)
    return True


def _length(found: list) -> timedelta:
    return max((_utc(e) - _utc(s) for s, e in found), default=timedelta(0))


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(series_and_window())
def test_plain_series_give_the_library_instances(case: tuple[Component, datetime, datetime]) -> None:
    master, start, stop = case
    note_outcome("expanded here" if assert_same_as_library(master, start, stop) else "left to the library")


# -- by name --------------------------------------------------------------------


def master_of(*lines: str, timezones: str = "") -> Component:
    return cal(event(*lines), timezones=timezones).walk("VEVENT")[0]


def window(start: str, days: int) -> tuple[datetime, datetime]:
    begin = datetime.strptime(start, "%Y%m%d").replace(tzinfo=UTC)
    return begin, begin + timedelta(days=days)


def test_a_birthday_from_1950_is_walked_from_near_the_window() -> None:
    master = master_of("DTSTART;VALUE=DATE:19500310", "RRULE:FREQ=YEARLY", "SUMMARY:Birthday")
    start, stop = window("20260101", 365)
    assert assert_same_as_library(master, start, stop)
    assert plain_occurrences(master, start, stop) == [(date(2026, 3, 10), date(2026, 3, 11))]


def test_the_29th_of_february_and_the_31st_keep_their_gaps() -> None:
    leap = master_of("DTSTART;VALUE=DATE:19600229", "RRULE:FREQ=YEARLY")
    start, stop = window("20250101", 4 * 366)
    assert assert_same_as_library(leap, start, stop)
    assert [s for s, _ in plain_occurrences(leap, start, stop)] == [date(2028, 2, 29)]
    month_end = master_of("DTSTART:19990131T090000Z", "DTEND:19990131T100000Z", "RRULE:FREQ=MONTHLY")
    start, stop = window("20260101", 120)
    assert assert_same_as_library(month_end, start, stop)
    assert [s.day for s, _ in plain_occurrences(month_end, start, stop)] == [31, 31]


def test_a_weekly_meeting_keeps_its_wall_time_across_dst() -> None:
    master = master_of(
        "DTSTART;TZID=Europe/Berlin:20100104T090000", "DTEND;TZID=Europe/Berlin:20100104T100000",
        "RRULE:FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,TH", timezones=BERLIN_VTIMEZONE,
    )
    start, stop = window("20260301", 60)
    assert assert_same_as_library(master, start, stop)
    hours = {s.astimezone(UTC).hour for s, _ in plain_occurrences(master, start, stop)}
    assert hours == {8, 7}  # 09:00 in winter and in summer time


def test_exdates_in_utc_and_as_dates_remove_what_the_library_removes() -> None:
    master = master_of(
        "DTSTART;TZID=Europe/Berlin:20260105T090000", "DTEND;TZID=Europe/Berlin:20260105T093000",
        "RRULE:FREQ=DAILY;COUNT=10", "EXDATE:20260106T080000Z", "EXDATE;TZID=Europe/Berlin:20260108T090000",
        timezones=BERLIN_VTIMEZONE,
    )
    start, stop = window("20260101", 30)
    assert assert_same_as_library(master, start, stop)
    days = [s.day for s, _ in plain_occurrences(master, start, stop)]
    assert days == [5, 7, 9, 10, 11, 12, 13, 14]
    all_day = master_of("DTSTART;VALUE=DATE:20260105", "RRULE:FREQ=DAILY;COUNT=5", "EXDATE;VALUE=DATE:20260107")
    assert assert_same_as_library(all_day, start, stop)
    assert [s.day for s, _ in plain_occurrences(all_day, start, stop)] == [5, 6, 8, 9]


def test_dtstart_off_the_rule_is_still_the_first_instance() -> None:
    master = master_of("DTSTART:20260105T090000Z", "RRULE:FREQ=WEEKLY;COUNT=3;BYDAY=WE")  # a Monday
    start, stop = window("20260101", 60)
    assert assert_same_as_library(master, start, stop)
    assert [s.day for s, _ in plain_occurrences(master, start, stop)] == [5, 7, 14, 21]


def test_what_is_not_plain_is_left_to_the_library() -> None:
    start, stop = window("20260101", 60)
    left = [
        master_of("DTSTART:20260105T090000Z", "RRULE:FREQ=HOURLY;COUNT=3"),
        master_of("DTSTART:20260105T090000Z", "RRULE:FREQ=DAILY;BYHOUR=9,17"),
        master_of("DTSTART:20260105T090000Z", "RRULE:FREQ=DAILY", "RDATE:20260110T120000Z"),
        master_of("DTSTART:20260105T090000Z", "RRULE:FREQ=DAILY", "RRULE:FREQ=WEEKLY"),
        master_of("DTSTART:20260105T090000Z", "RRULE:FREQ=DAILY;UNTIL=20260110"),
        master_of("DTSTART;VALUE=DATE:20260105", "DTEND:20260106T100000Z", "RRULE:FREQ=DAILY"),
        master_of("DTSTART:20260105T090000Z", "RRULE:FREQ=DAILY", "EXDATE;VALUE=DATE:20260107"),
        master_of("DTSTART:20260105T090000Z", "DTEND:20260105T080000Z", "RRULE:FREQ=DAILY"),
    ]
    todo = Calendar.from_ical(
        "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:t\r\nDTSTART:20260105T090000Z\r\n"
        "RRULE:FREQ=DAILY\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    ).walk("VTODO")[0]
    for master in [*left, todo]:
        assert plain_occurrences(master, start, stop) is None, master.to_ical()
        assert list(Series([master]).instances(start, stop))  # the library still expands it


def test_series_instances_are_the_same_either_way() -> None:
    """Series.instances, the index's and the evaluator's entry, gives the same
    instances through the plain expansion as through the library alone."""
    master = master_of(
        "DTSTART;TZID=Europe/Berlin:20240311T150000", "DTEND;TZID=Europe/Berlin:20240311T160000",
        "RRULE:FREQ=WEEKLY;BYDAY=MO", "EXDATE;TZID=Europe/Berlin:20260316T150000", timezones=BERLIN_VTIMEZONE,
    )
    start, stop = window("20260301", 90)
    through_series = [(i.start, i.end) for i in Series([master]).instances(start, stop)]
    from_library = library_occurrences(master, start - timedelta(days=2), stop + timedelta(days=2))
    assert comparable(through_series) == comparable(from_library)


def test_a_stored_rule_that_never_moves_stands_alone() -> None:
    """INTERVAL=0 (refused at PUT and in mail, but perhaps stored before): the
    walk would never pass the first instance, so the master is its one instance."""
    master = master_of("DTSTART:20260105T090000Z", "DTEND:20260105T100000Z", "RRULE:FREQ=DAILY;INTERVAL=0")
    start, stop = window("20260101", 60)
    assert plain_occurrences(master, start, stop) is None
    instances = list(Series([master]).instances(start, stop))
    assert [(i.start, i.end) for i in instances] == [
        (datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 1, 5, 10, tzinfo=UTC))
    ]

"""Recurrence rules with no instance besides DTSTART, and sparse ones, stay cheap.

dateutil ends a search that finds no candidate only at the year 9999: a rule
like every 30 February walked every day to then, seconds of CPU on each
expansion.  RFC 5545 3.8.5.3 makes DTSTART the first instance, so such a
series is DTSTART alone; a sparse but real rule (29 February, Friday the
13th, the fifth Monday of February) keeps its instances.  Each expansion
here runs in a thread that must finish within a few seconds, so the old,
unbounded walk fails rather than holding up the suite.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from icalendar.prop import vRecur

from caldav_sched.domain.rule_reach import rule_recurs
from caldav_sched.domain.scheduling.instances import has_instance_after, names_instance
from caldav_sched.domain.time_index import time_index
from caldav_sched.domain.timespan import Series, exceeds_instances_per_year, object_span
from tests.query._query_helpers import cal, event

UTC = timezone.utc
NOW = datetime(2026, 12, 7, tzinfo=UTC)
PROMPT = 3.0  # seconds; the old walk to 9999 took 3 to 10


def promptly(work: Callable[[], object]) -> object:
    """``work()``, which must finish within PROMPT seconds."""
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(work()), daemon=True)
    worker.start()
    worker.join(PROMPT)
    assert not worker.is_alive(), f"still expanding after {PROMPT} s"
    assert result, "the work raised"
    return result[0]


NO_INSTANCE = [
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=WEEKLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=MINUTELY;BYMONTH=4;BYMONTHDAY=31",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=3",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;UNTIL=20300101T000000Z",
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",  # no month has six Mondays
    "FREQ=DAILY;BYSETPOS=2",  # one time a day: no second
    "FREQ=YEARLY;BYWEEKNO=53;BYMONTH=6",
    "FREQ=YEARLY;BYYEARDAY=366;BYMONTH=1",
    "FREQ=DAILY;INTERVAL=7;BYDAY=TU",  # from a Monday: always Mondays
    "FREQ=HOURLY;INTERVAL=168;BYDAY=WE",  # weekly in hours, from a Monday
    "FREQ=YEARLY;BYEASTER=0;BYMONTH=5",  # dateutil's own part, not RFC 5545's
]
#: DTSTART for NO_INSTANCE: a Monday, not a 29 February distance of 0 mod 3 away.
START = "20260105T090000Z"


def series_of(rule: str, start: str = START, extra: tuple[str, ...] = ()) -> Calendar:
    end = start[:9] + "10" + start[11:]
    return cal(event(f"DTSTART:{start}", f"DTEND:{end}", f"RRULE:{rule}", *extra))


def test_a_leap_day_every_four_years_from_an_odd_year_is_dtstart_alone() -> None:
    """2001, 2005, ...: never a leap year, so the rule adds nothing."""
    calendar = series_of("FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", "20010228T090000Z")
    (series,) = [Series(calendar.walk("VEVENT"))]
    found = promptly(lambda: [i.start for i in series.instances(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))])
    assert found == [datetime(2001, 2, 28, 9, tzinfo=UTC)]
    assert promptly(lambda: object_span(calendar)) == (983350800 - 1, 983354400 + 1)


@pytest.mark.parametrize("rule", NO_INSTANCE)
def test_a_rule_with_no_instance_is_its_dtstart_alone(rule: str) -> None:
    calendar = series_of(rule)
    (series,) = promptly(lambda: [Series(calendar.walk("VEVENT"))])
    starts = promptly(lambda: [i.start for i in series.instances(datetime(2025, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC))])
    assert starts == [datetime(2026, 1, 5, 9, tzinfo=UTC)]
    assert promptly(lambda: [i.start for i in series.instances(datetime(2027, 1, 1, tzinfo=UTC), None)]) == []


@pytest.mark.parametrize("rule", NO_INSTANCE)
def test_a_stored_rule_with_no_instance_is_indexed_and_scheduled_promptly(rule: str) -> None:
    calendar = series_of(rule, extra=("ORGANIZER:mailto:a@example.com", "ATTENDEE:mailto:b@example.org"))
    index = promptly(lambda: time_index(calendar, datetime(2026, 1, 1, tzinfo=UTC)))
    assert [(row.starts_at, row.ends_at) for row in index.rows] == [(1767603600, 1767607200)]
    assert promptly(lambda: object_span(calendar))[1] is not None or "COUNT" not in rule
    assert promptly(lambda: has_instance_after(calendar, NOW)) is False
    assert promptly(lambda: names_instance(calendar, datetime(2027, 2, 28, 9, tzinfo=UTC))) is False
    assert promptly(lambda: exceeds_instances_per_year(calendar, 100)) is False


@pytest.mark.parametrize("rule, start, first_later", [
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "20240229T090000Z", datetime(2028, 2, 29, 9)),
    ("FREQ=MONTHLY;BYMONTHDAY=13;BYDAY=FR", "20260213T090000Z", datetime(2026, 3, 13, 9)),
    # The fifth Monday of February: a leap year whose 1 February is a Monday.
    ("FREQ=MONTHLY;BYMONTH=2;BYDAY=5MO", "20160229T090000Z", datetime(2044, 2, 29, 9)),
    ("FREQ=YEARLY;INTERVAL=100;BYMONTH=2;BYMONTHDAY=29", "20000229T090000Z", datetime(2400, 2, 29, 9)),
    ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", "20160229T090000Z", datetime(2044, 2, 29, 9)),
    ("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYHOUR=9", "20160229T090000Z", datetime(2044, 2, 29, 9)),
])
def test_a_sparse_rule_keeps_its_instances_and_stays_cheap(rule: str, start: str, first_later: datetime) -> None:
    calendar = series_of(rule, start)
    (series,) = [Series(calendar.walk("VEVENT"))]
    later = first_later.replace(tzinfo=UTC)
    found = promptly(lambda: [i.start for i in series.instances(later - timedelta(days=30), later + timedelta(days=30))])
    assert later in found
    assert promptly(lambda: next(iter(series.instances(later - timedelta(days=1), None))).start) == later
    assert promptly(lambda: names_instance(calendar, later)) is True
    assert promptly(lambda: has_instance_after(calendar, NOW)) is True


@pytest.mark.parametrize("rule", [
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=500",  # fewer than 500 by 9999
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=5000",
    "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYHOUR=9;COUNT=3000",
])
def test_a_sparse_count_rule_is_indexed_promptly(rule: str) -> None:
    calendar = series_of(rule, "20160229T090000Z")
    promptly(lambda: time_index(calendar, NOW))
    (series,) = [Series(calendar.walk("VEVENT"))]
    later = datetime(2044, 2, 29, 9, tzinfo=UTC)
    assert later in promptly(lambda: [i.start for i in series.instances(later - timedelta(days=9), later + timedelta(days=9))])
    assert promptly(lambda: exceeds_instances_per_year(calendar, 100)) is False


def test_a_sub_daily_sparse_rule_is_counted_per_year_promptly() -> None:
    """CALDAV:max-instances counts a year's instances: a walk to the 101st no longer goes to 9999."""
    calendar = series_of("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYHOUR=9,10", "20160229T090000Z")
    assert promptly(lambda: exceeds_instances_per_year(calendar, 100)) is False


# -- the probe against dateutil -----------------------------------------------------

_PARTS = st.fixed_dictionaries({}, optional={
    "BYMONTH": st.lists(st.integers(1, 12), min_size=1, max_size=2),
    "BYMONTHDAY": st.lists(st.sampled_from([1, 13, 28, 29, 30, 31, -1, -29]), min_size=1, max_size=2),
    "BYDAY": st.lists(st.sampled_from(["MO", "FR", "SU", "1MO", "5MO", "-1FR", "2TU"]), min_size=1, max_size=2),
    "BYYEARDAY": st.lists(st.sampled_from([1, 60, 365, 366, -1]), min_size=1, max_size=1),
    "BYWEEKNO": st.lists(st.sampled_from([1, 9, 52, 53, -1]), min_size=1, max_size=1),
    "BYSETPOS": st.lists(st.sampled_from([1, 2, 5, 6, -1]), min_size=1, max_size=1),
    "BYHOUR": st.lists(st.sampled_from([0, 3, 9]), min_size=1, max_size=2),
})


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    freq=st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY"]),
    interval=st.sampled_from([1, 1, 2, 3, 7, 24, 36]),
    parts=_PARTS,
    day=st.integers(0, 146096),
    hour=st.integers(0, 23),
)
def test_the_probe_agrees_with_dateutil(freq: str, interval: int, parts: dict, day: int, hour: int) -> None:
    """From a DTSTART in the last 800 years before 9999 dateutil's own walk is
    short and covers every period of these rules: it is the oracle."""
    if freq in ("YEARLY", "MONTHLY", "WEEKLY") and interval not in (1, 2, 3):
        interval = 1  # keeps the rule's period within the 800 years the oracle sees
    if freq in ("MINUTELY",) and interval == 36:
        interval = 1
    if freq in ("DAILY", "HOURLY", "MINUTELY") and interval in (7, 36) and freq == "DAILY":
        interval = 2
    rule = vRecur({"FREQ": [freq], "INTERVAL": [interval], **parts})
    start = datetime(9200, 1, 1, hour) + timedelta(days=day)
    text = rule.to_ical().decode()
    try:
        expanded = rrulestr(text, dtstart=start)
        later = next((t for t in expanded if t > start), None)
    except ValueError:
        return  # dateutil refuses the rule outright: the expanders fall back at no cost
    assert rule_recurs(rule, start) == (later is not None), text


@pytest.mark.parametrize("lines, key, named", [
    # A daily meeting since 2020: a reply naming its instance in 8999 is one.
    (("DTSTART:20200106T100000Z", "RRULE:FREQ=DAILY"), datetime(8999, 6, 1, 10, tzinfo=UTC), True),
    (("DTSTART:20200106T100000Z", "RRULE:FREQ=DAILY"), datetime(8999, 6, 1, 10, 30, tzinfo=UTC), False),
    (("DTSTART:20200106T100000Z", "RRULE:FREQ=DAILY", "EXDATE:89990601T100000Z"),
     datetime(8999, 6, 1, 10, tzinfo=UTC), False),
    # In its own zone, across a DST change, and all day.
    (("DTSTART;TZID=Europe/Berlin:20200106T100000", "RRULE:FREQ=WEEKLY"),
     datetime(8999, 7, 8, 8, tzinfo=UTC), True),
    (("DTSTART;VALUE=DATE:20200106", "RRULE:FREQ=DAILY"), date(8999, 6, 1), True),
])
def test_a_key_far_into_a_plain_series_is_answered_promptly(lines, key, named) -> None:
    # A reply may name any instance; the old check walked every day from DTSTART to it.
    calendar = cal(event(*lines))
    assert promptly(lambda: names_instance(calendar, key)) is named

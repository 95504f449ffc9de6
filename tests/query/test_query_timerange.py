"""RFC 4791 9.9 time-range tables, one row per case and boundary, plus recurrences."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from tests.query._query_helpers import BERLIN_VTIMEZONE, alarm, cal, event, in_range, todo
from icalendar import Calendar

from caldav_sched.domain.query import CompFilter, TimeRange, matches

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

# -- VEVENT ----------------------------------------------------------------------

ONE_HOUR = ("DTSTART:20240105T100000Z", "DTEND:20240105T110000Z")

VEVENT_CASES = [
    # DTEND present: (start < DTEND AND end > DTSTART)
    ("dtend inside", ONE_HOUR, "20240105T103000Z", "20240105T104500Z", True),
    ("dtend ends at start", ONE_HOUR, "20240105T090000Z", "20240105T100000Z", False),
    ("dtend just after start", ONE_HOUR, "20240105T090000Z", "20240105T100001Z", True),
    ("dtend starts at end", ONE_HOUR, "20240105T110000Z", "20240105T120000Z", False),
    ("dtend just before end", ONE_HOUR, "20240105T105959Z", "20240105T120000Z", True),
    ("dtend open start", ONE_HOUR, None, "20240105T103000Z", True),
    ("dtend open start before", ONE_HOUR, None, "20240105T100000Z", False),
    ("dtend open end", ONE_HOUR, "20240105T103000Z", None, True),
    ("dtend open end after", ONE_HOUR, "20240105T110000Z", None, False),
    # DTEND equal to DTSTART is still the DTEND row, taken literally.
    ("dtend zero at start", ("DTSTART:20240105T100000Z", "DTEND:20240105T100000Z"), "20240105T100000Z", "20240105T110000Z", False),
    ("dtend zero around", ("DTSTART:20240105T100000Z", "DTEND:20240105T100000Z"), "20240105T090000Z", "20240105T110000Z", True),
    # DURATION > 0: (start < DTSTART+DURATION AND end > DTSTART)
    ("duration inside", ("DTSTART:20240105T100000Z", "DURATION:PT1H"), "20240105T105959Z", "20240105T120000Z", True),
    ("duration after", ("DTSTART:20240105T100000Z", "DURATION:PT1H"), "20240105T110000Z", "20240105T120000Z", False),
    ("duration before", ("DTSTART:20240105T100000Z", "DURATION:PT1H"), "20240105T090000Z", "20240105T100000Z", False),
    # DURATION = 0: (start <= DTSTART AND end > DTSTART)
    ("zero duration at start", ("DTSTART:20240105T100000Z", "DURATION:PT0S"), "20240105T100000Z", "20240105T110000Z", True),
    ("zero duration end at start", ("DTSTART:20240105T100000Z", "DURATION:PT0S"), "20240105T090000Z", "20240105T100000Z", False),
    # DATE-TIME DTSTART alone: (start <= DTSTART AND end > DTSTART)
    ("instant at start", ("DTSTART:20240105T100000Z",), "20240105T100000Z", "20240105T100001Z", True),
    ("instant end at start", ("DTSTART:20240105T100000Z",), "20240105T090000Z", "20240105T100000Z", False),
    ("instant after", ("DTSTART:20240105T100000Z",), "20240105T100001Z", "20240105T110000Z", False),
    # DATE DTSTART alone: (start < DTSTART+P1D AND end > DTSTART), midnight UTC without a zone
    ("all-day inside", ("DTSTART;VALUE=DATE:20240105",), "20240105T230000Z", "20240106T010000Z", True),
    ("all-day before", ("DTSTART;VALUE=DATE:20240105",), "20240104T000000Z", "20240105T000000Z", False),
    ("all-day next day", ("DTSTART;VALUE=DATE:20240105",), "20240106T000000Z", "20240107T000000Z", False),
    ("all-day two days", ("DTSTART;VALUE=DATE:20240105", "DTEND;VALUE=DATE:20240107"), "20240106T120000Z", "20240106T130000Z", True),
    ("all-day duration", ("DTSTART;VALUE=DATE:20240105", "DURATION:P2D"), "20240106T120000Z", "20240106T130000Z", True),
    # A zone from TZID: 10:00 New York is 15:00Z in January
    ("tzid", ("DTSTART;TZID=America/New_York:20240105T100000", "DURATION:PT1H"), "20240105T150000Z", "20240105T153000Z", True),
    ("tzid not utc", ("DTSTART;TZID=America/New_York:20240105T100000", "DURATION:PT1H"), "20240105T100000Z", "20240105T110000Z", False),
]


@pytest.mark.parametrize(("lines", "start", "end", "expected"), [c[1:] for c in VEVENT_CASES], ids=[c[0] for c in VEVENT_CASES])
def test_vevent_time_range(lines: tuple[str, ...], start: str | None, end: str | None, expected: bool) -> None:
    assert matches(cal(event(*lines)), in_range("VEVENT", start, end)) is expected


ZONED_CASES = [
    # Floating 10:00 read in Berlin is 09:00Z; read in UTC it is 10:00Z.
    ("floating berlin", ("DTSTART:20240105T100000", "DURATION:PT1H"), BERLIN, "20240105T090000Z", "20240105T093000Z", True),
    ("floating utc", ("DTSTART:20240105T100000", "DURATION:PT1H"), None, "20240105T090000Z", "20240105T093000Z", False),
    ("floating berlin late", ("DTSTART:20240105T100000", "DURATION:PT1H"), BERLIN, "20240105T100000Z", "20240105T103000Z", False),
    # An all-day event in New York runs 05:00Z to 05:00Z the next day.
    ("all-day ny early", ("DTSTART;VALUE=DATE:20240105",), NEW_YORK, "20240105T000000Z", "20240105T045959Z", False),
    ("all-day ny late", ("DTSTART;VALUE=DATE:20240105",), NEW_YORK, "20240106T040000Z", "20240106T050000Z", True),
    # A zoned DTSTART ignores the calendar-timezone.
    ("zoned ignores tz", ("DTSTART:20240105T100000Z", "DURATION:PT1H"), NEW_YORK, "20240105T100000Z", "20240105T103000Z", True),
]


@pytest.mark.parametrize(("lines", "tz", "start", "end", "expected"), [c[1:] for c in ZONED_CASES], ids=[c[0] for c in ZONED_CASES])
def test_floating_and_dates_read_in_calendar_timezone(lines, tz, start, end, expected) -> None:
    assert matches(cal(event(*lines)), in_range("VEVENT", start, end), tz=tz) is expected


# -- VTODO: the eight rows -----------------------------------------------------------

TODO_CASES = [
    # DTSTART + DURATION: (start <= DTSTART+DURATION) AND ((end > DTSTART) OR (end >= DTSTART+DURATION))
    ("start+duration inside", ("DTSTART:20240105T100000Z", "DURATION:PT1H"), "20240105T103000Z", "20240105T104000Z", True),
    ("start+duration at end", ("DTSTART:20240105T100000Z", "DURATION:PT1H"), "20240105T110000Z", "20240105T120000Z", True),
    ("start+duration after", ("DTSTART:20240105T100000Z", "DURATION:PT1H"), "20240105T110001Z", "20240105T120000Z", False),
    ("start+duration before", ("DTSTART:20240105T100000Z", "DURATION:PT1H"), "20240105T090000Z", "20240105T100000Z", False),
    # DTSTART + DUE: ((start < DUE) OR (start <= DTSTART)) AND ((end > DTSTART) OR (end >= DUE))
    ("start+due inside", ("DTSTART:20240105T100000Z", "DUE:20240105T110000Z"), "20240105T103000Z", "20240105T104000Z", True),
    ("start+due at due", ("DTSTART:20240105T100000Z", "DUE:20240105T110000Z"), "20240105T110000Z", "20240105T120000Z", False),
    ("start+due end at start", ("DTSTART:20240105T100000Z", "DUE:20240105T110000Z"), "20240105T090000Z", "20240105T100000Z", False),
    ("start+due open", ("DTSTART:20240105T100000Z", "DUE:20240105T110000Z"), None, None, True),
    # DTSTART alone: (start <= DTSTART) AND (end > DTSTART)
    ("start only at", ("DTSTART:20240105T100000Z",), "20240105T100000Z", "20240105T110000Z", True),
    ("start only before", ("DTSTART:20240105T100000Z",), "20240105T090000Z", "20240105T100000Z", False),
    # DUE alone: (start < DUE) AND (end >= DUE)
    ("due only ends at due", ("DUE:20240105T110000Z",), "20240105T100000Z", "20240105T110000Z", True),
    ("due only starts at due", ("DUE:20240105T110000Z",), "20240105T110000Z", "20240105T120000Z", False),
    ("due only before", ("DUE:20240105T110000Z",), "20240105T100000Z", "20240105T105959Z", False),
    # COMPLETED + CREATED: ((start <= CREATED) OR (start <= COMPLETED)) AND ((end >= CREATED) OR (end >= COMPLETED))
    ("completed+created at completed", ("CREATED:20240105T080000Z", "COMPLETED:20240105T120000Z"), "20240105T120000Z", "20240105T130000Z", True),
    ("completed+created after", ("CREATED:20240105T080000Z", "COMPLETED:20240105T120000Z"), "20240105T120001Z", "20240105T130000Z", False),
    ("completed+created ends at created", ("CREATED:20240105T080000Z", "COMPLETED:20240105T120000Z"), "20240105T070000Z", "20240105T080000Z", True),
    ("completed+created before", ("CREATED:20240105T080000Z", "COMPLETED:20240105T120000Z"), "20240105T070000Z", "20240105T075959Z", False),
    # COMPLETED alone: (start <= COMPLETED) AND (end >= COMPLETED)
    ("completed ends at", ("COMPLETED:20240105T120000Z",), "20240105T110000Z", "20240105T120000Z", True),
    ("completed starts at", ("COMPLETED:20240105T120000Z",), "20240105T120000Z", "20240105T130000Z", True),
    ("completed after", ("COMPLETED:20240105T120000Z",), "20240105T120100Z", "20240105T130000Z", False),
    # CREATED alone: (end > CREATED)
    ("created ends at", ("CREATED:20240105T080000Z",), "20240105T070000Z", "20240105T080000Z", False),
    ("created later", ("CREATED:20240105T080000Z",), "20300101T000000Z", "20300102T000000Z", True),
    # No dates at all: TRUE
    ("no dates", ("SUMMARY:someday",), "19900101T000000Z", "19900102T000000Z", True),
]


@pytest.mark.parametrize(("lines", "start", "end", "expected"), [c[1:] for c in TODO_CASES], ids=[c[0] for c in TODO_CASES])
def test_vtodo_time_range(lines: tuple[str, ...], start: str | None, end: str | None, expected: bool) -> None:
    assert matches(cal(todo(*lines)), in_range("VTODO", start, end)) is expected


# -- VJOURNAL, VFREEBUSY -------------------------------------------------------------

OTHER_CASES = [
    ("VJOURNAL", ("DTSTART:20240105T100000Z",), "20240105T100000Z", "20240105T110000Z", True),
    ("VJOURNAL", ("DTSTART:20240105T100000Z",), "20240105T090000Z", "20240105T100000Z", False),
    ("VJOURNAL", ("DTSTART;VALUE=DATE:20240105",), "20240105T230000Z", "20240106T000000Z", True),
    ("VJOURNAL", ("DTSTART;VALUE=DATE:20240105",), "20240106T000000Z", "20240107T000000Z", False),
    ("VJOURNAL", ("SUMMARY:undated",), None, None, False),
    # (start <= DTEND AND end > DTSTART): the end is inclusive here
    ("VFREEBUSY", ("DTSTART:20240105T100000Z", "DTEND:20240105T110000Z"), "20240105T110000Z", "20240105T120000Z", True),
    ("VFREEBUSY", ("DTSTART:20240105T100000Z", "DTEND:20240105T110000Z"), "20240105T090000Z", "20240105T100000Z", False),
    ("VFREEBUSY", ("FREEBUSY:20240105T100000Z/PT1H,20240106T100000Z/PT1H",), "20240106T103000Z", "20240106T120000Z", True),
    ("VFREEBUSY", ("FREEBUSY:20240105T100000Z/PT1H",), "20240105T110000Z", "20240105T120000Z", False),
    ("VFREEBUSY", ("SUMMARY:empty",), None, None, False),
]


@pytest.mark.parametrize(("name", "lines", "start", "end", "expected"), OTHER_CASES)
def test_journal_and_freebusy_time_range(name, lines, start, end, expected) -> None:
    from tests.query._query_helpers import component

    assert matches(cal(component(name, *lines)), in_range(name, start, end)) is expected


# -- VALARM ------------------------------------------------------------------------


def _alarm_filter(start: str, end: str, *, parent: str = "VEVENT") -> CompFilter:
    from tests.query._query_helpers import rng

    valarm = CompFilter("VALARM", time_range=rng(start, end))
    return CompFilter("VCALENDAR", comp_filters=(CompFilter(parent, comp_filters=(valarm,)),))


ALARM_CASES = [
    ("before start", ("TRIGGER:-PT15M",), "20240105T094500Z", "20240105T094600Z", True),
    ("before start, range ends at trigger", ("TRIGGER:-PT15M",), "20240105T094000Z", "20240105T094500Z", False),
    ("repeat", ("TRIGGER:-PT15M", "REPEAT:2", "DURATION:PT5M"), "20240105T095400Z", "20240105T095600Z", True),
    ("repeat past last", ("TRIGGER:-PT15M", "REPEAT:2", "DURATION:PT5M"), "20240105T095600Z", "20240105T100000Z", False),
    ("related end", ("TRIGGER;RELATED=END:-PT5M",), "20240105T105500Z", "20240105T105600Z", True),
    ("related end not start", ("TRIGGER;RELATED=END:-PT5M",), "20240105T095500Z", "20240105T095600Z", False),
    ("absolute", ("TRIGGER;VALUE=DATE-TIME:20240101T080000Z",), "20240101T080000Z", "20240101T080001Z", True),
    ("absolute miss", ("TRIGGER;VALUE=DATE-TIME:20240101T080000Z",), "20240105T080000Z", "20240105T120000Z", False),
]


@pytest.mark.parametrize(("lines", "start", "end", "expected"), [c[1:] for c in ALARM_CASES], ids=[c[0] for c in ALARM_CASES])
def test_valarm_time_range(lines, start, end, expected) -> None:
    resource = cal(event(*ONE_HOUR, alarms=alarm(*lines)))
    assert matches(resource, _alarm_filter(start, end)) is expected


def test_valarm_of_recurring_event_fires_in_later_week() -> None:
    resource = cal(event(*ONE_HOUR, "RRULE:FREQ=WEEKLY", alarms=alarm("TRIGGER:-PT15M")))
    assert matches(resource, _alarm_filter("20300104T094500Z", "20300104T094600Z"))  # a Friday
    assert not matches(resource, _alarm_filter("20300103T094500Z", "20300103T094600Z"))


def test_valarm_open_ended_range_on_unbounded_series() -> None:
    resource = cal(event(*ONE_HOUR, "RRULE:FREQ=DAILY", alarms=alarm("TRIGGER:-PT15M")))
    from tests.query._query_helpers import rng

    valarm = CompFilter("VALARM", time_range=rng("20300101T000000Z", None))
    assert matches(resource, CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT", comp_filters=(valarm,)),)))


def test_valarm_of_todo_related_to_due() -> None:
    resource = cal(todo("DTSTART:20240105T100000Z", "DUE:20240105T120000Z", alarms=alarm("TRIGGER;RELATED=END:-PT1H")))
    assert matches(resource, _alarm_filter("20240105T110000Z", "20240105T110100Z", parent="VTODO"))
    assert not matches(resource, _alarm_filter("20240105T090000Z", "20240105T090100Z", parent="VTODO"))


# -- recurrence sets -------------------------------------------------------------------

WEEKLY = [
    event(
        "DTSTART;TZID=Europe/Berlin:20240108T100000",
        "DTEND;TZID=Europe/Berlin:20240108T110000",
        "RRULE:FREQ=WEEKLY;COUNT=10",
        "EXDATE;TZID=Europe/Berlin:20240122T100000",
        "SUMMARY:weekly",
    ),
    # The second instance (Mon 15 Jan 10:00 Berlin = 09:00Z) moves to Tue 16 Jan 14:00 Berlin.
    event(
        "RECURRENCE-ID;TZID=Europe/Berlin:20240115T100000",
        "DTSTART;TZID=Europe/Berlin:20240116T140000",
        "DTEND;TZID=Europe/Berlin:20240116T150000",
        "SUMMARY:moved",
    ),
]

RECURRENCE_CASES = [
    ("first instance", "20240108T090000Z", "20240108T093000Z", True),
    ("moved away from", "20240115T090000Z", "20240115T100000Z", False),
    ("moved to", "20240116T130000Z", "20240116T133000Z", True),
    ("excluded", "20240122T090000Z", "20240122T100000Z", False),
    ("later instance", "20240129T090000Z", "20240129T093000Z", True),
    ("last instance", "20240311T090000Z", "20240311T093000Z", True),
    ("after count", "20240318T090000Z", "20240318T093000Z", False),
    ("open end late", "20240311T095959Z", None, True),
    ("open end too late", "20240311T100000Z", None, False),
    ("open start too early", None, "20240108T090000Z", False),
]


@pytest.mark.parametrize(("start", "end", "expected"), [c[1:] for c in RECURRENCE_CASES], ids=[c[0] for c in RECURRENCE_CASES])
def test_weekly_with_override_and_exdate(start, end, expected) -> None:
    resource = cal(*WEEKLY, timezones=BERLIN_VTIMEZONE)
    assert matches(resource, in_range("VEVENT", start, end)) is expected


def test_prop_filter_applies_to_the_component_whose_instance_overlaps() -> None:
    from caldav_sched.domain.query import PropFilter, TextMatch

    resource = cal(*WEEKLY, timezones=BERLIN_VTIMEZONE)
    moved = PropFilter("SUMMARY", text_match=TextMatch("moved"))
    assert matches(resource, in_range("VEVENT", "20240116T130000Z", "20240116T133000Z", moved))
    assert not matches(resource, in_range("VEVENT", "20240129T090000Z", "20240129T093000Z", moved))


def test_override_recurrence_id_in_another_zone() -> None:
    master, _ = WEEKLY
    override = event(
        "RECURRENCE-ID:20240115T090000Z",  # the same instant as 10:00 Berlin
        "DTSTART:20240116T130000Z",
        "DTEND:20240116T140000Z",
    )
    resource = cal(master, override, timezones=BERLIN_VTIMEZONE)
    assert not matches(resource, in_range("VEVENT", "20240115T090000Z", "20240115T100000Z"))
    assert matches(resource, in_range("VEVENT", "20240116T130000Z", "20240116T133000Z"))


def test_override_cancelled_by_exdate_does_not_match() -> None:
    master = event(
        "DTSTART:20240108T090000Z",
        "DTEND:20240108T100000Z",
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "EXDATE:20240115T090000Z",
    )
    override = event("RECURRENCE-ID:20240115T090000Z", "DTSTART:20240116T130000Z", "DTEND:20240116T140000Z")
    resource = cal(master, override)
    assert not matches(resource, in_range("VEVENT", "20240116T130000Z", "20240116T133000Z"))


def test_all_day_recurrence() -> None:
    resource = cal(event("DTSTART;VALUE=DATE:20240101", "RRULE:FREQ=DAILY;COUNT=3"))
    assert matches(resource, in_range("VEVENT", "20240103T120000Z", "20240103T130000Z"))
    assert not matches(resource, in_range("VEVENT", "20240104T120000Z", "20240104T130000Z"))


def test_floating_recurrence_read_in_calendar_timezone() -> None:
    resource = cal(event("DTSTART:20240101T100000", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3"))
    berlin_range = in_range("VEVENT", "20240103T090000Z", "20240103T093000Z")
    assert matches(resource, berlin_range, tz=BERLIN)
    assert not matches(resource, berlin_range)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("20300104T100000Z", "20300104T103000Z", True),  # a Friday, years later
        ("20300103T100000Z", "20300103T103000Z", False),  # a Thursday
        ("20300101T000000Z", None, True),
        (None, "20240105T100000Z", False),
        (None, "20240105T100001Z", True),
    ],
)
def test_unbounded_weekly(start, end, expected) -> None:
    resource = cal(event(*ONE_HOUR, "RRULE:FREQ=WEEKLY"))
    assert matches(resource, in_range("VEVENT", start, end)) is expected


def test_rdate_adds_an_instance() -> None:
    resource = cal(event(*ONE_HOUR, "RDATE:20240201T100000Z"))
    assert matches(resource, in_range("VEVENT", "20240201T100000Z", "20240201T103000Z"))
    assert not matches(resource, in_range("VEVENT", "20240202T100000Z", "20240202T103000Z"))


def test_recurring_todo() -> None:
    resource = cal(todo("DTSTART:20240105T100000Z", "DUE:20240105T110000Z", "RRULE:FREQ=DAILY;COUNT=2"))
    assert matches(resource, in_range("VTODO", "20240106T103000Z", "20240106T104000Z"))
    assert not matches(resource, in_range("VTODO", "20240107T103000Z", "20240107T104000Z"))


def test_time_range_on_wrong_component_type_does_not_match() -> None:
    resource = cal(event(*ONE_HOUR))
    assert not matches(resource, in_range("VTODO", "20240105T100000Z", "20240105T110000Z"))


def test_time_range_model_rejects_naive_bounds() -> None:
    from datetime import datetime

    with pytest.raises(ValueError, match="aware"):
        TimeRange(datetime(2024, 1, 1), None)


def test_matches_accepts_a_parsed_calendar() -> None:
    resource = Calendar.from_ical(cal(event(*ONE_HOUR)).to_ical())
    assert matches(resource, in_range("VEVENT", None, None))


def test_dense_rule_is_expanded_lazily_and_correctly() -> None:
    resource = cal(event("DTSTART:20240105T100000Z", "DURATION:PT10M", "RRULE:FREQ=HOURLY;INTERVAL=2"))
    assert matches(resource, in_range("VEVENT", "20250105T120500Z", "20250105T120600Z"))
    assert not matches(resource, in_range("VEVENT", "20250105T121000Z", "20250105T135959Z"))

"""RFC 4791 9.6.5 expand and 9.6.6 limit-recurrence-set."""

from __future__ import annotations

from datetime import date, datetime, timezone

from icalendar import Calendar

from caldav_sched.domain.expand import expand, limit_recurrence_set
from tests.query._query_helpers import BERLIN_VTIMEZONE, alarm, cal, event, rng, todo

UTC = timezone.utc

WEEKLY_BLOCKS = (
    event(
        "DTSTART;TZID=Europe/Berlin:20240108T100000",
        "DTEND;TZID=Europe/Berlin:20240108T110000",
        "RRULE:FREQ=WEEKLY;COUNT=10",
        "EXDATE;TZID=Europe/Berlin:20240122T100000",
        "SUMMARY:weekly",
        alarms=alarm("TRIGGER:-PT15M"),
    ),
    event(
        "RECURRENCE-ID;TZID=Europe/Berlin:20240115T100000",
        "DTSTART;TZID=Europe/Berlin:20240116T140000",
        "DTEND;TZID=Europe/Berlin:20240116T150000",
        "SUMMARY:moved",
    ),
)
WEEKLY = cal(*WEEKLY_BLOCKS, timezones=BERLIN_VTIMEZONE)


def rows(result: Calendar) -> list[tuple[str, object, object, object]]:
    return [
        (str(c["SUMMARY"]), c["RECURRENCE-ID"].dt, c["DTSTART"].dt, c.get("DTEND").dt if "DTEND" in c else None)
        for c in result.walk("VEVENT")
    ]


def test_expand_gives_one_component_per_instance_in_utc() -> None:
    result = expand(WEEKLY, rng("20240101T000000Z", "20240130T000000Z"))
    assert rows(result) == [
        ("weekly", datetime(2024, 1, 8, 9, tzinfo=UTC), datetime(2024, 1, 8, 9, tzinfo=UTC), datetime(2024, 1, 8, 10, tzinfo=UTC)),
        ("moved", datetime(2024, 1, 15, 9, tzinfo=UTC), datetime(2024, 1, 16, 13, tzinfo=UTC), datetime(2024, 1, 16, 14, tzinfo=UTC)),
        ("weekly", datetime(2024, 1, 29, 9, tzinfo=UTC), datetime(2024, 1, 29, 9, tzinfo=UTC), datetime(2024, 1, 29, 10, tzinfo=UTC)),
    ]


def test_expanded_output_has_no_rules_and_no_timezones() -> None:
    text = expand(WEEKLY, rng("20240101T000000Z", "20240130T000000Z")).to_ical().decode()
    for absent in ("RRULE", "EXDATE", "RDATE", "VTIMEZONE", "TZID"):
        assert absent not in text
    assert "RECURRENCE-ID:20240108T090000Z" in text
    assert text.count("BEGIN:VALARM") == 2  # the master's alarm travels with its instances


def test_expand_keeps_only_overlapping_instances() -> None:
    result = expand(WEEKLY, rng("20240116T000000Z", "20240117T000000Z"))
    assert [r[0] for r in rows(result)] == ["moved"]


def test_expand_all_day_stays_date() -> None:
    resource = cal(event("DTSTART;VALUE=DATE:20240101", "DTEND;VALUE=DATE:20240102", "RRULE:FREQ=DAILY;COUNT=3", "SUMMARY:day"))
    result = expand(resource, rng("20240102T000000Z", "20240104T000000Z"))
    assert rows(result) == [
        ("day", date(2024, 1, 2), date(2024, 1, 2), date(2024, 1, 3)),
        ("day", date(2024, 1, 3), date(2024, 1, 3), date(2024, 1, 4)),
    ]


def test_expand_non_recurring_is_converted_without_recurrence_id() -> None:
    resource = cal(
        event("DTSTART;TZID=America/New_York:20240105T100000", "DURATION:PT1H", "SUMMARY:once"),
        timezones="",
    )
    result = expand(resource, rng("20240101T000000Z", "20240201T000000Z"))
    (only,) = result.walk("VEVENT")
    assert "RECURRENCE-ID" not in only
    assert only["DTSTART"].dt == datetime(2024, 1, 5, 15, tzinfo=UTC)
    assert "TZID" not in only.to_ical().decode()


def test_expand_drops_non_recurring_outside_range() -> None:
    resource = cal(event("DTSTART:20240105T100000Z", "DURATION:PT1H", "SUMMARY:once"))
    assert expand(resource, rng("20240201T000000Z", "20240301T000000Z")).walk("VEVENT") == []


def test_expand_todo_moves_due() -> None:
    resource = cal(todo("DTSTART:20240105T100000Z", "DUE:20240105T120000Z", "RRULE:FREQ=DAILY;COUNT=3", "SUMMARY:t"))
    result = expand(resource, rng("20240106T000000Z", "20240107T000000Z"))
    (only,) = result.walk("VTODO")
    assert only["DUE"].dt == datetime(2024, 1, 6, 12, tzinfo=UTC)
    assert only["RECURRENCE-ID"].dt == datetime(2024, 1, 6, 10, tzinfo=UTC)


def test_expand_does_not_touch_its_input() -> None:
    before = WEEKLY.to_ical()
    expand(WEEKLY, rng("20240101T000000Z", "20240130T000000Z"))
    assert WEEKLY.to_ical() == before


def test_limit_recurrence_set_keeps_master_and_overrides_in_range() -> None:
    far = event("RECURRENCE-ID:20240304T090000Z", "DTSTART:20240305T090000Z", "DTEND:20240305T100000Z", "SUMMARY:far")
    resource = cal(*WEEKLY_BLOCKS, far, timezones=BERLIN_VTIMEZONE)
    limited = limit_recurrence_set(resource, rng("20240110T000000Z", "20240120T000000Z"))
    assert [str(c["SUMMARY"]) for c in limited.walk("VEVENT")] == ["weekly", "moved"]
    assert limited.walk("VTIMEZONE")
    later = limit_recurrence_set(resource, rng("20240301T000000Z", "20240310T000000Z"))
    assert [str(c["SUMMARY"]) for c in later.walk("VEVENT")] == ["weekly", "far"]

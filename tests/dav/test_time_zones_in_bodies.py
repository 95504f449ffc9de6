"""Time zones in PUT bodies: parsed once per text, shared read-only, never wrong.

Clients send the same VTIMEZONE with every zoned event; the server parses
each distinct text once.  These tests check that the shortcut gives exactly
the calendar a full parse gives, keeps error reporting as it was, and that
the engine's copies share zones but nothing else.
"""

from __future__ import annotations

from datetime import datetime, timezone

import icalendar
import pytest

from caldav_sched.domain.ical import parse_object
from caldav_sched.domain.scheduling.components import clone
from caldav_sched.errors import InvalidCalendarData

BERLIN = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
    "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"
    "DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n"
    "DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
)
# A zone no time zone database knows: only its own rules can place the event.
PLUS_FIVE = (
    "BEGIN:VTIMEZONE\r\nTZID:Example Plus Five\r\n"
    "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0500\r\n"
    "TZOFFSETTO:+0500\r\nTZNAME:PF\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
)


def zoned(uid: str, *, zones: str = BERLIN, tzid: str = "Europe/Berlin", after: str = "") -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        + zones
        + f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;TZID={tzid}:20261201T100000\r\nDTEND;TZID={tzid}:20261201T110000\r\n"
        "SUMMARY:Planning\r\nEND:VEVENT\r\n"
        + after
        + "END:VCALENDAR\r\n"
    ).encode()


def start_utc(cal: icalendar.Calendar) -> datetime:
    (event,) = cal.walk("VEVENT")
    return event["DTSTART"].dt.astimezone(timezone.utc)


def test_two_events_with_the_same_zone_share_one_parsed_vtimezone():
    first = parse_object(zoned("a")).calendar
    second = parse_object(zoned("b")).calendar
    assert first.timezones[0] is second.timezones[0]
    assert first.walk("VEVENT")[0] is not second.walk("VEVENT")[0]


@pytest.mark.parametrize("body", [
    zoned("same"),
    zoned("two-zones", zones=BERLIN + PLUS_FIVE),
    zoned("custom", zones=PLUS_FIVE, tzid="Example Plus Five"),
    zoned("zone-last", zones="", after=BERLIN),
], ids=["one zone", "two zones", "a custom zone", "zone after the event"])
def test_the_parse_is_the_one_icalendar_gives(body):
    for _ in range(2):  # the second time the zones come from the cache
        ours = parse_object(body)
        assert ours.calendar.to_ical() == icalendar.Calendar.from_ical(body).to_ical()
        assert ours.data == body  # nothing needed repair: the octets are kept


def test_a_custom_zone_places_the_event_by_its_own_rules_every_time():
    body = zoned("custom-twice", zones=PLUS_FIVE, tzid="Example Plus Five")
    for _ in range(2):
        assert start_utc(parse_object(body).calendar) == datetime(2026, 12, 1, 5, tzinfo=timezone.utc)


def test_a_broken_zone_is_refused_as_before():
    broken = BERLIN.replace("TZOFFSETFROM:+0100", "TZOFFSETFROM:soon")
    for _ in range(2):
        with pytest.raises(InvalidCalendarData, match="Expected UTC offset, got: soon"):
            parse_object(zoned("broken", zones=broken))


@pytest.mark.parametrize("tzid_parameter", [
    "TZID=Europe/Berlin",
    'TZID="Europe/Berlin"',
    "TZ\r\n ID=Europe/Berlin",  # folded in the middle of the parameter
], ids=["plain", "quoted", "folded"])
def test_a_zone_without_its_vtimezone_is_added(tzid_parameter):
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:no-zone\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;{tzid_parameter}:20261201T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    stored = parse_object(body)
    assert b"BEGIN:VTIMEZONE" in stored.data
    assert [str(z["TZID"]) for z in stored.calendar.timezones] == ["Europe/Berlin"]


def test_a_zone_named_in_a_quoted_parameter_but_present_adds_nothing():
    body = zoned("quoted", tzid='"Europe/Berlin"')
    stored = parse_object(body)
    assert stored.data == body
    assert len(stored.calendar.timezones) == 1


def test_the_engine_copy_shares_zones_and_copies_everything_else():
    original = parse_object(zoned("copied")).calendar
    copy = clone(original)
    assert copy.timezones[0] is original.timezones[0]
    copy.walk("VEVENT")[0]["SUMMARY"] = "Moved"
    assert str(original.walk("VEVENT")[0]["SUMMARY"]) == "Planning"
    assert str(parse_object(zoned("later")).calendar.walk("VEVENT")[0]["SUMMARY"]) == "Planning"


def test_a_large_zone_is_parsed_with_its_calendar_and_not_kept():
    padded = BERLIN.replace("TZID:Europe/Berlin\r\n", "TZID:Europe/Berlin\r\n"
                            + "X-PADDING:0123456789abcdef0123456789abcdef\r\n" * 300)
    first = parse_object(zoned("large-1", zones=padded)).calendar
    second = parse_object(zoned("large-2", zones=padded)).calendar
    assert first.timezones[0] is not second.timezones[0]
    assert first.to_ical() == icalendar.Calendar.from_ical(zoned("large-1", zones=padded)).to_ical()


def test_a_stray_end_line_before_a_zone_is_refused_as_before():
    stray = zoned("stray").replace(b"PRODID:-//test//EN\r\n", b"PRODID:-//test//EN\r\nEND:VEVENT\r\n")
    with pytest.raises(InvalidCalendarData, match="END encountered without an accompanying BEGIN"):
        icalendar_only(stray)
    with pytest.raises(InvalidCalendarData, match="END encountered without an accompanying BEGIN"):
        parse_object(stray)


def icalendar_only(body: bytes) -> icalendar.Calendar:
    try:
        return icalendar.Calendar.from_ical(body)
    except ValueError as exc:
        raise InvalidCalendarData(str(exc)) from exc

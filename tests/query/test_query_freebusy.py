"""RFC 4791 7.10 busy time and the VFREEBUSY built from it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from icalendar import Calendar

from caldav_sched.domain.freebusy import busy_periods, coalesce, freebusy_calendar
from caldav_sched.domain.query import TimeRange
from tests.query._query_helpers import cal, component, event, rng, utc

UTC = timezone.utc
DAY = rng("20240105T000000Z", "20240106T000000Z")


def at(text: str) -> datetime:
    value = utc(text)
    assert value is not None
    return value


EVENT_CASES = [
    ("opaque is busy", ("DTSTART:20240105T100000Z", "DTEND:20240105T110000Z"),
     [("20240105T100000Z", "20240105T110000Z", "BUSY")]),
    ("confirmed is busy", ("DTSTART:20240105T100000Z", "DURATION:PT1H", "STATUS:CONFIRMED"),
     [("20240105T100000Z", "20240105T110000Z", "BUSY")]),
    ("tentative", ("DTSTART:20240105T100000Z", "DURATION:PT1H", "STATUS:TENTATIVE"),
     [("20240105T100000Z", "20240105T110000Z", "BUSY-TENTATIVE")]),
    ("transparent", ("DTSTART:20240105T100000Z", "DURATION:PT1H", "TRANSP:TRANSPARENT"), []),
    ("cancelled", ("DTSTART:20240105T100000Z", "DURATION:PT1H", "STATUS:CANCELLED"), []),
    ("zero length", ("DTSTART:20240105T100000Z",), []),
    ("clipped at both ends", ("DTSTART:20240104T220000Z", "DTEND:20240106T020000Z"),
     [("20240105T000000Z", "20240106T000000Z", "BUSY")]),
    ("outside", ("DTSTART:20240106T000000Z", "DURATION:PT1H"), []),
    ("all-day", ("DTSTART;VALUE=DATE:20240105",), [("20240105T000000Z", "20240106T000000Z", "BUSY")]),
    ("recurring, clipped", ("DTSTART:20240104T230000Z", "DURATION:PT2H", "RRULE:FREQ=HOURLY;INTERVAL=12;COUNT=4"),
     [("20240105T000000Z", "20240105T010000Z", "BUSY"), ("20240105T110000Z", "20240105T130000Z", "BUSY"),
      ("20240105T230000Z", "20240106T000000Z", "BUSY")]),
]


@pytest.mark.parametrize(("lines", "expected"), [c[1:] for c in EVENT_CASES], ids=[c[0] for c in EVENT_CASES])
def test_event_busy_time(lines: tuple[str, ...], expected: list[tuple[str, str, str]]) -> None:
    assert busy_periods([cal(event(*lines))], DAY) == [(at(a), at(b), t) for a, b, t in expected]


def test_cancelled_override_frees_its_instance() -> None:
    master = event("DTSTART:20240105T080000Z", "DURATION:PT1H", "RRULE:FREQ=HOURLY;INTERVAL=4;COUNT=3")
    cancelled = event("RECURRENCE-ID:20240105T120000Z", "DTSTART:20240105T120000Z", "DURATION:PT1H", "STATUS:CANCELLED")
    assert busy_periods([cal(master, cancelled)], DAY) == [
        (at("20240105T080000Z"), at("20240105T090000Z"), "BUSY"),
        (at("20240105T160000Z"), at("20240105T170000Z"), "BUSY"),
    ]


def test_overlaps_coalesce_per_type_across_objects() -> None:
    cals = [
        cal(event("DTSTART:20240105T090000Z", "DTEND:20240105T110000Z", uid="a")),
        cal(event("DTSTART:20240105T100000Z", "DTEND:20240105T120000Z", uid="b")),
        cal(event("DTSTART:20240105T120000Z", "DTEND:20240105T130000Z", uid="c")),  # touches: merged
        cal(event("DTSTART:20240105T100000Z", "DTEND:20240105T103000Z", "STATUS:TENTATIVE", uid="d")),
    ]
    assert busy_periods(cals, DAY) == [
        (at("20240105T090000Z"), at("20240105T130000Z"), "BUSY"),
        (at("20240105T100000Z"), at("20240105T103000Z"), "BUSY-TENTATIVE"),
    ]


def test_stored_vfreebusy_periods() -> None:
    stored = cal(
        component(
            "VFREEBUSY",
            "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20240105T060000Z/PT2H",
            "FREEBUSY;FBTYPE=FREE:20240105T090000Z/PT1H",
            "FREEBUSY:20240104T230000Z/20240105T010000Z,20240107T000000Z/PT1H",
            "FREEBUSY;FBTYPE=X-OUT-OF-OFFICE:20240105T200000Z/PT1H",
        )
    )
    assert busy_periods([stored], DAY) == [
        (at("20240105T000000Z"), at("20240105T010000Z"), "BUSY"),
        (at("20240105T060000Z"), at("20240105T080000Z"), "BUSY-UNAVAILABLE"),
        (at("20240105T200000Z"), at("20240105T210000Z"), "BUSY"),
    ]


def test_busy_periods_need_a_closed_range() -> None:
    with pytest.raises(ValueError):
        busy_periods([], TimeRange(at("20240105T000000Z"), None))


def test_coalesce_keeps_separate_periods() -> None:
    periods = [(at("20240105T120000Z"), at("20240105T130000Z"), "BUSY"), (at("20240105T090000Z"), at("20240105T100000Z"), "BUSY")]
    assert coalesce(periods) == sorted(periods)


def test_freebusy_calendar() -> None:
    periods = [
        (at("20240105T090000Z"), at("20240105T100000Z"), "BUSY"),
        (at("20240105T110000Z"), at("20240105T113000Z"), "BUSY-TENTATIVE"),
    ]
    body = freebusy_calendar(
        periods,
        DAY,
        now=datetime(2024, 1, 4, 12, tzinfo=UTC),
        organizer="mailto:alice@example.com",
        attendee="mailto:bob@example.com",
        uid="fb-1",
    )
    assert isinstance(body, bytes)
    text = body.decode()
    assert "FREEBUSY;FBTYPE=BUSY:20240105T090000Z/20240105T100000Z\r\n" in text
    assert "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20240105T110000Z/20240105T113000Z\r\n" in text
    parsed = Calendar.from_ical(body)
    (fb,) = parsed.walk("VFREEBUSY")
    assert fb["DTSTAMP"].dt == datetime(2024, 1, 4, 12, tzinfo=UTC)
    assert fb["DTSTART"].dt == at("20240105T000000Z")
    assert fb["DTEND"].dt == at("20240106T000000Z")
    assert str(fb["UID"]) == "fb-1"
    assert str(fb["ORGANIZER"]) == "mailto:alice@example.com"
    assert str(fb["ATTENDEE"]) == "mailto:bob@example.com"
    assert str(parsed["VERSION"]) == "2.0"


def test_freebusy_calendar_minimal() -> None:
    body = freebusy_calendar([], DAY, now=datetime(2024, 1, 4, 12, tzinfo=UTC))
    (fb,) = Calendar.from_ical(body).walk("VFREEBUSY")
    for absent in ("UID", "ORGANIZER", "ATTENDEE", "FREEBUSY"):
        assert absent not in fb

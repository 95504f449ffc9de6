"""Odd but storable data never makes the query code raise."""

from __future__ import annotations

import pytest

from caldav_sched.domain.expand import expand, limit_recurrence_set
from caldav_sched.domain.freebusy import busy_periods
from caldav_sched.domain.query import CompFilter, PropFilter, TextMatch, matches
from caldav_sched.domain.timespan import object_span
from tests.query._query_helpers import alarm, cal, event, in_range, rng, todo

ODD = {
    "unparsable dtstart": [event("DTSTART:garbage")],
    "unknown rrule frequency": [event("DTSTART:20240105T100000Z", "RRULE:FREQ=SOMETIMES")],
    "date until on date-time start": [event("DTSTART;TZID=Europe/Berlin:20240105T100000", "RRULE:FREQ=DAILY;UNTIL=20240110")],
    "utc until on floating start": [event("DTSTART:20240105T100000", "RRULE:FREQ=DAILY;UNTIL=20240110T100000Z")],
    "date exdate on date-time series": [event("DTSTART:20240105T100000Z", "RRULE:FREQ=DAILY;COUNT=5", "EXDATE;VALUE=DATE:20240106")],
    "dtend before dtstart": [event("DTSTART:20240105T100000Z", "DTEND:20240105T090000Z")],
    "negative duration": [event("DTSTART:20240105T100000Z", "DURATION:-PT1H")],
    "alarm without trigger": [event("DTSTART:20240105T100000Z", alarms="BEGIN:VALARM\nACTION:DISPLAY\nEND:VALARM\n")],
    "todo rule without dtstart": [todo("DUE:20240105T100000Z", "RRULE:FREQ=DAILY")],
    "override without master": [event("RECURRENCE-ID:20240105T100000Z", "DTSTART:20240106T100000Z")],
    "unparsable recurrence-id": [event("DTSTART:20240105T100000Z", "RRULE:FREQ=DAILY"), event("RECURRENCE-ID:xx", "DTSTART:20240106T100000Z")],
    "unknown tzid": [event("DTSTART;TZID=Mars/Olympus:20240105T100000", "RRULE:FREQ=DAILY;COUNT=3")],
    "date rdate on date-time series": [event("DTSTART:20240105T100000Z", "RDATE;VALUE=DATE:20240110")],
    "count zero": [event("DTSTART:20240105T100000Z", "RRULE:FREQ=DAILY;COUNT=0")],
    "no uid": ["BEGIN:VEVENT\nDTSTART:20240105T100000Z\nEND:VEVENT\n"],
    "no dtstart": [event("SUMMARY:when?", alarms=alarm("TRIGGER:-PT5M"))],
}

FILTERS = [
    in_range("VEVENT", "20240101T000000Z", "20240201T000000Z"),
    in_range("VEVENT", "20240101T000000Z", None),
    in_range("VTODO", None, "20240201T000000Z"),
    CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT", comp_filters=(CompFilter("VALARM", time_range=rng("20240101T000000Z", "20240201T000000Z")),)),)),
    CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT", prop_filters=(
        PropFilter("DTSTART", time_range=rng("20240101T000000Z", None)),
        PropFilter("DTSTART", text_match=TextMatch("2024")),
    )),)),
]
MONTH = rng("20240101T000000Z", "20240201T000000Z")


@pytest.mark.parametrize("blocks", list(ODD.values()), ids=list(ODD))
def test_odd_data_does_not_raise(blocks: list[str]) -> None:
    resource = cal(*blocks)
    lo, hi = object_span(resource)
    assert lo is None or hi is None or lo <= hi
    for flt in FILTERS:
        assert matches(resource, flt) in (True, False)
    expand(resource, MONTH).to_ical()
    limit_recurrence_set(resource, MONTH).to_ical()
    busy_periods([resource], MONTH)

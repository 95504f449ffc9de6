"""object_span: the stored span must admit every range that matches (a superset)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_outcome
from hypothesis import strategies as st

from caldav_sched.domain.query import CompFilter, TimeRange, matches
from caldav_sched.domain.timespan import object_span
from tests.query._query_helpers import BERLIN_VTIMEZONE, cal, component, event, index_admits, todo, utc

H14 = 14 * 3600


def ts(text: str) -> int:
    value = utc(text)
    assert value is not None
    return int(value.timestamp())


SPAN_CASES = [
    ("one hour", [event("DTSTART:20240105T100000Z", "DTEND:20240105T110000Z")],
     (ts("20240105T100000Z") - 1, ts("20240105T110000Z") + 1)),
    ("instant", [event("DTSTART:20240105T100000Z")], (ts("20240105T100000Z") - 1, ts("20240105T100000Z") + 1)),
    ("all-day widened 14h", [event("DTSTART;VALUE=DATE:20240105")],
     (ts("20240105T000000Z") - H14 - 1, ts("20240106T000000Z") + H14 + 1)),
    ("floating widened 14h", [event("DTSTART:20240105T100000", "DURATION:PT1H")],
     (ts("20240105T100000Z") - H14 - 1, ts("20240105T110000Z") + H14 + 1)),
    ("unbounded rule", [event("DTSTART:20240105T100000Z", "RRULE:FREQ=WEEKLY")], (ts("20240105T100000Z") - 1, None)),
    ("todo without dates", [todo("SUMMARY:someday")], (None, None)),
    ("todo created only", [todo("CREATED:20240105T100000Z")], (ts("20240105T100000Z") - 1, None)),
    ("todo due only", [todo("DUE:20240105T100000Z")], (ts("20240105T100000Z") - 1, ts("20240105T100000Z") + 1)),
    ("freebusy periods", [component("VFREEBUSY", "FREEBUSY:20240105T100000Z/PT1H,20240107T100000Z/PT2H")],
     (ts("20240105T100000Z") - 1, ts("20240107T120000Z") + 1)),
    ("this-and-future override is open",
     [event("DTSTART:20240105T100000Z", "RRULE:FREQ=DAILY;COUNT=5"),
      event("RECURRENCE-ID;RANGE=THISANDFUTURE:20240107T100000Z", "DTSTART:20240107T120000Z")],
     (None, None)),
    ("journal without dtstart never matches", [component("VJOURNAL", "SUMMARY:x")], (None, None)),
]


@pytest.mark.parametrize(("components", "expected"), [c[1:] for c in SPAN_CASES], ids=[c[0] for c in SPAN_CASES])
def test_object_span_exact_cases(components: list[str], expected: tuple[int | None, int | None]) -> None:
    assert object_span(cal(*components)) == expected


@pytest.mark.parametrize(
    ("rule", "last_start"),
    [
        ("RRULE:FREQ=DAILY;COUNT=3", "20240107T100000Z"),
        ("RRULE:FREQ=DAILY;UNTIL=20240110T100000Z", "20240110T100000Z"),
        ("RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=3", "20240202T100000Z"),
    ],
)
def test_bounded_rules_close_the_span(rule: str, last_start: str) -> None:
    lo, hi = object_span(cal(event("DTSTART:20240105T100000Z", "DURATION:PT1H", rule)))
    assert lo == ts("20240105T100000Z") - 1
    assert hi is not None
    # Upper bound: last start + duration, plus margins of at most a little over an hour.
    assert ts(last_start) + 3600 < hi <= ts(last_start) + 3600 + 3601 + 1


def test_override_moving_an_instance_out_widens_the_span() -> None:
    master = event("DTSTART:20240105T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=2")
    moved = event("RECURRENCE-ID:20240106T100000Z", "DTSTART:20240301T100000Z", "DURATION:PT1H")
    lo, hi = object_span(cal(master, moved))
    assert hi is not None and hi > ts("20240301T110000Z")


def test_rdate_before_dtstart_lowers_the_span() -> None:
    lo, _ = object_span(cal(event("DTSTART:20240105T100000Z", "RDATE:20231201T100000Z")))
    assert lo is not None and lo < ts("20231201T100000Z")


def test_span_never_raises_on_odd_data() -> None:
    odd = cal(event("DTSTART:20240105T100000Z", "RRULE:FREQ=DAILY;COUNT=-3"), event("SUMMARY:no start", uid="u2"))
    lo, hi = object_span(odd)
    assert lo is None or hi is None or lo < hi


# -- the superset property -------------------------------------------------------------

ZONES = [None, "UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"]
BASE = datetime(2024, 3, 20, 0, 0)


def _fmt(value: datetime, zone: str | None, all_day: bool) -> str:
    if all_day:
        return f";VALUE=DATE:{value:%Y%m%d}"
    if zone is None:
        return f":{value:%Y%m%dT%H%M%S}"
    if zone == "UTC":
        return f":{value:%Y%m%dT%H%M%S}Z"
    return f";TZID={zone}:{value:%Y%m%dT%H%M%S}"


@st.composite
def resources(draw: st.DrawFn) -> tuple[str, datetime]:
    kind = draw(st.sampled_from(["VEVENT", "VTODO", "VJOURNAL"]))
    zone = draw(st.sampled_from(ZONES))
    all_day = draw(st.booleans())
    start = BASE + timedelta(days=draw(st.integers(-60, 60)), minutes=0 if all_day else 15 * draw(st.integers(0, 95)))
    lines = [f"DTSTART{_fmt(start, zone, all_day)}"]
    length = draw(st.sampled_from([None, 0, 1, 3, 26, 49]))  # hours (days when all-day)
    end_style = draw(st.sampled_from(["end", "duration"]))
    if kind != "VJOURNAL" and length is not None:
        delta = timedelta(days=length) if all_day else timedelta(hours=length)
        if end_style == "end":
            end_name = "DTEND" if kind == "VEVENT" else "DUE"
            lines.append(f"{end_name}{_fmt(start + delta, zone, all_day)}")
        else:
            lines.append(f"DURATION:P{length}D" if all_day else f"DURATION:PT{length}H")
    rule = draw(st.sampled_from([None, "DAILY;COUNT=", "WEEKLY;COUNT=", "WEEKLY;UNTIL=", "DAILY;INTERVAL=3", "MONTHLY;COUNT="]))
    if rule is not None:
        if rule.endswith("COUNT="):
            rule += str(draw(st.integers(1, 20)))
        elif rule.endswith("UNTIL="):
            until = start + timedelta(days=draw(st.integers(0, 90)))
            rule += f"{until:%Y%m%d}" if all_day else (f"{until:%Y%m%dT%H%M%S}" + ("" if zone is None else "Z"))
        lines.append(f"RRULE:FREQ={rule}")
        if draw(st.booleans()):
            lines.append(f"EXDATE{_fmt(start + timedelta(days=7), zone, all_day)}")
    blocks = [component(kind, *lines)]
    if rule is not None and draw(st.booleans()):
        rid = start + timedelta(days=draw(st.sampled_from([1, 3, 7, 14])))
        moved = rid + timedelta(days=draw(st.integers(-40, 40)), hours=0 if all_day else draw(st.integers(-12, 12)))
        blocks.append(component(kind, f"RECURRENCE-ID{_fmt(rid, zone, all_day)}", f"DTSTART{_fmt(moved, zone, all_day)}"))
    return "".join(blocks), start


@st.composite
def ranges(draw: st.DrawFn, near: datetime) -> TimeRange:
    """Ranges around the event's own wall time, biased to the edges where mistakes show.

    Offsets of +-14h are where a floating time read in an extreme zone lands;
    offsets of a second probe the inclusive and exclusive comparisons.
    """
    offset = timedelta(
        days=draw(st.sampled_from([0, 0, 0, 1, 2, 7, 14, 30, 100, -1])),
        hours=draw(st.sampled_from([-15, -14, -13, -11, -1, 0, 0, 1, 11, 13, 14, 15])),
        minutes=draw(st.sampled_from([0, 0, 1, -1, 15, 45])),
        seconds=draw(st.sampled_from([0, 0, 1, -1])),
    )
    anchor = near.replace(tzinfo=timezone.utc) + offset
    width = timedelta(seconds=draw(st.sampled_from([1, 60, 900, 3600, 13 * 3600, 86400, 7 * 86400])))
    start = None if draw(st.integers(0, 9)) == 0 else anchor
    end = None if draw(st.integers(0, 9)) == 0 else anchor + width
    return TimeRange(start, end)


@settings(max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), tz=st.sampled_from([None, "Europe/Berlin", "Pacific/Kiritimati", "Pacific/Pago_Pago"]))
def test_span_admits_every_matching_range(data: st.DataObject, tz: str | None) -> None:
    body, start = data.draw(resources(), label="resource")
    time_range = data.draw(ranges(start), label="range")
    resource = cal(body, timezones=BERLIN_VTIMEZONE if "Europe/Berlin" in body else "")
    kind = resource.subcomponents[-1].name
    flt = CompFilter("VCALENDAR", comp_filters=(CompFilter(kind, time_range=time_range),))
    matched = matches(resource, flt, tz=ZoneInfo(tz) if tz else None)
    note_outcome("matched" if matched else "no match")
    if matched:
        assert index_admits(object_span(resource), time_range)


def test_superset_check_sees_matches() -> None:
    """Guard against a vacuous property test: the generators do produce matches."""
    resource = cal(event("DTSTART;TZID=Pacific/Kiritimati:20240320T000000", "RRULE:FREQ=DAILY;COUNT=3"))
    time_range = TimeRange(datetime(2024, 3, 20, 10, tzinfo=timezone.utc), datetime(2024, 3, 20, 11, tzinfo=timezone.utc))
    flt = CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT", time_range=time_range),))
    assert matches(resource, flt)
    assert index_admits(object_span(resource), time_range)

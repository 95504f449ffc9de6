"""The time index answers every time-range as a full parse of the object does.

Random objects of every component type (all-day, floating, zoned and UTC
values; bounded series and series without end, EXDATEs, overrides, RANGE=
THISANDFUTURE; to-dos with any mix of DTSTART, DUE, DURATION, COMPLETED and
CREATED), random ranges near them and far past the horizon, read in several
calendar time zones: what the stored index says equals what
``domain.query.matches`` says after parsing, and its busy time equals
``domain.freebusy.busy_periods``.  Then the cases by name.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_outcome
from hypothesis import strategies as st
from icalendar import Calendar

from caldav_sched.domain.freebusy import busy_periods
from caldav_sched.domain.query import CompFilter, TimeRange, matches
from caldav_sched.domain.time_index import (
    BEYOND,
    EARLIEST,
    HORIZON,
    LOWER_LIMIT,
    LONG,
    NOT_INDEXED,
    InstanceRow,
    TimeIndex,
    busy_from_rows,
    decides,
    time_index,
    window,
    zone_less_in_range,
)
from tests.query._query_helpers import BERLIN_VTIMEZONE, cal, component, event, todo, utc

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)
ZONES = [None, "UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"]
QUERY_ZONES = [None, "Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata"]
BASE = datetime(2026, 3, 20, 0, 0)  # a week before Europe's change to summer time


def scanned(index: TimeIndex, rng: TimeRange) -> list[InstanceRow]:
    """The rows the store's scan of the time table gives for ``rng`` (its SQL, in Python)."""
    scan = window(rng)
    return [
        row for row in index.rows
        if row.starts_at < scan.end and row.ends_at > scan.start
        and (row.is_long or row.starts_at >= scan.short_from)
    ]


def index_says(index: TimeIndex, rng: TimeRange, tz: tzinfo | None) -> bool:
    return any(
        row.code is None or zone_less_in_range(row.code, row.wall_first, row.wall_second, rng, tz)
        for row in scanned(index, rng)
    )


def busy_says(index: TimeIndex, rng: TimeRange, tz: tzinfo | None) -> list:
    rows = scanned(index, rng)
    zoned = [(r.starts_at, r.ends_at, r.fbtype) for r in rows if r.code is None and r.fbtype]
    zone_less = [(r.code, r.wall_first, r.wall_second) for r in rows if r.code is not None]
    return busy_from_rows(zoned, zone_less, rng, tz)


def parse_says(resource: Calendar, kind: str, rng: TimeRange, tz: tzinfo | None) -> bool:
    return matches(resource, CompFilter("VCALENDAR", comp_filters=(CompFilter(kind, time_range=rng),)), tz=tz)


def _fmt(value: datetime, zone: str | None, all_day: bool) -> str:
    if all_day:
        return f";VALUE=DATE:{value:%Y%m%d}"
    if zone is None:
        return f":{value:%Y%m%dT%H%M%S}"
    if zone == "UTC":
        return f":{value:%Y%m%dT%H%M%S}Z"
    return f";TZID={zone}:{value:%Y%m%dT%H%M%S}"


@st.composite
def todo_dates(draw: st.DrawFn, start: datetime, zone: str | None, all_day: bool) -> list[str]:
    lines = []
    has_start = draw(st.booleans())
    if has_start:
        lines.append(f"DTSTART{_fmt(start, zone, all_day)}")
    end = draw(st.sampled_from([None, "DUE", "DURATION"] if has_start else [None, "DUE"]))
    hours = draw(st.sampled_from([0, 1, 26]))
    if end == "DUE":
        lines.append(f"DUE{_fmt(start + timedelta(hours=hours, days=hours if all_day else 0), zone, all_day)}")
    elif end == "DURATION":
        lines.append(f"DURATION:P{hours}D" if all_day else f"DURATION:PT{hours}H")
    for name in ("COMPLETED", "CREATED"):
        if draw(st.integers(0, 2)) == 0:
            moment = start + timedelta(hours=draw(st.integers(-50, 50)))
            lines.append(f"{name}:{moment:%Y%m%dT%H%M%S}Z")
    return lines


@st.composite
def resources(draw: st.DrawFn) -> tuple[str, str, datetime]:
    """(kind, component blocks, a wall time near the object)."""
    kind = draw(st.sampled_from(["VEVENT", "VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY"]))
    zone = draw(st.sampled_from(ZONES))
    all_day = draw(st.booleans())
    # Mostly near now; some long before the lower limit (a birthday, a weekly meeting for years).
    days = draw(st.integers(-10, 400) | st.integers(-2600, -300))
    start = BASE + timedelta(days=days, minutes=0 if all_day else 15 * draw(st.integers(0, 95)))
    if kind == "VFREEBUSY":
        first = start.replace(tzinfo=timezone.utc)
        lines = [f"FREEBUSY;FBTYPE={draw(st.sampled_from(['BUSY', 'FREE', 'BUSY-TENTATIVE', 'X-ODD']))}:"
                 f"{first:%Y%m%dT%H%M%S}Z/PT{draw(st.integers(1, 30))}H"]
        if draw(st.booleans()):
            lines += [f"DTSTART:{first - timedelta(days=1):%Y%m%dT%H%M%S}Z", f"DTEND:{first + timedelta(days=2):%Y%m%dT%H%M%S}Z"]
        return kind, component(kind, *lines), start
    if kind == "VTODO":
        lines = draw(todo_dates(start, zone, all_day))
    else:
        lines = [f"DTSTART{_fmt(start, zone, all_day)}"]
        length = draw(st.sampled_from([None, 0, 1, 3, 26]))
        if kind == "VEVENT" and length is not None:
            delta = timedelta(days=length) if all_day else timedelta(hours=length)
            if draw(st.booleans()):
                lines.append(f"DTEND{_fmt(start + delta, zone, all_day)}")
            else:
                lines.append(f"DURATION:P{length}D" if all_day else f"DURATION:PT{length}H")
    if kind == "VEVENT":
        lines.append(draw(st.sampled_from(["", "", "TRANSP:TRANSPARENT", "STATUS:TENTATIVE", "STATUS:CANCELLED"])))
        lines = [line for line in lines if line]
    anchored = any(line.startswith(("DTSTART", "DUE")) for line in lines)
    rule = draw(st.sampled_from([None, None, "DAILY;COUNT=5", "WEEKLY", "MONTHLY", "YEARLY", "WEEKLY;INTERVAL=2", "WEEKLY;COUNT=30"]))
    blocks = []
    if rule is not None and anchored:
        lines.append(f"RRULE:FREQ={rule}")
        if draw(st.booleans()):
            lines.append(f"EXDATE{_fmt(start + timedelta(days=7), zone, all_day)}")
        if draw(st.booleans()):
            rid = start + timedelta(days=draw(st.sampled_from([7, 14, 28])))
            moved = rid + timedelta(days=draw(st.integers(-3, 3)), hours=0 if all_day else draw(st.integers(-5, 5)))
            rid_text = _fmt(rid, zone, all_day)
            if draw(st.booleans()):
                rid_text = ";RANGE=THISANDFUTURE" + rid_text
            extra = [f"DTSTART{_fmt(moved, zone, all_day)}"] if any(x.startswith("DTSTART") for x in lines) else [
                f"DUE{_fmt(moved, zone, all_day)}"]
            if kind == "VEVENT" and draw(st.booleans()):
                extra.append("TRANSP:TRANSPARENT")
            blocks.append(component(kind, f"RECURRENCE-ID{rid_text}", *extra))
    return kind, component(kind, *lines) + "".join(blocks), start


@st.composite
def ranges(draw: st.DrawFn, near: datetime) -> TimeRange:
    """Ranges at the object's wall time give or take a zone's offset, far past the
    horizon, or around the lower limit."""
    if draw(st.integers(0, 7)) == 0:
        near = NOW.replace(tzinfo=None) + HORIZON + timedelta(days=draw(st.integers(-40, 900)))
    elif draw(st.integers(0, 7)) == 0:
        near = NOW.replace(tzinfo=None) - LOWER_LIMIT + timedelta(days=draw(st.integers(-60, 60)))
    offset = timedelta(
        days=draw(st.sampled_from([0, 0, 0, 1, 7, 14, 30, 100, -1])),
        hours=draw(st.sampled_from([-15, -14, -13, -11, -1, 0, 0, 1, 11, 13, 14, 15])),
        minutes=draw(st.sampled_from([0, 0, 1, -1, 15])),
        seconds=draw(st.sampled_from([0, 0, 1, -1])),
    )
    anchor = near.replace(tzinfo=timezone.utc) + offset
    width = timedelta(seconds=draw(st.sampled_from([1, 3600, 13 * 3600, 86400, 7 * 86400, 31 * 86400])))
    start = None if draw(st.integers(0, 9)) == 0 else anchor
    end = None if draw(st.integers(0, 9)) == 0 else anchor + width
    return TimeRange(start, end)


@settings(max_examples=600, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), zone=st.sampled_from(QUERY_ZONES))
def test_the_index_answers_as_a_full_parse_does(data: st.DataObject, zone: str | None) -> None:
    kind, blocks, near = data.draw(resources(), label="resource")
    rng = data.draw(ranges(near), label="range")
    tz = ZoneInfo(zone) if zone else None
    resource = cal(blocks, timezones=BERLIN_VTIMEZONE if "Europe/Berlin" in blocks else "")
    index = time_index(resource, NOW)
    if not decides(index.until, index.since, rng):
        # Past the horizon, before the lower limit (or open): a row in the
        # range still says the object is in it; else the query keeps the
        # object further.
        note_outcome("beyond the rows kept")
        assert index.until != BEYOND or index.since is not None
        if index_says(index, rng, tz):
            assert parse_says(resource, kind, rng, tz)
        if rng.end is None and index.until != BEYOND:
            return
        index = time_index(resource, NOW, until=rng.end, since=rng.start or EARLIEST)
    assert index.until != NOT_INDEXED
    assert decides(index.until, index.since, rng)
    expected = parse_says(resource, kind, rng, tz)
    note_outcome(f"{kind} {'in range' if expected else 'not in range'}")
    assert index_says(index, rng, tz) == expected
    # Only rows lasting more than LONG are scanned from the beginning of time.
    assert all(row.is_long == (row.ends_at - row.starts_at > LONG) for row in index.rows)
    if kind == "VEVENT" and rng.start is not None and rng.end is not None:
        assert busy_says(index, rng, tz) == busy_periods([resource], rng, tz=tz)


# -- the cases by name -------------------------------------------------------------------


def rng_utc(start: str, end: str) -> TimeRange:
    return TimeRange(utc(start), utc(end))


def test_a_query_past_the_horizon_keeps_the_series_further() -> None:
    weekly = cal(event("DTSTART:20261201T090000Z", "DTEND:20261201T100000Z", "RRULE:FREQ=WEEKLY"))
    index = time_index(weekly, NOW)
    assert index.until == int((NOW.replace(microsecond=0) + HORIZON).timestamp())
    far = rng_utc("20300101T000000Z", "20300201T000000Z")
    assert not decides(index.until, index.since, far)
    extended = time_index(weekly, NOW, until=far.end)
    assert decides(extended.until, extended.since, far)
    assert index_says(extended, far, None) is True == parse_says(weekly, "VEVENT", far, None)
    # Instances kept from the first on: an early range is answered too.
    assert index_says(extended, rng_utc("20261208T093000Z", "20261208T093001Z"), None)


def test_a_series_starting_after_the_horizon_keeps_its_first_instances() -> None:
    later = cal(event("DTSTART:20400105T090000Z", "DURATION:PT1H", "RRULE:FREQ=YEARLY"))
    index = time_index(later, NOW)
    assert len(index.rows) >= 1
    assert index_says(index, rng_utc("20400105T000000Z", "20400106T000000Z"), None)
    # The next year is past its horizon: a query there keeps it further.
    next_year = rng_utc("20410105T000000Z", "20410106T000000Z")
    assert not decides(index.until, index.since, next_year)
    extended = time_index(later, NOW, until=next_year.end)
    assert index_says(extended, next_year, None)


def test_a_floating_time_in_the_hour_that_summer_time_skips() -> None:
    # 2027-03-28 02:30 does not exist in Berlin; the parse reads it as 01:30 UTC.
    skipped = cal(event("DTSTART:20270328T023000", "DTEND:20270328T033000", "RRULE:FREQ=DAILY;COUNT=3"))
    berlin = ZoneInfo("Europe/Berlin")
    index = time_index(skipped, NOW)
    for start, end in [("20270328T010000Z", "20270328T013000Z"), ("20270328T013000Z", "20270328T013001Z"),
                       ("20270328T002959Z", "20270328T003000Z"), ("20270329T003000Z", "20270329T003001Z")]:
        rng = rng_utc(start, end)
        assert index_says(index, rng, berlin) == parse_says(skipped, "VEVENT", rng, berlin), (start, end)


def test_a_zoned_weekly_meeting_keeps_its_wall_time_across_the_change() -> None:
    meeting = cal(
        event("DTSTART;TZID=Europe/Berlin:20270322T090000", "DTEND;TZID=Europe/Berlin:20270322T100000",
              "RRULE:FREQ=WEEKLY"),
        timezones=BERLIN_VTIMEZONE,
    )
    index = time_index(meeting, NOW)
    before, after = rng_utc("20270322T080000Z", "20270322T080001Z"), rng_utc("20270329T070000Z", "20270329T070001Z")
    assert index_says(index, before, None) and index_says(index, after, None)
    assert not index_says(index, rng_utc("20270329T080000Z", "20270329T090000Z"), None)


def test_a_floating_all_day_event_seen_from_both_ends_of_the_world() -> None:
    day = cal(event("DTSTART;VALUE=DATE:20270615", "SUMMARY:Holiday"))
    index = time_index(day, NOW)
    pago, kiritimati = ZoneInfo("Pacific/Pago_Pago"), ZoneInfo("Pacific/Kiritimati")  # UTC-11, UTC+14
    # The day runs 11:00 UTC on the 15th to 11:00 UTC on the 16th in Pago Pago,
    # and 10:00 UTC on the 14th to 10:00 UTC on the 15th in Kiritimati.
    cases = [
        (pago, "20270615T105959Z", "20270615T110000Z", False),
        (pago, "20270616T105959Z", "20270616T110000Z", True),
        (pago, "20270616T110000Z", "20270616T120000Z", False),
        (kiritimati, "20270614T095959Z", "20270614T100000Z", False),
        (kiritimati, "20270614T100000Z", "20270614T100001Z", True),
        (kiritimati, "20270615T100000Z", "20270615T110000Z", False),
    ]
    for zone, start, end, expected in cases:
        rng = rng_utc(start, end)
        assert index_says(index, rng, zone) is expected, (zone, start)
        assert parse_says(day, "VEVENT", rng, zone) is expected
    busy = busy_says(index, rng_utc("20270615T000000Z", "20270617T000000Z"), pago)
    assert busy == [(utc("20270615T110000Z"), utc("20270616T110000Z"), "BUSY")]


def test_a_birthday_is_kept_from_the_lower_limit_and_found_on_its_day_only() -> None:
    # Born in 1955: the rows start at the lower limit (half a year before
    # now), not seventy years back, and each is a short row a scan near the
    # range meets.
    birthday = cal(event("DTSTART;VALUE=DATE:19550312", "RRULE:FREQ=YEARLY", "SUMMARY:Ada"))
    index = time_index(birthday, NOW)
    assert index.since == int((NOW - LOWER_LIMIT).timestamp())
    assert len(index.rows) == 1 and not any(row.is_long for row in index.rows)
    assert len(scanned(index, rng_utc("20270312T000000Z", "20270313T000000Z"))) == 1
    for zone in (None, ZoneInfo("Pacific/Pago_Pago"), ZoneInfo("Pacific/Kiritimati")):
        for start, end, expected in (("20270312T000000Z", "20270313T000000Z", True),
                                     ("20270301T000000Z", "20270309T000000Z", False),
                                     ("20270310T000000Z", "20270315T000000Z", True)):
            rng = rng_utc(start, end)
            assert decides(index.until, index.since, rng)
            assert index_says(index, rng, zone) is expected, (zone, start)
            assert parse_says(birthday, "VEVENT", rng, zone) is expected
        week = rng_utc("20270308T000000Z", "20270315T000000Z")
        busy = busy_says(index, week, zone)
        assert busy == busy_periods([birthday], week, tz=zone) != []
    # Her birthday in 1955 is before the rows: the query parses the object
    # and keeps it from there on.
    born = rng_utc("19550312T000000Z", "19550313T000000Z")
    assert not decides(index.until, index.since, born)
    assert index_says(index, born, None) is False
    kept = time_index(birthday, NOW, since=born.start)
    assert kept.since is not None and kept.since <= born.start.timestamp() and len(kept.rows) > 70
    assert decides(kept.until, kept.since, born) and index_says(kept, born, None) is True


def test_a_series_that_began_after_the_lower_limit_is_kept_from_its_first_instance() -> None:
    weekly = cal(event("DTSTART:20260901T090000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY"))
    index = time_index(weekly, NOW)
    assert index.since is None
    assert index.rows[0].starts_at == int(utc("20260901T090000Z").timestamp())
    # Up to the horizon, then nothing.
    assert index.until == int((NOW + HORIZON).timestamp())


def test_a_long_bounded_series_is_kept_from_the_lower_limit_too() -> None:
    # Daily for fifteen years: more instances than an object may keep, but
    # from the lower limit on they fit.
    daily = cal(event("DTSTART:20150105T080000Z", "DURATION:PT30M", "RRULE:FREQ=DAILY;UNTIL=20291231T000000Z"))
    index = time_index(daily, NOW)
    assert index.until == BEYOND and index.since is not None
    this_week = rng_utc("20261207T000000Z", "20261214T000000Z")
    assert decides(index.until, index.since, this_week)
    assert len(scanned(index, this_week)) == 7
    # So is a daily series without end that began in 2000.
    daily_for_ages = cal(event("DTSTART:20000101T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY"))
    kept = (LOWER_LIMIT + HORIZON).days
    assert kept <= len(time_index(daily_for_ages, NOW).rows) <= kept + 3


def test_a_task_without_dates_is_in_every_range() -> None:
    someday = cal(todo("SUMMARY:Clean the garage"))
    index = time_index(someday, NOW)
    assert index.until == BEYOND
    for rng in (rng_utc("19700101T000000Z", "19700101T000001Z"), rng_utc("20990101T000000Z", "21000101T000000Z"),
                TimeRange(utc("20270101T000000Z"), None)):
        assert index_says(index, rng, None) and parse_says(someday, "VTODO", rng, None)


def test_a_recurring_task_with_only_a_due_date_has_every_instance() -> None:
    chore = cal(todo("DUE:20270104T170000Z", "RRULE:FREQ=WEEKLY;COUNT=4"))
    index = time_index(chore, NOW)
    for day, expected in (("20270118", True), ("20270125", True), ("20270201", False)):
        rng = rng_utc(f"{day}T000000Z", f"{day}T235959Z")
        assert index_says(index, rng, None) is expected
        assert parse_says(chore, "VTODO", rng, None) is expected


def test_a_this_and_future_override_moves_every_later_instance() -> None:
    series = cal(
        event("DTSTART:20270104T090000Z", "DTEND:20270104T100000Z", "RRULE:FREQ=WEEKLY;COUNT=6"),
        event("RECURRENCE-ID;RANGE=THISANDFUTURE:20270118T090000Z", "DTSTART:20270118T140000Z",
              "DTEND:20270118T160000Z"),
    )
    index = time_index(series, NOW)
    for day, hour, expected in (("20270111", "09", True), ("20270125", "09", False), ("20270125", "15", True),
                                ("20270208", "15", True), ("20270208", "09", False)):
        rng = rng_utc(f"{day}T{hour}3000Z", f"{day}T{hour}3001Z")
        assert index_says(index, rng, None) is expected, (day, hour)
        assert parse_says(series, "VEVENT", rng, None) is expected
    month = rng_utc("20270101T000000Z", "20270301T000000Z")
    busy = busy_periods([series], month)
    assert (utc("20270125T140000Z"), utc("20270125T160000Z"), "BUSY") in busy
    assert busy_says(index, month, None) == busy


def test_objects_beyond_what_an_index_keeps_are_left_to_the_parser() -> None:
    hourly = cal(event("DTSTART:20261201T090000Z", "DURATION:PT10M", "RRULE:FREQ=HOURLY"))
    assert time_index(hourly, NOW).until == NOT_INDEXED
    mixed = cal(event("DTSTART:20270101T090000Z"), todo("DUE:20270101T090000Z", uid="u2"))
    assert time_index(mixed, NOW).until == NOT_INDEXED


AVAILABILITY_CASES = [
    # (lines, range, expected): RFC 7953 3.1, open ends for a missing DTSTART or DTEND.
    (("DTSTART:20270101T000000Z", "DTEND:20270201T000000Z"), ("20270131T230000Z", "20270201T000000Z"), True),
    (("DTSTART:20270101T000000Z", "DTEND:20270201T000000Z"), ("20270201T000000Z", "20270202T000000Z"), False),
    (("DTSTART:20270101T000000Z", "DURATION:P7D"), ("20270107T000000Z", "20270108T000000Z"), True),
    (("DTSTART:20270101T000000Z", "DURATION:P7D"), ("20270108T000000Z", "20270109T000000Z"), False),
    (("DTSTART:20270101T000000Z",), ("20400101T000000Z", "20400102T000000Z"), True),
    (("DTSTART:20270101T000000Z",), ("20261231T000000Z", "20270101T000000Z"), False),
    (("DTEND:20270101T000000Z",), ("19700101T000000Z", "19700102T000000Z"), True),
    ((), ("20270101T000000Z", "20270102T000000Z"), True),
]


def test_availability_time_ranges() -> None:
    for lines, (start, end), expected in AVAILABILITY_CASES:
        resource = cal(component("VAVAILABILITY", *lines))
        assert parse_says(resource, "VAVAILABILITY", rng_utc(start, end), None) is expected, (lines, start)

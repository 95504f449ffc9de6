"""Replies for one instance of a recurring event (anchors 6.4 #23-#27, #30)."""

from __future__ import annotations

import pytest

from caldav_sched.domain.scheduling import ReplyApplied, ReplyRefused, apply_reply, plan_organizer_change

from .helpers import A, B, BERLIN, C, NOW, att, cal, partstats, prop, vevent

START = "DTSTART;TZID=Europe/Berlin:20250612T080000"
END = "DTEND;TZID=Europe/Berlin:20250612T090000"
R19 = "20250619T060000Z"


def series(*extra, **kw):
    text = vevent(att(A, "ACCEPTED"), att(B), att(C), "RRULE:FREQ=WEEKLY;COUNT=4", *extra,
                  start=START, end=END, **kw)
    return plan_organizer_change(None, cal(text, tz=BERLIN), organizer=A, now=NOW).stored


def instance_reply(rid_line: str, partstat: str = "ACCEPTED", seq: int = 0,
                   stamp: str = "20250601T110000Z", tz: bool = True, *extra: str):
    return cal(vevent(att(B, partstat), rid_line, *extra, start=START, end=END, seq=seq,
                      stamp=stamp), method="REPLY", tz=BERLIN if tz else None)


@pytest.mark.parametrize(
    "rid_line",
    [
        "RECURRENCE-ID;TZID=Europe/Berlin:20250619T080000",
        f"RECURRENCE-ID:{R19}",  # UTC (anchors #24)
        "RECURRENCE-ID;TZID=America/New_York:20250619T020000",  # yet another zone
    ],
    ids=["series zone", "utc", "other zone"],
)
def test_reply_for_one_instance_derives_an_override(rid_line):
    base = series()
    result = apply_reply(base, instance_reply(rid_line), attendee=B, now=NOW)
    assert isinstance(result, ReplyApplied) and result.changed
    assert result.partstats == ((R19, "ACCEPTED"),)
    assert partstats(result.stored) == partstats(base)  # master untouched
    assert partstats(result.stored, R19)[B] == "ACCEPTED"
    assert partstats(result.stored, R19)[C] == "NEEDS-ACTION"
    override_rid = prop(result.stored, "RECURRENCE-ID", R19)
    assert override_rid.dt.isoformat() == "2025-06-19T08:00:00+02:00"  # written like DTSTART
    override = [c for c in result.stored.walk("VEVENT") if c.get("RECURRENCE-ID")][0]
    assert "RRULE" not in override and override["DTSTART"].dt.hour == 8


def test_second_reply_for_the_same_instance_in_utc_updates_the_same_override():
    first = apply_reply(series(), instance_reply("RECURRENCE-ID;TZID=Europe/Berlin:20250619T080000"),
                        attendee=B, now=NOW)
    second = apply_reply(first.stored, instance_reply(f"RECURRENCE-ID:{R19}", "DECLINED",
                                                      stamp="20250601T113000Z"),
                         attendee=B, now=NOW)
    assert isinstance(second, ReplyApplied)
    assert len(second.stored.walk("VEVENT")) == 2
    assert partstats(second.stored, R19)[B] == "DECLINED"


@pytest.mark.parametrize(
    "rid_line",
    [
        "RECURRENCE-ID;TZID=Europe/Berlin:20250619T090000",  # off the pattern
        "RECURRENCE-ID;TZID=Europe/Berlin:20250710T080000",  # after COUNT
        "RECURRENCE-ID;TZID=Europe/Berlin:20250626T080000",  # EXDATE'd below
    ],
    ids=["off pattern", "after the end", "excluded"],
)
def test_reply_for_an_instance_that_does_not_exist(rid_line):
    base = series("EXDATE;TZID=Europe/Berlin:20250626T080000")
    result = apply_reply(base, instance_reply(rid_line), attendee=B, now=NOW)
    assert isinstance(result, ReplyRefused) and result.code == "no-such-instance"


def test_all_day_series_matches_date_and_midnight_forms():
    """anchors #25: VALUE=DATE vs a DATE-TIME;TZID=...T000000 variant."""
    text = vevent(att(A, "ACCEPTED"), att(B), "RRULE:FREQ=DAILY;COUNT=5",
                  start="DTSTART;VALUE=DATE:20250617", end="DTEND;VALUE=DATE:20250618")
    base = plan_organizer_change(None, cal(text), organizer=A, now=NOW).stored
    by_date = cal(vevent(att(B, "ACCEPTED"), "RECURRENCE-ID;VALUE=DATE:20250619",
                         start="DTSTART;VALUE=DATE:20250619", end=""), method="REPLY")
    by_time = cal(vevent(att(B, "DECLINED"), "RECURRENCE-ID;TZID=Europe/Berlin:20250619T000000",
                         start="DTSTART;TZID=Europe/Berlin:20250619T000000", end="",
                         stamp="20250601T113000Z"), method="REPLY", tz=BERLIN)
    first = apply_reply(base, by_date, attendee=B, now=NOW)
    assert first.partstats == (("20250619", "ACCEPTED"),)
    second = apply_reply(first.stored, by_time, attendee=B, now=NOW)
    assert isinstance(second, ReplyApplied)
    assert second.partstats == (("20250619", "DECLINED"),)
    assert len(second.stored.walk("VEVENT")) == 2
    override = [c for c in second.stored.walk("VEVENT") if c.get("RECURRENCE-ID")][0]
    assert str(override["RECURRENCE-ID"].dt) == "2025-06-19"


def test_multi_instance_reply_is_applied_at_once():
    """anchors #27: accept the series, decline one date."""
    message = cal(
        vevent(att(B, "ACCEPTED"), start=START, end=END),
        vevent(att(B, "DECLINED"), "RECURRENCE-ID;TZID=Europe/Berlin:20250619T080000",
               start=START, end=END),
        method="REPLY", tz=BERLIN,
    )
    result = apply_reply(series(), message, attendee=B, now=NOW)
    assert isinstance(result, ReplyApplied)
    assert result.partstats == (("master", "ACCEPTED"), (R19, "DECLINED"))
    assert partstats(result.stored)[B] == "ACCEPTED"
    assert partstats(result.stored, R19)[B] == "DECLINED"


def test_partly_valid_reply_applies_the_valid_part_and_notes_the_rest():
    message = cal(
        vevent(att(B, "ACCEPTED"), start=START, end=END),
        vevent(att(B, "DECLINED"), "RECURRENCE-ID;TZID=Europe/Berlin:20250620T080000",
               start=START, end=END),
        method="REPLY", tz=BERLIN,
    )
    result = apply_reply(series(), message, attendee=B, now=NOW)
    assert isinstance(result, ReplyApplied)
    assert result.partstats == (("master", "ACCEPTED"),)
    assert any("does not exist" in n for n in result.notes)


def test_range_thisandfuture_applies_to_the_named_instance_only():
    """anchors #30: documented behaviour."""
    rid = "RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20250619T080000"
    result = apply_reply(series(), instance_reply(rid, "DECLINED"), attendee=B, now=NOW)
    assert isinstance(result, ReplyApplied)
    assert result.partstats == ((R19, "DECLINED"),)
    assert partstats(result.stored)[B] == "NEEDS-ACTION"
    assert any("THISANDFUTURE" in n for n in result.notes)


def test_reply_for_an_instance_the_attendee_is_not_in():
    text = "\n".join([
        vevent(att(A, "ACCEPTED"), att(B), att(C), "RRULE:FREQ=WEEKLY;COUNT=4", start=START, end=END),
        vevent(att(A, "ACCEPTED"), att(C), "RECURRENCE-ID;TZID=Europe/Berlin:20250619T080000",
               start="DTSTART;TZID=Europe/Berlin:20250619T080000",
               end="DTEND;TZID=Europe/Berlin:20250619T090000"),
    ])
    base = plan_organizer_change(None, cal(text, tz=BERLIN), organizer=A, now=NOW).stored
    rid = "RECURRENCE-ID;TZID=Europe/Berlin:20250619T080000"
    result = apply_reply(base, instance_reply(rid), attendee=B, now=NOW)
    assert isinstance(result, ReplyRefused) and result.code == "not-an-attendee"


def test_stale_sequence_is_judged_per_instance():
    base = series()
    moved = plan_organizer_change(
        base,
        cal("\n".join([
            vevent(att(A, "ACCEPTED"), att(B), att(C), "RRULE:FREQ=WEEKLY;COUNT=4", start=START,
                   end=END),
            vevent(att(A, "ACCEPTED"), att(B), att(C),
                   "RECURRENCE-ID;TZID=Europe/Berlin:20250619T080000",
                   start="DTSTART;TZID=Europe/Berlin:20250619T100000",
                   end="DTEND;TZID=Europe/Berlin:20250619T110000"),
        ]), tz=BERLIN),
        organizer=A, now=NOW,
    ).stored
    stale = apply_reply(moved, instance_reply("RECURRENCE-ID;TZID=Europe/Berlin:20250619T080000"),
                        attendee=B, now=NOW)
    assert isinstance(stale, ReplyRefused) and stale.code == "stale-sequence"
    master_reply = cal(vevent(att(B, "ACCEPTED"), start=START, end=END), method="REPLY")
    assert isinstance(apply_reply(moved, master_reply, attendee=B, now=NOW), ReplyApplied)

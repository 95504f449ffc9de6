"""Recurring events: per-instance scheduling on the organizer side (anchors 6.4, 6.7 #40)."""

from __future__ import annotations

from caldav_sched.domain.scheduling import plan_organizer_change
from caldav_sched.domain.scheduling.instances import Series, date_keys, label

from .helpers import A, B, C, D, NOW, BERLIN, att, cal, line_params, outline, partstats, reasons, vevent

START = "DTSTART;TZID=Europe/Berlin:20250612T080000"
END = "DTEND;TZID=Europe/Berlin:20250612T090000"
RULE = "RRULE:FREQ=WEEKLY;COUNT=4"
R19 = "20250619T060000Z"
R26 = "20250626T060000Z"


def master(*lines, **kw):
    return vevent(RULE, *lines, start=START, end=END, **kw)


def override(day: str, *lines, hour: str = "08", **kw):
    return vevent(
        f"RECURRENCE-ID;TZID=Europe/Berlin:202506{day}T080000",
        *lines,
        start=f"DTSTART;TZID=Europe/Berlin:202506{day}T{hour}0000",
        end=f"DTEND;TZID=Europe/Berlin:202506{day}T{int(hour) + 1:02d}0000",
        **kw,
    )


def rcal(*components):
    return cal(*components, tz=BERLIN)


def plan(old, new):
    return plan_organizer_change(old, new, organizer=A, now=NOW)


EVERYONE = (att(A, "ACCEPTED"), att(B, "ACCEPTED"), att(C, "ACCEPTED"))


def test_per_attendee_instance_lists_on_create():
    new = rcal(
        master(*EVERYONE),
        override("19", att(A, "ACCEPTED"), att(B)),  # C is not at this one
        override("26", *EVERYONE, att(D)),  # D only comes to this one
    )
    result = plan(None, new)
    assert outline(result) == [
        ("REQUEST", B, 0, (R19, R26), True),
        ("REQUEST", C, 0, (R26,), True),
        ("REQUEST", D, 0, (R26,), False),
    ]
    c_master = next(
        e for e in result.messages[1].calendar.walk("VEVENT") if e.get("RECURRENCE-ID") is None
    )
    series = Series.of(new)
    assert {label(k) for k in date_keys(c_master, "EXDATE", series)} == {R19}
    d_events = result.messages[2].calendar.walk("VEVENT")
    assert len(d_events) == 1 and "RRULE" not in d_events[0]
    # every TZID in a message has its VTIMEZONE (anchors 6.5 #32)
    for message in result.messages:
        assert message.calendar.get_missing_tzids() == set()


def test_attendee_removed_from_one_instance_gets_cancel_for_that_instance():
    old = plan(None, rcal(master(*EVERYONE))).stored
    new = rcal(master(*EVERYONE), override("19", att(A, "ACCEPTED"), att(B, "ACCEPTED")))
    result = plan(old, new)
    assert outline(result) == [("CANCEL", C, 0, (R19,), False)]
    assert reasons(result)[f"CANCEL {C}"] == f"attendee removed from instance {R19}"
    event = result.messages[0].calendar.walk("VEVENT")[0]
    assert str(event["ATTENDEE"]) == C and "STATUS" not in event
    assert event["RECURRENCE-ID"].dt.isoformat() == "2025-06-19T08:00:00+02:00"


def test_moving_one_instance_resets_that_instance_only():
    old = plan(None, rcal(master(*EVERYONE), override("19", *EVERYONE))).stored
    new = rcal(master(*EVERYONE), override("19", *EVERYONE, hour="10"))
    result = plan(old, new)
    assert outline(result) == [("REQUEST", B, 1, (R19,), True), ("REQUEST", C, 1, (R19,), True)]
    assert reasons(result)[f"REQUEST {B}"] == (
        f"instance {R19}: event moved: DTSTART, DTEND changed"
    )
    assert partstats(result.stored) == {A: "ACCEPTED", B: "ACCEPTED", C: "ACCEPTED"}
    assert partstats(result.stored, R19) == {A: "ACCEPTED", B: "NEEDS-ACTION", C: "NEEDS-ACTION"}
    assert result.sequence == 0  # the master did not change


def test_new_override_that_moves_an_instance_is_significant_for_it():
    old = plan(None, rcal(master(*EVERYONE))).stored
    new = rcal(master(*EVERYONE), override("19", *EVERYONE, hour="11"))
    result = plan(old, new)
    assert outline(result) == [("REQUEST", B, 1, (R19,), True), ("REQUEST", C, 1, (R19,), True)]
    assert partstats(result.stored, R19)[B] == "NEEDS-ACTION"


def test_cancelling_one_instance():
    old = plan(None, rcal(master(*EVERYONE))).stored
    new = rcal(master(*EVERYONE), override("19", *EVERYONE, "STATUS:CANCELLED"))
    result = plan(old, new)
    assert outline(result) == [("CANCEL", B, 1, (R19,), False), ("CANCEL", C, 1, (R19,), False)]
    event = result.messages[0].calendar.walk("VEVENT")[0]
    assert str(event["STATUS"]) == "CANCELLED"
    assert reasons(result)[f"CANCEL {B}"] == f"instance {R19} cancelled (STATUS:CANCELLED)"


def test_attendee_added_to_one_override_only():
    old = plan(None, rcal(master(*EVERYONE), override("26", *EVERYONE))).stored
    result = plan(old, rcal(master(*EVERYONE), override("26", *EVERYONE, att(D))))
    assert outline(result) == [("REQUEST", D, 0, (R26,), False)]
    assert reasons(result)[f"REQUEST {D}"] == "attendee added"
    assert line_params(result.stored, D, R26)["RSVP"] == "TRUE"


def test_attendee_only_on_override_removed_from_it():
    old = plan(None, rcal(master(*EVERYONE), override("26", *EVERYONE, att(D)))).stored
    result = plan(old, rcal(master(*EVERYONE), override("26", *EVERYONE)))
    assert outline(result) == [("CANCEL", D, 0, (R26,), False)]


def test_deleting_a_series_cancels_instances_for_override_only_attendees():
    old = plan(None, rcal(master(*EVERYONE), override("26", *EVERYONE, att(D)))).stored
    result = plan(old, None)
    assert outline(result) == [
        ("CANCEL", B, 1, (), True),
        ("CANCEL", C, 1, (), True),
        ("CANCEL", D, 1, (R26,), False),
    ]


def test_exdate_on_the_series_is_a_significant_change():
    old = plan(None, rcal(master(*EVERYONE))).stored
    result = plan(old, rcal(master(*EVERYONE, "EXDATE;TZID=Europe/Berlin:20250619T080000")))
    assert outline(result) == [("REQUEST", B, 1, (), True), ("REQUEST", C, 1, (), True)]
    assert "recurrence changed: EXDATE changed" in reasons(result)[f"REQUEST {B}"]


def test_exdate_written_in_utc_is_the_same_exdate():
    old = plan(None, rcal(master(*EVERYONE, "EXDATE;TZID=Europe/Berlin:20250619T080000"))).stored
    result = plan(old, rcal(master(*EVERYONE, f"EXDATE:{R19}")))
    assert result.messages == ()

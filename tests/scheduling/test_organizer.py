"""Organizer side: iCalendar in, messages and the stored copy out (design.md "Scheduling rules")."""

from __future__ import annotations

import pytest

from caldav_sched.domain.scheduling import NotOrganizer, plan_organizer_change

from .helpers import A, B, C, D, NOW, att, cal, line_params, outline, partstats, prop, reasons, vevent

ME = A
BASE = (att(A, "ACCEPTED"), att(B, "ACCEPTED"), att(C, "TENTATIVE"))


def plan(old, new, **kw):
    return plan_organizer_change(old, new, organizer=ME, now=NOW, **kw)


# (id, old event or None, new event or None, expected messages, reason fragments)
TABLE = [
    (
        "create with attendees",
        None,
        vevent(att(A, "ACCEPTED"), att(B), att(C)),
        [("REQUEST", B, 0, (), True), ("REQUEST", C, 0, (), True)],
        {f"REQUEST {B}": "attendee added", f"REQUEST {C}": "attendee added"},
    ),
    (
        "add an attendee",
        vevent(*BASE),
        vevent(*BASE, att(D)),
        [("REQUEST", D, 0, (), True)],
        {f"REQUEST {D}": "attendee added"},
    ),
    (
        "remove an attendee",
        vevent(*BASE),
        vevent(att(A, "ACCEPTED"), att(B, "ACCEPTED")),
        [("CANCEL", C, 0, (), True)],
        {f"CANCEL {C}": "attendee removed"},
    ),
    (
        "significant: moved",
        vevent(*BASE),
        vevent(*BASE, start="DTSTART:20250611T090000Z", end="DTEND:20250611T100000Z"),
        [("REQUEST", B, 1, (), True), ("REQUEST", C, 1, (), True)],
        {f"REQUEST {B}": "event moved: DTSTART, DTEND changed"},
    ),
    (
        "significant: DTEND to an equal DURATION is no change",
        vevent(*BASE),
        vevent(*BASE, end="DURATION:PT1H"),
        [],
        {},
    ),
    (
        "significant: longer (DURATION)",
        vevent(*BASE),
        vevent(*BASE, end="DURATION:PT2H"),
        [("REQUEST", B, 1, (), True), ("REQUEST", C, 1, (), True)],
        {f"REQUEST {B}": "event moved: DURATION changed"},
    ),
    (
        "significant: LOCATION (still mailed, anchors #41)",
        vevent(*BASE, "LOCATION:Room 1"),
        vevent(*BASE, "LOCATION:Room 2"),
        [("REQUEST", B, 1, (), True), ("REQUEST", C, 1, (), True)],
        {f"REQUEST {C}": "event changed: LOCATION changed"},
    ),
    (
        "significant: SUMMARY",
        vevent(*BASE),
        vevent(*BASE, summary="Planning (moved room)"),
        [("REQUEST", B, 1, (), True), ("REQUEST", C, 1, (), True)],
        {f"REQUEST {B}": "event changed: SUMMARY changed"},
    ),
    (
        "significant: RRULE",
        vevent(*BASE, "RRULE:FREQ=WEEKLY;COUNT=4"),
        vevent(*BASE, "RRULE:FREQ=WEEKLY;COUNT=6"),
        [("REQUEST", B, 1, (), True), ("REQUEST", C, 1, (), True)],
        {f"REQUEST {B}": "recurrence changed: RRULE changed"},
    ),
    (
        "RRULE parts reordered with INTERVAL=1 is no change",
        vevent(*BASE, "RRULE:FREQ=WEEKLY;COUNT=4"),
        vevent(*BASE, "RRULE:COUNT=4;INTERVAL=1;FREQ=WEEKLY"),
        [],
        {},
    ),
    (
        "cosmetic: DESCRIPTION is mailed with the same SEQUENCE",
        vevent(*BASE, "DESCRIPTION:Agenda v1"),
        vevent(*BASE, "DESCRIPTION:Agenda v2"),
        [("REQUEST", B, 0, (), True), ("REQUEST", C, 0, (), True)],
        {f"REQUEST {B}": "details updated: DESCRIPTION changed"},
    ),
    (
        "attendee PARTSTAT only: nothing",
        vevent(*BASE),
        vevent(att(A, "ACCEPTED"), att(B, "DECLINED"), att(C, "ACCEPTED")),
        [],
        {},
    ),
    (
        "client noise only (DTSTAMP, X-MOZ-GENERATION, alarm): nothing",
        vevent(*BASE),
        vevent(*BASE, "X-MOZ-GENERATION:7", "BEGIN:VALARM", "ACTION:DISPLAY",
               "DESCRIPTION:Reminder", "TRIGGER:-PT15M", "END:VALARM",
               stamp="20250601T110000Z"),
        [],
        {},
    ),
    (
        "SCHEDULE-AGENT=CLIENT: not mailed",
        None,
        vevent(att(A, "ACCEPTED"), att(B, schedule_agent="CLIENT"), att(C)),
        [("REQUEST", C, 0, (), True)],
        {},
    ),
    (
        "SCHEDULE-AGENT=NONE and x-name: not mailed (RFC 6638 7.1)",
        None,
        vevent(att(A, "ACCEPTED"), att(B, schedule_agent="NONE"), att(C, schedule_agent="X-FOO")),
        [],
        {},
    ),
    (
        "every attendee SCHEDULE-AGENT=CLIENT: no double send (anchors #47)",
        vevent(att(A, "ACCEPTED"), att(B, schedule_agent="CLIENT"), att(C, schedule_agent="CLIENT")),
        vevent(att(A, "ACCEPTED"), att(B, schedule_agent="CLIENT"), att(C, schedule_agent="CLIENT"),
               start="DTSTART:20250611T090000Z", end="DTEND:20250611T100000Z"),
        [],
        {},
    ),
    (
        "organizer listed as attendee (any case) gets nothing",
        None,
        vevent(att("MAILTO:A@Example.com", "NEEDS-ACTION"), att(B)),
        [("REQUEST", B, 0, (), True)],
        {},
    ),
    (
        "cancel by delete: everyone, SEQUENCE + 1",
        vevent(*BASE, seq=2),
        None,
        [("CANCEL", B, 3, (), True), ("CANCEL", C, 3, (), True)],
        {f"CANCEL {B}": "event deleted"},
    ),
    (
        "cancel by STATUS:CANCELLED",
        vevent(*BASE, "STATUS:CONFIRMED"),
        vevent(*BASE, "STATUS:CANCELLED"),
        [("CANCEL", B, 1, (), True), ("CANCEL", C, 1, (), True)],
        {f"CANCEL {B}": "event cancelled (STATUS:CANCELLED)"},
    ),
    (
        "delete of an already cancelled event: nothing more",
        vevent(*BASE, "STATUS:CANCELLED", seq=1),
        None,
        [],
        {},
    ),
    (
        "uncancel: REQUEST again",
        vevent(*BASE, "STATUS:CANCELLED", seq=1),
        vevent(*BASE, "STATUS:CONFIRMED", seq=1),
        [("REQUEST", B, 2, (), True), ("REQUEST", C, 2, (), True)],
        {f"REQUEST {B}": "event reinstated"},
    ),
    (
        "SCHEDULE-FORCE-SEND=REQUEST with no change",
        vevent(*BASE),
        vevent(att(A, "ACCEPTED"), att(B, "ACCEPTED", schedule_force_send="REQUEST"),
               att(C, "TENTATIVE")),
        [("REQUEST", B, 0, (), True)],
        {f"REQUEST {B}": "SCHEDULE-FORCE-SEND=REQUEST"},
    ),
    (
        "remove every attendee",
        vevent(*BASE),
        vevent(),
        [("CANCEL", B, 0, (), True), ("CANCEL", C, 0, (), True)],
        {},
    ),
    (
        "no attendees at all: not a scheduling object",
        None,
        vevent(organizer=None),
        [],
        {},
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected", "why"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_organizer_table(old, new, expected, why):
    result = plan(cal(old) if old else None, cal(new) if new else None)
    assert outline(result) == expected
    got = reasons(result)
    for key, fragment in why.items():
        assert fragment in got[key]


def test_create_stores_rsvp_and_pending_status():
    result = plan(None, cal(vevent(att(A, "NEEDS-ACTION"), att(B), att(C, None))))
    assert partstats(result.stored) == {A: "ACCEPTED", B: "NEEDS-ACTION", C: "NEEDS-ACTION"}
    assert line_params(result.stored, B)["RSVP"] == "TRUE"
    assert line_params(result.stored, B)["SCHEDULE-STATUS"] == "1.0"
    assert "SCHEDULE-STATUS" not in line_params(result.stored, A)
    assert "RSVP" not in line_params(result.stored, A)


def test_significant_change_resets_partstat_and_raises_sequence():
    old = plan(None, cal(vevent(*BASE))).stored
    result = plan(old, cal(vevent(*BASE, start="DTSTART:20250611T090000Z", end="DTEND:20250611T100000Z")))
    assert result.significant and result.sequence == 1
    assert partstats(result.stored) == {A: "ACCEPTED", B: "NEEDS-ACTION", C: "NEEDS-ACTION"}
    assert line_params(result.stored, B)["RSVP"] == "TRUE"


def test_cosmetic_change_keeps_partstat_and_sequence():
    old = plan(None, cal(vevent(*BASE))).stored
    result = plan(old, cal(vevent(*BASE, "DESCRIPTION:bring slides")))
    assert not result.significant and result.sequence == 0
    assert partstats(result.stored) == {A: "ACCEPTED", B: "ACCEPTED", C: "TENTATIVE"}


@pytest.mark.parametrize(
    ("stored_seq", "client_seq", "change", "expected"),
    [
        (3, 3, True, 4),  # client did not count the change: the server does
        (3, 4, True, 4),  # client counted it: keep
        (3, 7, True, 7),  # client jumped: keep its value
        (3, 1, False, 3),  # never lower
        (3, 1, True, 4),
        (3, 3, False, 3),
    ],
)
def test_sequence_rules(stored_seq, client_seq, change, expected):
    start = "DTSTART:20250611T090000Z" if change else "DTSTART:20250610T090000Z"
    result = plan(cal(vevent(*BASE, seq=stored_seq)), cal(vevent(*BASE, seq=client_seq, start=start)))
    assert result.sequence == expected
    assert all(m.sequence == expected for m in result.messages)


def test_recreated_event_outranks_everything_sent():
    result = plan(None, cal(vevent(*BASE)), sequence_floor=5)
    assert result.sequence == 6
    assert {m.sequence for m in result.messages} == {6}


def test_delete_sequence_respects_floor():
    result = plan(cal(vevent(*BASE, seq=1)), None, sequence_floor=4)
    assert {m.sequence for m in result.messages} == {5}


def test_status_cancelled_message_and_stored_copy():
    result = plan(cal(vevent(*BASE)), cal(vevent(*BASE, "STATUS:CANCELLED")))
    message = result.messages[0]
    event = message.calendar.walk("VEVENT")[0]
    assert str(event["STATUS"]) == "CANCELLED"
    assert [str(a) for a in [event["ATTENDEE"]]] == [B]
    # a cancelled event keeps its answers; nobody is asked to answer again
    assert partstats(result.stored) == {A: "ACCEPTED", B: "ACCEPTED", C: "TENTATIVE"}


def test_removed_attendee_cancel_has_only_that_attendee_and_no_status():
    result = plan(cal(vevent(*BASE)), cal(vevent(att(A, "ACCEPTED"), att(B, "ACCEPTED"))))
    event = result.messages[0].calendar.walk("VEVENT")[0]
    assert str(event["ATTENDEE"]) == C
    assert "STATUS" not in event
    assert str(result.messages[0].calendar["METHOD"]) == "CANCEL"


def test_schedule_agent_skips_are_reported():
    result = plan(None, cal(vevent(att(A, "ACCEPTED"), att(B, schedule_agent="CLIENT"))))
    assert result.messages == ()
    assert [s.recipient for s in result.skipped] == [B]
    assert "SCHEDULE-AGENT=CLIENT" in result.skipped[0].reason
    assert "SCHEDULE-STATUS" not in line_params(result.stored, B)


def test_force_send_is_stripped_from_stored_copy():
    old = plan(None, cal(vevent(*BASE))).stored
    new = cal(vevent(att(A, "ACCEPTED"), att(B, "ACCEPTED", schedule_force_send="REQUEST"),
                     att(C, "TENTATIVE")))
    result = plan(old, new)
    assert "SCHEDULE-FORCE-SEND" not in line_params(result.stored, B)
    assert b"SCHEDULE-FORCE-SEND" not in result.messages[0].to_ical()


def test_invalid_address_gets_3_7_and_no_message():
    result = plan(None, cal(vevent(att(A, "ACCEPTED"), att("mailto:not-an-address"), att(B))))
    assert outline(result) == [("REQUEST", B, 0, (), True)]
    assert line_params(result.stored, "mailto:not-an-address")["SCHEDULE-STATUS"] == "3.7"
    assert result.skipped[0].recipient == "mailto:not-an-address"


def test_missing_organizer_is_the_storing_user():
    new = cal(vevent(att(A, "ATTENDING", cn="A.user"), att(B), organizer=None))
    result = plan(None, new)
    organizer = prop(result.stored, "ORGANIZER")
    assert str(organizer) == A and organizer.params["CN"] == "A.user"
    assert all(str(m.calendar.walk("VEVENT")[0]["ORGANIZER"]) == A for m in result.messages)


def test_another_organizer_is_refused():
    with pytest.raises(NotOrganizer):
        plan(None, cal(vevent(att(B), organizer=C)))


def test_duplicate_attendee_lines_collapse():
    result = plan(None, cal(vevent(att(A, "ACCEPTED"), att(B), att("MAILTO:B@EXAMPLE.COM"))))
    assert len(outline(result)) == 1
    assert len(partstats(result.stored)) == 2


def test_bookkeeping_is_carried_over_and_never_sent():
    stamp = "X-CALDAV-SCHED-REPLY-STAMP=20250601T110000Z"
    old = cal(vevent(att(A, "ACCEPTED"), att(B, "ACCEPTED", x_caldav_sched_reply_seq="0",
                                              x_caldav_sched_reply_stamp="20250601T110000Z",
                                              schedule_status="1.2")))
    # the organizer's client dropped our parameters and moved the event
    new = cal(vevent(att(A, "ACCEPTED"), att(B, "ACCEPTED"), start="DTSTART:20250611T090000Z",
                     end="DTEND:20250611T100000Z"))
    result = plan(old, new)
    params = line_params(result.stored, B)
    assert params["X-CALDAV-SCHED-REPLY-STAMP"] == "20250601T110000Z"
    assert params["X-CALDAV-SCHED-REPLY-SEQ"] == "0"
    assert params["SCHEDULE-STATUS"] == "1.0"  # a new message is planned
    wire = result.messages[0].to_ical()
    assert stamp.encode() not in wire
    for private in (b"X-CALDAV-SCHED", b"SCHEDULE-STATUS", b"SCHEDULE-AGENT"):
        assert private not in wire


def test_previous_schedule_status_survives_a_client_that_drops_it():
    old = cal(vevent(att(A, "ACCEPTED"), att(B, "ACCEPTED", schedule_status="1.2")))
    result = plan(old, cal(vevent(att(A, "ACCEPTED"), att(B, "ACCEPTED"))))
    assert line_params(result.stored, B)["SCHEDULE-STATUS"] == "1.2"


def test_merge_partstats_keeps_answers_from_the_stored_copy():
    """RFC 6638 3.2.10: If-Schedule-Tag-Match PUT with a stale PARTSTAT."""
    old = cal(vevent(att(A, "ACCEPTED"), att(B, "ACCEPTED", x_caldav_sched_reply_seq="0")))
    new = cal(vevent(att(A, "ACCEPTED"), att(B, "NEEDS-ACTION", rsvp="TRUE"), "DESCRIPTION:x"))
    result = plan(old, new, merge_partstats=True)
    params = line_params(result.stored, B)
    assert params["PARTSTAT"] == "ACCEPTED" and "RSVP" not in params


def test_outbound_message_shape():
    new = cal(vevent(att(A, "ACCEPTED"), att(B, "NEEDS-ACTION"), "BEGIN:VALARM", "ACTION:DISPLAY",
                     "DESCRIPTION:r", "TRIGGER:-PT5M", "END:VALARM"))
    message = plan(None, new).messages[0]
    assert str(message.calendar["METHOD"]) == "REQUEST"
    event = message.calendar.walk("VEVENT")[0]
    assert event["DTSTAMP"].dt == NOW
    assert event.walk("VALARM") == []
    assert message.uid == "evt-1" and message.sender == A
    assert b"PRODID:-//caldav_sched//iTIP engine//EN" in message.to_ical()


def test_walkthrough_partstat_spellings_are_read_and_written_in_rfc_form(data_file):
    new = cal_text = data_file("walkthrough_step1.ics")
    from caldav_sched.domain.scheduling import parse_calendar

    result = plan(None, parse_calendar(cal_text))
    assert partstats(result.stored) == {A: "ACCEPTED", B: "NEEDS-ACTION", C: "NEEDS-ACTION"}
    assert new  # the raw text stays untouched
    for message in result.messages:
        assert b"NEED-ACTION" not in message.to_ical()
        assert b"ATTENDING" not in message.to_ical()


def test_unknown_partstat_is_kept_but_sent_as_needs_action():
    result = plan(None, cal(vevent(att(A, "ACCEPTED"), att(B, "X-MAYBE"))))
    assert partstats(result.stored)[B] == "X-MAYBE"
    assert b"PARTSTAT=NEEDS-ACTION" in result.messages[0].to_ical()
    assert b"X-MAYBE" not in result.messages[0].to_ical()

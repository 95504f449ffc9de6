"""seed/scenario.md, the engine's part of every step (1-11 and "beyond the walkthrough")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from caldav_sched.domain.scheduling import (
    ReplyApplied,
    ReplyRefused,
    apply_reply,
    parse_calendar,
    plan_attendee_change,
    plan_organizer_change,
)
from caldav_sched.domain.scheduling.components import attendee_lines, find_attendee

from .helpers import A, B, C, line_params, outline, partstats, prop

T0 = datetime(2018, 7, 10, 13, 0, tzinfo=UTC)


def external_reply(who: str, partstat: str, seq: int, stamp: str) -> str:
    """What a mail client sends back: no ORGANIZER (Exchange style), METHOD in mixed case."""
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Mail client//EN\nMETHOD:Reply\n"
        f"BEGIN:VEVENT\nUID:identifier\nDTSTAMP:{stamp}\nSEQUENCE:{seq}\n"
        "DTSTART:20180710T180000Z\n"
        f"ATTENDEE;PARTSTAT={partstat}:{who.upper()}\nEND:VEVENT\nEND:VCALENDAR\n"
    )


@pytest.fixture
def step1(data_file):
    """1-3. A creates the event (walkthrough body, no ORGANIZER); B and C are invited."""
    return plan_organizer_change(None, parse_calendar(data_file("walkthrough_step1.ics")),
                                 organizer=A, now=T0)


def test_steps_1_to_3_create_and_invite(step1):
    stored = step1.stored
    assert str(prop(stored, "ORGANIZER")) == A
    assert partstats(stored) == {A: "ACCEPTED", B: "NEEDS-ACTION", C: "NEEDS-ACTION"}
    assert line_params(stored, B)["RSVP"] == "TRUE" and line_params(stored, C)["RSVP"] == "TRUE"
    # 3. B and C each get exactly one REQUEST; A gets nothing
    assert outline(step1) == [("REQUEST", B, 0, (), True), ("REQUEST", C, 0, (), True)]
    for message in step1.messages:
        event = message.calendar.walk("VEVENT")[0]
        assert str(message.calendar["METHOD"]) == "REQUEST"
        assert str(event["ORGANIZER"]) == A
        assert {str(l): l.params["PARTSTAT"] for l in attendee_lines(event)} == {
            A: "ACCEPTED", B: "NEEDS-ACTION", C: "NEEDS-ACTION"}


def test_full_walkthrough_external_attendees(step1, data_file):
    stored = step1.stored
    # 4-8. B accepts from his mail client; the reply token says it is B's
    b_accepts = parse_calendar(external_reply(B, "ACCEPTED", 0, "20180710T140000Z"))
    result = apply_reply(stored, b_accepts, attendee=B, now=T0)
    assert isinstance(result, ReplyApplied) and result.changed  # new ETag "501"
    stored = result.stored
    assert partstats(stored) == {A: "ACCEPTED", B: "ACCEPTED", C: "NEEDS-ACTION"}
    # 9-10. C declines
    c_declines = parse_calendar(external_reply(C, "DECLINED", 0, "20180710T150000Z"))
    result = apply_reply(stored, c_declines, attendee=C, now=T0)
    assert isinstance(result, ReplyApplied) and result.changed  # ETag "502"
    stored = result.stored
    assert partstats(stored) == {A: "ACCEPTED", B: "ACCEPTED", C: "DECLINED"}
    # 11. A moves the event; the client did not raise SEQUENCE
    moved = parse_calendar(data_file("walkthrough_step11_moved.ics"))
    plan = plan_organizer_change(stored, moved, organizer=A, now=T0)
    assert plan.significant and plan.sequence == 1
    assert partstats(plan.stored) == {A: "ACCEPTED", B: "NEEDS-ACTION", C: "NEEDS-ACTION"}
    assert line_params(plan.stored, B)["RSVP"] == "TRUE"
    assert line_params(plan.stored, C)["RSVP"] == "TRUE"
    assert outline(plan) == [("REQUEST", B, 1, (), True), ("REQUEST", C, 1, (), True)]
    assert all(m.reason == "event moved: DTSTART, DTEND changed" for m in plan.messages)
    stored = plan.stored

    # Beyond the walkthrough: B's old reply arrives twice / late -> nothing changes
    late = apply_reply(stored, b_accepts, attendee=B, now=T0)
    assert isinstance(late, ReplyRefused) and late.code == "stale-sequence"
    # B's reply names C -> refused
    forged = parse_calendar(external_reply(C, "ACCEPTED", 1, "20180710T160000Z"))
    result = apply_reply(stored, forged, attendee=B, now=T0)
    assert isinstance(result, ReplyRefused) and result.code == "other-attendee"
    # B answers the new invitation; the same mail processed twice is a no-op
    b_again = parse_calendar(external_reply(B, "ACCEPTED", 1, "20180710T170000Z"))
    first = apply_reply(stored, b_again, attendee=B, now=T0)
    second = apply_reply(first.stored, b_again, attendee=B, now=T0)
    assert first.changed and not second.changed
    stored = first.stored

    # A removes C: C gets a CANCEL
    without_c = parse_calendar(data_file("walkthrough_step11_moved.ics").replace(
        'ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NOT-ATTENDING;CN="C.user":mailto:c@example.com\n', ""))
    plan = plan_organizer_change(stored, without_c, organizer=A, now=T0)
    assert outline(plan) == [("CANCEL", C, 1, (), True)]
    # the organizer's client echoed old PARTSTATs; B's applied answer stays ACCEPTED
    assert partstats(plan.stored)[B] == "ACCEPTED"
    # A deletes the event: everyone left gets a CANCEL
    plan = plan_organizer_change(plan.stored, None, organizer=A, now=T0)
    assert outline(plan) == [("CANCEL", B, 2, (), True)]


def test_step_11_as_literally_written_sends_nothing(step1, data_file):
    """The walkthrough's last PUT keeps the time and only resets PARTSTATs: no mail."""
    stored = apply_reply(step1.stored, parse_calendar(external_reply(B, "ACCEPTED", 0,
                                                                     "20180710T140000Z")),
                         attendee=B, now=T0).stored
    plan = plan_organizer_change(stored, parse_calendar(data_file("walkthrough_step11_literal.ics")),
                                 organizer=A, now=T0)
    assert plan.messages == () and plan.sequence == 0


def test_walkthrough_with_local_attendees(step1):
    """The second form: B and C are users of this server and answer in their own calendars."""
    stored = step1.stored
    for who, answer in ((B, "ATTENDING"), (C, "NOT-ATTENDING")):
        invitation = next(m for m in step1.messages if m.recipient == who).calendar
        edited = parse_calendar(invitation.to_ical())  # B's client stores the invitation...
        edited.pop("METHOD")
        mine = find_attendee(edited.walk("VEVENT")[0], who)
        mine.params["PARTSTAT"] = answer  # ...and its user answers
        mine.params.pop("RSVP")
        reply = plan_attendee_change(invitation, edited, attendee=who, now=T0).messages
        assert [(str(m.method), m.recipient) for m in reply] == [("REPLY", A)]
        result = apply_reply(stored, reply[0].calendar, now=T0)
        assert isinstance(result, ReplyApplied)
        stored = result.stored
    assert partstats(stored) == {A: "ACCEPTED", B: "ACCEPTED", C: "DECLINED"}

"""Attendee side: the REPLY an attendee's own edit means (RFC 6638 3.2.2; anchors #29, #37, #58)."""

from __future__ import annotations

import pytest

from caldav_sched.domain.scheduling import (
    ReplyApplied,
    apply_reply,
    plan_attendee_change,
    plan_organizer_change,
)
from caldav_sched.domain.scheduling.components import attendee_lines

from .helpers import A, B, BERLIN, C, NOW, att, cal, outline, partstats, vevent

START = "DTSTART;TZID=Europe/Berlin:20250612T080000"
END = "DTEND;TZID=Europe/Berlin:20250612T090000"


def copy_of_b(partstat="NEEDS-ACTION", *extra, organizer_params="", seq=0):
    text = vevent(att(A, "ACCEPTED"), att(B, partstat), att(C), *extra, seq=seq, organizer=None)
    return cal(text.replace("END:VEVENT", f"ORGANIZER{organizer_params}:{A}\nEND:VEVENT"))


def plan(old, new):
    return plan_attendee_change(old, new, attendee=B, now=NOW)


TABLE = [
    ("accept", copy_of_b(), copy_of_b("ACCEPTED"), [("REPLY", A, 0, (), True)]),
    ("walkthrough spelling", copy_of_b(), copy_of_b("ATTENDING"), [("REPLY", A, 0, (), True)]),
    ("same answer, new alarm: nothing", copy_of_b("ACCEPTED"),
     copy_of_b("ACCEPTED", "BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:x", "TRIGGER:-PT5M",
               "END:VALARM"), []),
    ("new copy still NEEDS-ACTION: nothing", None, copy_of_b(), []),
    ("new copy already accepted", None, copy_of_b("ACCEPTED"), [("REPLY", A, 0, (), True)]),
    ("delete declines", copy_of_b("ACCEPTED"), None, [("REPLY", A, 0, (), True)]),
    ("delete of a declined copy: nothing", copy_of_b("DECLINED"), None, []),
    ("delete of a cancelled event: nothing", copy_of_b("ACCEPTED", "STATUS:CANCELLED"), None, []),
    ("organizer SCHEDULE-AGENT=CLIENT: nothing", copy_of_b(organizer_params=";SCHEDULE-AGENT=CLIENT"),
     copy_of_b("ACCEPTED", organizer_params=";SCHEDULE-AGENT=CLIENT"), []),
    ("SCHEDULE-FORCE-SEND=REPLY", copy_of_b("ACCEPTED"),
     copy_of_b("ACCEPTED", organizer_params=";SCHEDULE-FORCE-SEND=REPLY"), [("REPLY", A, 0, (), True)]),
    ("keeps the instance SEQUENCE", copy_of_b(seq=3), copy_of_b("TENTATIVE", seq=3),
     [("REPLY", A, 3, (), True)]),
]


@pytest.mark.parametrize(("old", "new", "expected"), [r[1:] for r in TABLE], ids=[r[0] for r in TABLE])
def test_attendee_table(old, new, expected):
    assert outline(plan(old, new)) == expected


def test_reply_shape():
    result = plan(copy_of_b(), copy_of_b("ATTENDING"))
    message = result.messages[0]
    assert str(message.calendar["METHOD"]) == "REPLY"
    event = message.calendar.walk("VEVENT")[0]
    lines = attendee_lines(event)
    assert [str(l) for l in lines] == [B]
    assert lines[0].params["PARTSTAT"] == "ACCEPTED" and "RSVP" not in lines[0].params
    assert event["DTSTAMP"].dt == NOW  # always fresh (anchors #37)
    assert str(event["ORGANIZER"]) == A
    assert message.reason == "PARTSTAT NEEDS-ACTION -> ACCEPTED"


def test_delete_reply_is_declined():
    message = plan(copy_of_b("ACCEPTED"), None).messages[0]
    event = message.calendar.walk("VEVENT")[0]
    assert attendee_lines(event)[0].params["PARTSTAT"] == "DECLINED"
    assert message.reason == "copy deleted: declined"


def test_force_send_is_stripped_from_the_attendee_copy():
    result = plan(copy_of_b("ACCEPTED"), copy_of_b("ACCEPTED", organizer_params=";SCHEDULE-FORCE-SEND=REPLY"))
    assert b"SCHEDULE-FORCE-SEND" not in result.stored.to_ical()


def _series_copy(*extra_master, overrides=()):
    master = vevent(att(A, "ACCEPTED"), att(B, "ACCEPTED"), "RRULE:FREQ=WEEKLY;COUNT=4",
                    *extra_master, start=START, end=END)
    return cal(master, *overrides, tz=BERLIN)


def test_instance_answer_changed():
    override = vevent(att(A, "ACCEPTED"), att(B, "DECLINED"),
                      "RECURRENCE-ID;TZID=Europe/Berlin:20250619T080000",
                      start="DTSTART;TZID=Europe/Berlin:20250619T080000",
                      end="DTEND;TZID=Europe/Berlin:20250619T090000")
    result = plan(_series_copy(), _series_copy(overrides=(override,)))
    assert outline(result) == [("REPLY", A, 0, ("20250619T060000Z",), False)]


def test_exdate_in_the_attendee_copy_declines_that_instance():
    """anchors #29."""
    result = plan(_series_copy(), _series_copy("EXDATE;TZID=Europe/Berlin:20250619T080000"))
    assert outline(result) == [("REPLY", A, 0, ("20250619T060000Z",), False)]
    event = result.messages[0].calendar.walk("VEVENT")[0]
    assert attendee_lines(event)[0].params["PARTSTAT"] == "DECLINED"
    assert "RRULE" not in event and "EXDATE" not in event


def test_round_trip_reply_updates_the_organizer_copy():
    organizer_copy = plan_organizer_change(
        None, cal(vevent(att(A, "ACCEPTED"), att(B), att(C))), organizer=A, now=NOW
    ).stored
    invitation = plan_organizer_change(
        None, cal(vevent(att(A, "ACCEPTED"), att(B), att(C))), organizer=A, now=NOW
    ).messages[0].calendar
    answered = cal(vevent(att(A, "ACCEPTED"), att(B, "TENTATIVE"), att(C)))
    reply = plan_attendee_change(invitation, answered, attendee=B, now=NOW).messages[0]
    result = apply_reply(organizer_copy, reply.calendar, now=NOW)
    assert isinstance(result, ReplyApplied)
    assert partstats(result.stored)[B] == "TENTATIVE"


def test_reply_goes_to_the_token_organizer():
    token = "mailto:calendar+t0k@cal.example.com"
    old = cal(vevent(att(A, "ACCEPTED"), att(B), organizer=token))
    new = cal(vevent(att(A, "ACCEPTED"), att(B, "ACCEPTED"), organizer=token))
    assert outline(plan(old, new)) == [("REPLY", token, 0, (), True)]


def test_organizer_editing_their_own_copy_is_not_an_attendee_reply():
    old = cal(vevent(att(A, "ACCEPTED"), att(B)))
    assert plan_attendee_change(old, old, attendee=A, now=NOW).messages == ()

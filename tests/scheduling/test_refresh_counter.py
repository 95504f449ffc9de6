"""REFRESH (RFC 5546 3.2.6) and COUNTER (3.2.7)."""

from __future__ import annotations

from caldav_sched.domain.scheduling import (
    CounterProposal,
    ItipMessage,
    ReplyRefused,
    answer_refresh,
    decline_counter,
    plan_organizer_change,
    record_counter,
)

from .helpers import A, B, C, D, NOW, att, cal, vevent

EVENT = vevent(att(A, "ACCEPTED"), att(B, "ACCEPTED"), att(C), "LOCATION:Room 1", seq=2)


def stored():
    return plan_organizer_change(None, cal(EVENT), organizer=A, now=NOW).stored


def refresh(who: str = B, uid: str = "evt-1"):
    return cal(vevent(att(who, None), uid=uid, summary=None, organizer=A), method="REFRESH")


def test_refresh_answers_with_the_current_request():
    message = answer_refresh(stored(), refresh(), now=NOW)
    assert isinstance(message, ItipMessage)
    assert (str(message.method), message.recipient, message.sequence) == ("REQUEST", B, 2)
    assert message.reason == f"REFRESH requested by {B}"
    event = message.calendar.walk("VEVENT")[0]
    assert str(event["LOCATION"]) == "Room 1" and event["DTSTAMP"].dt == NOW
    assert b"SCHEDULE-STATUS" not in message.to_ical()


def test_refresh_from_a_stranger_or_for_another_uid_is_refused():
    assert answer_refresh(stored(), refresh(D), now=NOW).code == "not-an-attendee"
    assert answer_refresh(stored(), refresh(uid="nope"), now=NOW).code == "unknown-uid"
    other = answer_refresh(stored(), refresh(C), attendee=B, now=NOW)
    assert isinstance(other, ReplyRefused) and other.code == "other-attendee"


def counter(seq: int = 2, start: str = "DTSTART:20250610T140000Z", end: str = "DTEND:20250610T150000Z"):
    return cal(vevent(att(B, "ACCEPTED"), "LOCATION:Room 1", "COMMENT:Afternoon?", seq=seq,
                      start=start, end=end), method="COUNTER")


def test_counter_is_recorded_not_applied():
    before = stored()
    proposal = record_counter(before, counter(), attendee=B, now=NOW)
    assert isinstance(proposal, CounterProposal)
    assert proposal.changes == ("DTSTART", "DTEND")
    assert proposal.comment == "Afternoon?"
    assert proposal.attendee == B
    assert "proposes a change: DTSTART, DTEND" in proposal.reason
    assert before.to_ical() == stored().to_ical()


def test_stale_counter_is_refused():
    result = record_counter(stored(), counter(seq=1), attendee=B, now=NOW)
    assert isinstance(result, ReplyRefused) and result.code == "stale-sequence"


def test_decline_counter():
    proposal = record_counter(stored(), counter(), attendee=B, now=NOW)
    message = decline_counter(stored(), proposal, now=NOW)
    assert (str(message.method), message.recipient) == ("DECLINECOUNTER", B)
    event = message.calendar.walk("VEVENT")[0]
    assert [str(event["ATTENDEE"])] == [B]

"""REQUEST and CANCEL into an attendee's own copy (anchors 6.9 #56-#58, 6.3 #19)."""

from __future__ import annotations

from caldav_sched.domain.scheduling import (
    CopyUpdated,
    ReplyRefused,
    apply_organizer_message,
    plan_organizer_change,
)

from .helpers import A, B, C, NOW, att, cal, line_params, partstats, prop, vevent

ALARM = ("BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:mine", "TRIGGER:-PT30M", "END:VALARM")


def invitation(*extra, **kw):
    plan = plan_organizer_change(None, cal(vevent(att(A, "ACCEPTED"), att(B), att(C), *extra, **kw)),
                                 organizer=A, now=NOW)
    return plan


def update(old_plan, *extra, **kw):
    return plan_organizer_change(old_plan.stored,
                                 cal(vevent(att(A, "ACCEPTED"), att(B), att(C), *extra, **kw)),
                                 organizer=A, now=NOW)


def request_for_b(plan):
    return next(m for m in plan.messages if m.recipient == B).calendar


def b_accepted_copy(plan):
    first = apply_organizer_message(None, request_for_b(plan), attendee=B, now=NOW)
    copy_ = first.stored
    event = copy_.walk("VEVENT")[0]
    line = next(l for l in event["ATTENDEE"] if str(l) == B)
    line.params["PARTSTAT"] = "ACCEPTED"
    line.params.pop("RSVP")
    event.add("TRANSP", "TRANSPARENT")
    event.add_component(cal(vevent(*ALARM)).walk("VALARM")[0])
    return copy_


def test_first_request_creates_the_copy():
    result = apply_organizer_message(None, request_for_b(invitation()), attendee=B, now=NOW)
    assert isinstance(result, CopyUpdated) and result.changed
    assert "METHOD" not in result.stored
    assert partstats(result.stored)[B] == "NEEDS-ACTION"


def test_cosmetic_update_keeps_answer_alarm_and_transp():
    first = invitation()
    copy_ = b_accepted_copy(first)
    result = apply_organizer_message(copy_, request_for_b(update(first, "DESCRIPTION:agenda")),
                                     attendee=B, now=NOW)
    assert isinstance(result, CopyUpdated)
    assert partstats(result.stored)[B] == "ACCEPTED"  # anchors #57
    assert "RSVP" not in line_params(result.stored, B)
    assert str(prop(result.stored, "TRANSP")) == "TRANSPARENT"
    assert str(prop(result.stored, "DESCRIPTION")) == "agenda"
    assert len(result.stored.walk("VALARM")) == 1  # anchors #56


def test_reschedule_takes_the_organizers_reset():
    first = invitation()
    copy_ = b_accepted_copy(first)
    moved = update(first, start="DTSTART:20250611T090000Z", end="DTEND:20250611T100000Z")
    result = apply_organizer_message(copy_, request_for_b(moved), attendee=B, now=NOW)
    assert partstats(result.stored)[B] == "NEEDS-ACTION"
    assert len(result.stored.walk("VALARM")) == 1


def test_older_request_is_refused():
    first = invitation(seq=3)
    copy_ = b_accepted_copy(first)
    old = plan_organizer_change(None, cal(vevent(att(A, "ACCEPTED"), att(B), seq=1)), organizer=A,
                                now=NOW)
    result = apply_organizer_message(copy_, request_for_b(old), attendee=B, now=NOW)
    assert isinstance(result, ReplyRefused) and result.code == "stale-sequence"


def test_cancel_marks_the_copy_cancelled():
    first = invitation()
    copy_ = b_accepted_copy(first)
    deleted = plan_organizer_change(first.stored, None, organizer=A, now=NOW)
    cancel = next(m for m in deleted.messages if m.recipient == B).calendar
    result = apply_organizer_message(copy_, cancel, attendee=B, now=NOW)
    assert str(prop(result.stored, "STATUS")) == "CANCELLED"  # kept, not deleted (#58)
    assert prop(result.stored, "SEQUENCE") == 1


def test_cancel_from_someone_else_is_ignored():
    """anchors #19."""
    copy_ = b_accepted_copy(invitation())
    forged = cal(vevent(att(B), organizer=C, seq=5), method="CANCEL")
    result = apply_organizer_message(copy_, forged, attendee=B, now=NOW)
    assert isinstance(result, ReplyRefused) and result.code == "organizer-mismatch"

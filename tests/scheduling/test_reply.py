"""Applying REPLYs to the organizer copy (RFC 5546 3.2.3; anchors 1.4, 6.2, 6.4, 6.6)."""

from __future__ import annotations

import pytest

from caldav_sched.domain.scheduling import (
    RefusalCode,
    ReplyApplied,
    ReplyRefused,
    apply_reply,
    parse_calendar,
    plan_organizer_change,
)

from .helpers import A, B, C, D, NOW, att, cal, line_params, partstats, prop, vevent

STORED = vevent(att(A, "ACCEPTED"), att(B), att(C))


def stored(text: str = STORED, **kw):
    return plan_organizer_change(None, cal(text), organizer=A, now=NOW, **kw).stored


def reply(*lines: str, uid: str = "evt-1", seq: int = 0, stamp: str = "20250601T110000Z",
          organizer: str | None = A, method: str = "REPLY", extra: tuple[str, ...] = ()):
    return cal(vevent(*lines, *extra, uid=uid, seq=seq, stamp=stamp, organizer=organizer),
               method=method)


# (id, reply, token attendee, expected: ("applied", {addr: PARTSTAT}) or ("refused", code))
TABLE = [
    ("accept", reply(att(B, "ACCEPTED")), None, ("applied", {B: "ACCEPTED", C: "NEEDS-ACTION"})),
    ("decline with token", reply(att(B, "DECLINED")), B, ("applied", {B: "DECLINED"})),
    ("walkthrough spelling NOT-ATTENDING", reply(att(C, "NOT-ATTENDING")), C,
     ("applied", {C: "DECLINED"})),
    ("unknown PARTSTAT kept verbatim", reply(att(B, "X-MAYBE")), B, ("applied", {B: "X-MAYBE"})),
    ("MAILTO and case (anchors #11)", reply(att("MAILTO:B@Example.COM", "ACCEPTED")), None,
     ("applied", {B: "ACCEPTED"})),
    ("Exchange: no ORGANIZER (anchors #9)", reply(att(B, "ACCEPTED"), organizer=None), B,
     ("applied", {B: "ACCEPTED"})),
    ("ORGANIZER is our token address", reply(att(B, "ACCEPTED"),
                                             organizer="mailto:calendar+tok1@cal.example.com"),
     B, ("applied", {B: "ACCEPTED"})),
    ("METHOD in mixed case", reply(att(B, "ACCEPTED"), method="Reply"), None,
     ("applied", {B: "ACCEPTED"})),
    ("not a REPLY", reply(att(B, "ACCEPTED"), method="REQUEST"), B, ("refused", "wrong-method")),
    ("token bound to another UID (anchors #13)", reply(att(B, "ACCEPTED"), uid="other"), B,
     ("refused", "unknown-uid")),
    ("party crasher without token", reply(att(D, "ACCEPTED")), None,
     ("refused", "not-an-attendee")),
    ("names another attendee (token for B, reply says C)", reply(att(C, "ACCEPTED")), B,
     ("refused", "other-attendee")),
    ("alias of the token's attendee (anchors #10)", reply(att("mailto:bob@home.example", "ACCEPTED")),
     B, ("applied", {B: "ACCEPTED"})),
    ("two attendees without token", reply(att(B, "ACCEPTED"), att(C, "ACCEPTED")), None,
     ("refused", "multiple-attendees")),
    ("two attendees, token's one among them (anchors #14)",
     reply(att(B, "ACCEPTED"), att(C, "DECLINED")), B,
     ("applied", {B: "ACCEPTED", C: "NEEDS-ACTION"})),
    ("two attendees, neither the token's", reply(att(C, "ACCEPTED"), att(D, "ACCEPTED")), B,
     ("refused", "multiple-attendees")),
    ("no attendee", reply(), B, ("refused", "no-attendee")),
    ("another ORGANIZER without token", reply(att(B, "ACCEPTED"), organizer=D), None,
     ("refused", "organizer-mismatch")),
    ("older SEQUENCE", reply(att(B, "ACCEPTED"), seq=0), B, ("refused", "stale-sequence")),
]
# the stale row needs a stored copy at SEQUENCE 2
STALE = {"older SEQUENCE"}


@pytest.mark.parametrize(("message", "token", "expected"), [r[1:] for r in TABLE],
                         ids=[r[0] for r in TABLE])
def test_reply_table(request, message, token, expected):
    name = request.node.callspec.id
    base = stored(vevent(att(A, "ACCEPTED"), att(B), att(C), seq=2)) if name in STALE else stored()
    result = apply_reply(base, message, attendee=token, now=NOW)
    kind, detail = expected
    if kind == "refused":
        assert isinstance(result, ReplyRefused), result
        assert result.code == detail
        return
    assert isinstance(result, ReplyApplied), result
    assert result.changed
    got = partstats(result.stored)
    for address, partstat in detail.items():
        assert got[address] == partstat
    assert len(got) == 3  # never a duplicate or a crasher line


def test_unknown_event():
    result = apply_reply(None, reply(att(B, "ACCEPTED")), attendee=B, now=NOW)
    assert isinstance(result, ReplyRefused) and result.code == "unknown-uid"


def test_reply_changes_only_what_a_reply_may_change(data_file):
    base = stored()
    result = apply_reply(base, parse_calendar(data_file("exchange_reply.ics")), attendee=B, now=NOW)
    assert isinstance(result, ReplyApplied)
    # DTSTART, SUMMARY, STATUS, LOCATION of the reply are ignored (anchors #18c, #33)
    for name in ("DTSTART", "SUMMARY", "LOCATION", "STATUS", "SEQUENCE"):
        assert prop(result.stored, name) == prop(base, name)
    params = line_params(result.stored, B)
    assert params["PARTSTAT"] == "ACCEPTED"
    assert "RSVP" not in params
    assert params["SCHEDULE-STATUS"] == "1.2"  # an answer proves delivery
    assert params["X-CALDAV-SCHED-REPLY-SEQ"] == "0"
    assert params["X-CALDAV-SCHED-REPLY-STAMP"] == "20250601T110000Z"
    assert line_params(result.stored, C) == line_params(base, C)
    assert str(prop(result.stored, "X-CALDAV-SCHED-ATTENDEE-COMMENT")) == "Works for me."


def test_alias_is_recorded():
    result = apply_reply(stored(), reply(att("mailto:Bob@Home.example", "ACCEPTED")), attendee=B,
                         now=NOW)
    assert isinstance(result, ReplyApplied)
    assert line_params(result.stored, B)["X-CALDAV-SCHED-REPLY-FROM"] == "mailto:bob@home.example"
    assert "mailto:bob@home.example" not in partstats(result.stored)
    assert any("taken as" in n for n in result.notes)


def test_strict_policy_refuses_an_alias():
    """The mail path: a REPLY must name the attendee its token was issued to."""
    result = apply_reply(stored(), reply(att("mailto:Bob@Home.example", "ACCEPTED")), attendee=B,
                         now=NOW, accept_alias=False)
    assert isinstance(result, ReplyRefused)
    assert result.code == RefusalCode.NOT_TOKEN_ATTENDEE
    assert "mailto:bob@home.example" in result.reason and B in result.reason


def test_extra_attendees_are_ignored_and_noted():
    result = apply_reply(stored(), reply(att(B, "ACCEPTED"), att(C, "DECLINED")), attendee=B,
                         now=NOW)
    assert isinstance(result, ReplyApplied)
    assert partstats(result.stored)[C] == "NEEDS-ACTION"
    assert any(C in n for n in result.notes)


def test_sent_by_is_recorded():
    """anchors #17: an assistant answers for the attendee."""
    line = 'ATTENDEE;PARTSTAT=ACCEPTED;SENT-BY="mailto:assistant@example.com":' + B
    result = apply_reply(stored(), reply(line), attendee=B, now=NOW)
    assert isinstance(result, ReplyApplied)
    params = line_params(result.stored, B)
    assert params["X-CALDAV-SCHED-REPLY-SENT-BY"] == "mailto:assistant@example.com"
    assert "SENT-BY" not in params


def test_delegation_adds_the_delegate():
    """anchors #16, RFC 5546 4.2.5."""
    message = reply(
        f'ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO="{D}":{B}',
        f'ATTENDEE;PARTSTAT=NEEDS-ACTION;DELEGATED-FROM="{B}";CN=Dee:{D}',
    )
    result = apply_reply(stored(), message, attendee=B, now=NOW)
    assert isinstance(result, ReplyApplied)
    assert result.added == (D,)
    assert partstats(result.stored)[B] == "DELEGATED"
    delegate = line_params(result.stored, D)
    assert delegate["DELEGATED-FROM"] == B and delegate["PARTSTAT"] == "NEEDS-ACTION"
    assert delegate["CN"] == "Dee"
    # the organizer side then invites the delegate
    follow = plan_organizer_change(stored(), result.stored, organizer=A, now=NOW)
    assert [(str(m.method), m.recipient) for m in follow.messages] == [("REQUEST", D)]


def test_delegate_replying_before_the_delegation_is_refused():
    message = reply(f'ATTENDEE;PARTSTAT=ACCEPTED;DELEGATED-FROM="{B}":{D}')
    result = apply_reply(stored(), message, now=NOW)
    assert isinstance(result, ReplyRefused) and result.code == "not-an-attendee"


def test_request_status_becomes_schedule_status():
    result = apply_reply(stored(), reply(att(B, "ACCEPTED"), extra=("REQUEST-STATUS:2.0;Success",)),
                         attendee=B, now=NOW)
    assert line_params(result.stored, B)["SCHEDULE-STATUS"] == "2.0"


# -- ordering: duplicates, stale and out-of-order replies (anchors 6.6) -------


def test_duplicate_reply_is_a_no_op():
    first = apply_reply(stored(), reply(att(B, "ACCEPTED")), attendee=B, now=NOW)
    again = apply_reply(first.stored, reply(att(B, "ACCEPTED")), attendee=B, now=NOW)
    assert isinstance(again, ReplyApplied)
    assert again.changed is False
    assert again.stored is first.stored
    assert "replay" in again.reason


def test_out_of_order_replies_keep_the_newest_answer():
    later = reply(att(B, "DECLINED"), stamp="20250601T113000Z")
    earlier = reply(att(B, "ACCEPTED"), stamp="20250601T110000Z")
    first = apply_reply(stored(), later, attendee=B, now=NOW)
    second = apply_reply(first.stored, earlier, attendee=B, now=NOW)
    assert isinstance(second, ReplyRefused) and second.code == "stale-dtstamp"
    assert partstats(first.stored)[B] == "DECLINED"


def test_same_dtstamp_different_answer_is_refused():
    first = apply_reply(stored(), reply(att(B, "ACCEPTED")), attendee=B, now=NOW)
    other = apply_reply(first.stored, reply(att(B, "DECLINED")), attendee=B, now=NOW)
    assert isinstance(other, ReplyRefused) and other.code == "stale-dtstamp"


def test_newer_reply_with_same_answer_moves_the_bookkeeping():
    first = apply_reply(stored(), reply(att(B, "ACCEPTED")), attendee=B, now=NOW)
    newer = apply_reply(first.stored, reply(att(B, "ACCEPTED"), stamp="20250601T120000Z"),
                        attendee=B, now=NOW)
    assert newer.changed
    assert line_params(newer.stored, B)["X-CALDAV-SCHED-REPLY-STAMP"] == "20250601T120000Z"


def test_stale_reply_after_reschedule_is_refused():
    """anchors #36, the CCS rule: an answer to SEQUENCE 0 does not answer SEQUENCE 1."""
    accepted = apply_reply(stored(), reply(att(B, "ACCEPTED")), attendee=B, now=NOW).stored
    moved = plan_organizer_change(
        accepted,
        cal(vevent(att(A, "ACCEPTED"), att(B, "ACCEPTED"), att(C), start="DTSTART:20250611T090000Z",
                   end="DTEND:20250611T100000Z")),
        organizer=A, now=NOW,
    ).stored
    assert partstats(moved)[B] == "NEEDS-ACTION"
    late = apply_reply(moved, reply(att(B, "ACCEPTED"), stamp="20250601T115000Z"), attendee=B,
                       now=NOW)
    assert isinstance(late, ReplyRefused) and late.code == "stale-sequence"
    fresh = apply_reply(moved, reply(att(B, "ACCEPTED"), seq=1, stamp="20250601T100500Z"),
                        attendee=B, now=NOW)
    # a higher SEQUENCE wins even with an older DTSTAMP (clock skew)
    assert isinstance(fresh, ReplyApplied) and partstats(fresh.stored)[B] == "ACCEPTED"


def test_reply_without_dtstamp_counts_as_now_and_replays_are_no_ops():
    """anchors #37."""
    text = "\n".join(l for l in reply(att(B, "TENTATIVE")).to_ical().decode().splitlines()
                     if not l.startswith("DTSTAMP"))
    first = apply_reply(stored(), parse_calendar(text), attendee=B, now=NOW)
    assert line_params(first.stored, B)["X-CALDAV-SCHED-REPLY-STAMP"] == "20250601T120000Z"
    later = NOW.replace(hour=13)
    again = apply_reply(first.stored, parse_calendar(text), attendee=B, now=later)
    assert isinstance(again, ReplyApplied) and again.changed is False

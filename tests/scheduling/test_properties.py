"""Property tests: a REPLY touches one attendee's answer only, and replaying it is a no-op."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from caldav_sched.domain.scheduling import (
    ReplyApplied,
    apply_reply,
    canonical_partstat,
    normalize_address,
    plan_organizer_change,
)
from caldav_sched.domain.scheduling.components import attendee_lines
from caldav_sched.domain.scheduling.instances import by_key, label

from .helpers import A, BERLIN, NOW, att, cal, vevent

PARTSTATS = ["NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE", "ATTENDING", "NOT-ATTENDING",
             "X-MAYBE"]
PEOPLE = [f"mailto:p{i}@example.com" for i in range(4)]
INSTANCES = [None, "20250619T080000", "20250626T080000"]
# What a reply may change on the replying attendee's line (anchors #18c).
MAY_CHANGE = {"PARTSTAT", "RSVP", "SCHEDULE-STATUS"}
BOOKKEEPING = "X-CALDAV-SCHED-"
START = "DTSTART;TZID=Europe/Berlin:20250612T080000"
END = "DTEND;TZID=Europe/Berlin:20250612T090000"
RULE = "RRULE:FREQ=WEEKLY;COUNT=4"


@st.composite
def situations(draw):
    count = draw(st.integers(1, 4))
    people = PEOPLE[:count]
    answers = [draw(st.sampled_from(PARTSTATS)) for _ in people]
    seq = draw(st.integers(0, 3))
    lines = [att(A, "ACCEPTED")] + [att(p, s) for p, s in zip(people, answers)]
    comps = [vevent(*lines, RULE, "LOCATION:Room 4", seq=seq, start=START, end=END)]
    if draw(st.booleans()):  # an override where the last person is absent
        comps.append(vevent(*lines[:-1] if count > 1 else lines,
                            "RECURRENCE-ID;TZID=Europe/Berlin:20250619T080000", seq=seq,
                            start="DTSTART;TZID=Europe/Berlin:20250619T100000",
                            end="DTEND;TZID=Europe/Berlin:20250619T110000"))
    who = draw(st.sampled_from(people))
    rid = draw(st.sampled_from(INSTANCES))
    reply_seq = draw(st.integers(max(0, seq - 1), seq + 2))
    minutes = draw(st.integers(0, 600))
    answer = draw(st.sampled_from(PARTSTATS))
    earlier = draw(st.none() | st.tuples(st.sampled_from(people), st.sampled_from(PARTSTATS),
                                         st.integers(0, 600), st.integers(seq, seq + 1)))
    return comps, who, rid, reply_seq, minutes, answer, earlier


def make_reply(who, rid, seq, minutes, answer):
    stamp = (NOW + timedelta(minutes=minutes)).strftime("%Y%m%dT%H%M%SZ")
    extra = [f"RECURRENCE-ID;TZID=Europe/Berlin:{rid}"] if rid else []
    return cal(vevent(att(who, answer), *extra, seq=seq, stamp=stamp, start=START, end=END,
                      summary="Something else entirely"),
               method="REPLY", tz=BERLIN)


def view(calendar):
    """label -> (other properties, {address: params})."""
    out = {}
    for key, comp in by_key(calendar).items():
        props = {
            name: comp[name].to_ical() if hasattr(comp[name], "to_ical") else str(comp[name])
            for name in comp
            if name not in ("ATTENDEE", "X-CALDAV-SCHED-ATTENDEE-COMMENT")
        }
        lines = {
            normalize_address(l): {k.upper(): str(v) for k, v in l.params.items()}
            for l in attendee_lines(comp)
        }
        out[label(key)] = (props, lines)
    return out


def without(params, names):
    return {k: v for k, v in params.items() if k not in names and not k.startswith(BOOKKEEPING)}


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(situations())
def test_reply_changes_only_that_attendees_answer(situation):
    comps, who, rid, seq, minutes, answer, earlier = situation
    stored = plan_organizer_change(None, cal(*comps, tz=BERLIN), organizer=A, now=NOW).stored
    if earlier is not None:
        first = apply_reply(stored, make_reply(earlier[0], None, earlier[3], earlier[2], earlier[1]),
                            now=NOW)
        if isinstance(first, ReplyApplied):
            stored = first.stored
    snapshot = stored.to_ical()
    message = make_reply(who, rid, seq, minutes, answer)
    result = apply_reply(stored, message, now=NOW)
    assert stored.to_ical() == snapshot  # inputs are never modified
    event(type(result).__name__ if isinstance(result, ReplyApplied) else str(result.code))
    if not isinstance(result, ReplyApplied):
        return
    before, after = view(stored), view(result.stored)
    target = label(by_key(message).popitem()[0]) if rid else "master"
    new_keys = set(after) - set(before)
    assert set(before) <= set(after) and new_keys <= {target}
    for key, (props, lines) in after.items():
        base_props, base_lines = before.get(key, before["master"])
        if key in new_keys:  # a derived override: the master's data for that instance
            skip = {"RRULE", "DTSTART", "DTEND", "RECURRENCE-ID"}
            assert without(props, skip) == without(base_props, skip)
        else:
            assert props == base_props
        assert set(lines) == set(base_lines)
        for address, params in lines.items():
            if address != normalize_address(who) or key != target:
                assert params == base_lines[address]
            else:
                assert without(params, MAY_CHANGE) == without(base_lines[address], MAY_CHANGE)
                assert params["PARTSTAT"] == canonical_partstat(answer)
                assert "RSVP" not in params
    # replaying the same reply is a no-op
    again = apply_reply(result.stored, message, now=NOW)
    assert isinstance(again, ReplyApplied) and again.changed is False
    assert again.stored.to_ical() == result.stored.to_ical()

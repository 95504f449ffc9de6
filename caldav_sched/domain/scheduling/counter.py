"""COUNTER: an attendee proposes a change; the organizer decides.

Owns RFC 5546 §3.2.7 on the organizer side: a COUNTER is validated like a
REPLY (same identity rules, not older than the event's SEQUENCE) and
recorded as a :class:`CounterProposal`.  The stored event never changes
automatically.  ``decline_counter`` builds the DECLINECOUNTER (§3.2.8) for
when the organizer says no.
"""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar

from .changes import Changes, compare, compare_instance
from .components import as_utc, clone, organizer_of, schedulable, sequence_of
from .identity import check_incoming
from .instances import Series, by_key, component_key, label, names_instance
from .messages import new_itip_calendar, outbound_component
from .model import CounterProposal, ItipMessage, Method, RefusalCode, ReplyRefused


def record_counter(
    stored: Calendar | None,
    counter: Calendar,
    *,
    attendee: str | None = None,
    now: datetime,
    accept_alias: bool = True,
) -> CounterProposal | ReplyRefused:
    """Validate a COUNTER and describe what it proposes."""
    del now  # a proposal is timeless; the caller records when it arrived
    who = check_incoming(stored, counter, "COUNTER", attendee, accept_alias=accept_alias)
    if isinstance(who, ReplyRefused):
        return who
    assert stored is not None
    series = Series.of(stored)
    comps = by_key(stored)
    changed: list[str] = []
    rids: list[str] = []
    comment = None
    for proposal in schedulable(counter):
        key = component_key(proposal, series)
        current = comps.get(key)
        if current is None and key is not None and None in comps and names_instance(stored, key):
            diff: Changes = compare_instance(comps[None], proposal, series)
        elif current is None:
            return ReplyRefused(RefusalCode.NO_SUCH_INSTANCE,
                                f"instance {label(key)} does not exist", str(proposal.get("UID")),
                                who.address)
        else:
            if sequence_of(proposal) < sequence_of(current):
                return ReplyRefused(
                    RefusalCode.STALE_SEQUENCE,
                    f"COUNTER SEQUENCE {sequence_of(proposal)} is older than {sequence_of(current)}",
                    str(proposal.get("UID")), who.address)
            diff = compare(current, proposal, series, Series.of(counter))
        if key is not None:
            rids.append(label(key))
        # COMMENT is the attendee's note about the proposal, not part of it.
        changed.extend(
            n for n in (*diff.significant, *diff.cosmetic) if n not in changed and n != "COMMENT"
        )
        if proposal.get("COMMENT") is not None and comment is None:
            comment = str(proposal["COMMENT"])
    master = comps.get(None) or schedulable(stored)[0]
    what = ", ".join(changed) or "no change"
    return CounterProposal(
        uid=str(master["UID"]),
        attendee=who.address,
        sequence=max(sequence_of(c) for c in schedulable(counter)),
        reason=f"{who.address} proposes a change: {what}",
        changes=tuple(changed),
        recurrence_ids=tuple(rids),
        comment=comment,
        proposed=clone(counter),
    )


def decline_counter(stored: Calendar, proposal: CounterProposal, *, now: datetime) -> ItipMessage:
    """The DECLINECOUNTER telling the attendee their proposal was not taken."""
    series = Series.of(stored)
    comps = [
        outbound_component(c, now=as_utc(now), sequence=sequence_of(c),
                           only_attendee=proposal.attendee)
        for c in schedulable(stored)
        if (not proposal.recurrence_ids and component_key(c, series) is None)
        or label(component_key(c, series)) in proposal.recurrence_ids
    ] or [outbound_component(schedulable(stored)[0], now=as_utc(now),
                             sequence=sequence_of(schedulable(stored)[0]),
                             only_attendee=proposal.attendee)]
    return ItipMessage(
        method=Method.DECLINECOUNTER,
        recipient=proposal.attendee,
        sender=organizer_of(stored) or "",
        uid=proposal.uid,
        sequence=max(sequence_of(c) for c in comps),
        reason=f"counter-proposal from {proposal.attendee} declined",
        recurrence_ids=proposal.recurrence_ids,
        includes_master=not proposal.recurrence_ids,
        calendar=new_itip_calendar("DECLINECOUNTER", stored, comps),
    )

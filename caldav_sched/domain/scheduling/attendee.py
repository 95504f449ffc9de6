"""Attendee side: from an attendee's copy before and after their edit, the REPLY.

Owns RFC 6638 §3.2.2 (an attendee's PUT or DELETE of a scheduling object)
and RFC 5546 §3.2.3 (REPLY).  One REPLY to the organizer carries one
component per instance whose answer changed:

* a changed PARTSTAT on the master or an override;
* an override the attendee created with a new PARTSTAT;
* an EXDATE the attendee added to their copy: that instance is DECLINED
  (sabre's rule; anchors 6.4 #29);
* deleting the copy declines the event, unless it is already cancelled or
  already declined;
* ORGANIZER;SCHEDULE-FORCE-SEND=REPLY replies for every instance, then is
  stripped from the stored copy (RFC 6638 §7.3).

Nothing is sent when the organizer's line says SCHEDULE-AGENT=CLIENT/NONE,
when the component is cancelled, or for a new copy still NEEDS-ACTION.
Each REPLY component has a fresh DTSTAMP (anchors 6.6 #37), the instance's
SEQUENCE, and a single ATTENDEE.
"""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar
from icalendar.cal import Component

from .addresses import normalize_address
from .components import (
    SCHEDULE_FORCE_SEND,
    as_utc,
    clone,
    find_attendee,
    organizer_line,
    param,
    schedulable,
    sequence_of,
    server_schedules,
)
from .instances import Key, Series, by_key, date_keys, derive_override, label
from .messages import is_cancelled, new_itip_calendar, outbound_component, strip_private
from .model import AttendeePlan, ItipMessage, Method
from .partstat import DECLINED, NEEDS_ACTION, effective_partstat

# What a REPLY component carries (RFC 5546 §3.2.3); the rest of the event is
# the organizer's business.
_REPLY_PROPERTIES = (
    "UID", "RECURRENCE-ID", "DTSTART", "DTEND", "DURATION", "DUE", "SUMMARY", "ORGANIZER",
    "ATTENDEE", "COMMENT",
)


def plan_attendee_change(
    old: Calendar | None,
    new: Calendar | None,
    *,
    attendee: str,
    now: datetime,
) -> AttendeePlan:
    """The REPLY (if any) an attendee's PUT or DELETE of their copy means.

    ``attendee`` is the address of the user storing the copy.  The result's
    ``stored`` is ``new`` without the one-shot SCHEDULE-FORCE-SEND.
    """
    now = as_utc(now)
    me = normalize_address(attendee)
    stored = clone(new) if new is not None else None
    source = stored if stored is not None else old
    organizer = organizer_line(source) if source is not None else None
    force = organizer is not None and (param(organizer, SCHEDULE_FORCE_SEND) or "").upper() == "REPLY"
    if stored is not None:
        for comp in schedulable(stored):
            strip_private(comp)
    if organizer is None or normalize_address(organizer) == me or not server_schedules(organizer):
        return AttendeePlan(stored)

    if stored is None:
        return AttendeePlan(None, _declined_by_delete(old, me, now))

    answers = _changed_answers(old, stored, me, force)
    if not answers:
        return AttendeePlan(stored)
    out: list[Component] = []
    reasons: list[str] = []
    for key, comp, partstat, why in answers:
        out.append(_reply_component(comp, me, partstat, now))
        where = "" if key is None else f"instance {label(key)}: "
        reasons.append(f"{where}{why}")
    return AttendeePlan(stored, (_message(stored, out, me, organizer, "; ".join(reasons), answers),))


def _changed_answers(
    old: Calendar | None, new: Calendar, me: str, force: bool
) -> list[tuple[Key | None, Component, str, str]]:
    """(instance, component, PARTSTAT, why) for every answer to send."""
    new_comps = by_key(new)
    old_comps = by_key(old) if old is not None else {}
    old_master = old_comps.get(None)
    answers: list[tuple[Key | None, Component, str, str]] = []
    for key, comp in new_comps.items():
        line = find_attendee(comp, me)
        if line is None or is_cancelled(comp) or is_cancelled(new_comps.get(None)):
            continue
        partstat = effective_partstat(param(line, "PARTSTAT"))
        prior = old_comps.get(key) or (old_master if key is not None else None)
        before_line = find_attendee(prior, me) if prior is not None else None
        before = effective_partstat(param(before_line, "PARTSTAT")) if before_line is not None else None
        if force:
            answers.append((key, comp, partstat, f"{partstat} (SCHEDULE-FORCE-SEND=REPLY)"))
        elif before is None and old is None:
            if partstat != NEEDS_ACTION:
                answers.append((key, comp, partstat, f"answered {partstat}"))
        elif before != partstat:
            answers.append((key, comp, partstat, f"PARTSTAT {before or NEEDS_ACTION} -> {partstat}"))
    # Instances the attendee removed from their copy with EXDATE: declined.
    master, old_master_comp = new_comps.get(None), old_master
    if master is not None and old_master_comp is not None and find_attendee(master, me) is not None:
        series = Series.of(new)
        added = date_keys(master, "EXDATE", series) - date_keys(
            old_master_comp, "EXDATE", Series.of(old))  # type: ignore[arg-type]
        if effective_partstat(param(find_attendee(master, me), "PARTSTAT")) != DECLINED:
            for key in sorted(added, key=label):
                if key in new_comps:
                    continue
                instance = derive_override(master, key, series)
                answers.append((key, instance, DECLINED, "removed from the attendee's copy (EXDATE)"))
    return answers


def _declined_by_delete(old: Calendar | None, me: str, now: datetime) -> tuple[ItipMessage, ...]:
    """Deleting one's copy declines it (sabre ``parseEventForAttendee``)."""
    if old is None:
        return ()
    comps = by_key(old)
    if is_cancelled(comps.get(None)):
        return ()
    targets = [(None, comps[None])] if None in comps and find_attendee(comps[None], me) else [
        (k, c) for k, c in comps.items() if find_attendee(c, me) is not None and not is_cancelled(c)
    ]
    answers = [
        (k, c, DECLINED, "copy deleted")
        for k, c in targets
        if effective_partstat(param(find_attendee(c, me), "PARTSTAT")) != DECLINED
    ]
    if not answers:
        return ()
    out = [_reply_component(c, me, DECLINED, now) for _, c, _, _ in answers]
    organizer = organizer_line(old)
    assert organizer is not None
    return (_message(old, out, me, organizer, "copy deleted: declined", answers),)


def _reply_component(comp: Component, me: str, partstat: str, now: datetime) -> Component:
    """One REPLY component: the instance's identity and the attendee's answer."""
    reply = outbound_component(comp, now=now, sequence=sequence_of(comp), only_attendee=me)
    for name in list(reply):
        if name.upper() not in (*_REPLY_PROPERTIES, "DTSTAMP", "SEQUENCE"):
            del reply[name]
    reply.subcomponents = []
    reply.pop("COMMENT", None)
    line = find_attendee(reply, me)
    assert line is not None
    line.params["PARTSTAT"] = partstat
    for name in ("RSVP", "ROLE", "CUTYPE"):
        line.params.pop(name, None)
    return reply


def _message(
    source: Calendar,
    components: list[Component],
    me: str,
    organizer: object,
    reason: str,
    answers: list,
) -> ItipMessage:
    keys = [a[0] for a in answers]
    return ItipMessage(
        method=Method.REPLY,
        recipient=normalize_address(organizer),
        sender=me,
        uid=str(components[0]["UID"]),
        sequence=max(sequence_of(c) for c in components),
        reason=reason,
        recurrence_ids=tuple(label(k) for k in keys if k is not None),
        includes_master=None in keys,
        calendar=new_itip_calendar("REPLY", source, components),
    )

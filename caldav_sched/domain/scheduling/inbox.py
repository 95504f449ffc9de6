"""Attendee side of REQUEST and CANCEL: the attendee's copy after a message.

Owns RFC 5546 §3.2.2 / §3.2.5 processing into an attendee's own calendar
(local delivery, RFC 6638 §3.2.1; later also external organizers by mail):

* a REQUEST older than the copy (lower SEQUENCE) is refused (Stalwart's
  OutOfSequence); one from another ORGANIZER than the copy's is refused
  (anchors 6.3 #19: a CANCEL from a non-organizer is ignored);
* the attendee's own data survives an update: their VALARMs and TRANSP
  (anchors 6.9 #56, sabre replaces them), and their PARTSTAT unless the
  instance changed significantly (#57: a re-REQUEST does not undo ACCEPTED);
* a REQUEST carrying the master replaces the series; one carrying only
  overrides updates just those instances;
* CANCEL marks the event or instance STATUS:CANCELLED instead of deleting it
  (#58), so the attendee sees what happened.

Whether the sender may speak for ORGANIZER at all (DKIM, local principal) is
the mail and services layers' decision; this module only compares data.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime

from icalendar import Calendar
from icalendar.cal import Component

from .addresses import normalize_address
from .changes import compare
from .components import (
    clone,
    find_attendee,
    method_of,
    organizer_of,
    param,
    sequence_of,
    uid_of,
)
from .instances import Key, Series, by_key, derive_override, label
from .model import RefusalCode, ReplyRefused

_PERSONAL = ("TRANSP",)


@dataclass(frozen=True)
class CopyUpdated:
    """The attendee's copy after a REQUEST or CANCEL (None: nothing to store)."""

    stored: Calendar | None
    changed: bool
    reason: str


def apply_organizer_message(
    copy_: Calendar | None,
    message: Calendar,
    *,
    attendee: str,
    now: datetime,
) -> CopyUpdated | ReplyRefused:
    """Apply a REQUEST or CANCEL addressed to ``attendee`` to their copy."""
    del now  # the copy keeps the organizer's DTSTAMP
    method = method_of(message)
    uid = uid_of(message)
    me = normalize_address(attendee)
    if method not in ("REQUEST", "CANCEL"):
        return ReplyRefused(RefusalCode.NOT_ITIP, f"METHOD {method or 'missing'} is not for attendees",
                            uid, me)
    if copy_ is not None and uid_of(copy_) != uid:
        return ReplyRefused(RefusalCode.UNKNOWN_UID, f"{method} is for UID {uid}", uid, me)
    if copy_ is not None and organizer_of(copy_) != organizer_of(message):
        return ReplyRefused(
            RefusalCode.ORGANIZER_MISMATCH,
            f"{method} from {organizer_of(message)}, the event's ORGANIZER is {organizer_of(copy_)}",
            uid, me)
    incoming = by_key(message)
    if not any(find_attendee(c, me) for c in incoming.values()) and method == "REQUEST":
        return ReplyRefused(RefusalCode.NOT_ATTENDEE, f"{me} is not invited by this {method}", uid, me)
    current = by_key(copy_) if copy_ is not None else {}
    for key, comp in incoming.items():
        before = current.get(key) or (current.get(None) if key is not None else None)
        if before is not None and sequence_of(comp) < sequence_of(before):
            return ReplyRefused(
                RefusalCode.STALE_SEQUENCE,
                f"{method} SEQUENCE {sequence_of(comp)} is older than the copy's {sequence_of(before)}",
                uid, me)
    if method == "CANCEL":
        return _cancel(copy_, message, incoming)
    return _request(copy_, message, incoming, me)


def _request(
    copy_: Calendar | None, message: Calendar, incoming: dict[Key | None, Component], me: str
) -> CopyUpdated:
    out = clone(message)
    out.pop("METHOD", None)
    if copy_ is None:
        return CopyUpdated(out, True, "invitation added")
    old_series, new_series = Series.of(copy_), Series.of(message)
    current = by_key(copy_)
    merged: dict[Key | None, Component] = {}
    if None not in incoming:  # only some instances: the rest of the copy stays
        merged.update({k: copy.deepcopy(c) for k, c in current.items()})
    for key, comp in by_key(out).items():
        before = current.get(key) or (current.get(None) if key is not None else None)
        if before is not None:
            _keep_personal(comp, before, me, compare(before, comp, old_series, new_series))
        merged[key] = comp
    out.subcomponents = [s for s in out.subcomponents if s.name not in ("VEVENT", "VTODO")]
    for comp in sorted(merged.values(), key=lambda c: c.get("RECURRENCE-ID") is not None):
        out.add_component(comp)
    return CopyUpdated(out, True, "invitation updated")


def _keep_personal(comp: Component, before: Component, me: str, changes) -> None:
    """The attendee's alarms, TRANSP and (unless rescheduled) PARTSTAT survive."""
    comp.subcomponents = [s for s in comp.subcomponents if s.name != "VALARM"] + [
        copy.deepcopy(s) for s in before.subcomponents if s.name == "VALARM"
    ]
    for name in _PERSONAL:
        if before.get(name) is not None:
            comp.pop(name, None)
            comp.add(name, before[name])
    mine, previous = find_attendee(comp, me), find_attendee(before, me)
    if mine is not None and previous is not None and not changes.significant:
        mine.params["PARTSTAT"] = param(previous, "PARTSTAT") or "NEEDS-ACTION"
        if param(previous, "RSVP") is None:
            mine.params.pop("RSVP", None)


def _cancel(
    copy_: Calendar | None, message: Calendar, incoming: dict[Key | None, Component]
) -> CopyUpdated:
    if copy_ is None:
        return CopyUpdated(None, False, "nothing to cancel")
    out = clone(copy_)
    series = Series.of(out)
    comps = by_key(out)
    targets = list(comps) if None in incoming else list(incoming)
    for key in targets:
        comp = comps.get(key)
        if comp is None:
            if key is None or None not in comps:
                continue
            comp = derive_override(comps[None], key, series)
            out.add_component(comp)
        seq = sequence_of(incoming.get(key) or incoming.get(None) or next(iter(incoming.values())))
        for name, value in (("STATUS", "CANCELLED"), ("SEQUENCE", max(seq, sequence_of(comp)))):
            comp.pop(name, None)
            comp.add(name, value)
    what = "event" if None in incoming else "instance " + ", ".join(label(k) for k in targets)
    return CopyUpdated(out, True, f"{what} cancelled by the organizer")

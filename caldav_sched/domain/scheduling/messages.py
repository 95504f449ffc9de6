"""Building outbound iTIP objects: what an attendee or organizer may see.

Owns the shape of every message the engine emits (RFC 5546 §3): a fresh
VCALENDAR with METHOD, our PRODID, the VTIMEZONEs its TZIDs need (anchors
6.5 #32), and components cleaned of everything private to the organizer's
server: SCHEDULE-AGENT/-STATUS/-FORCE-SEND (RFC 6638 §7), the engine's
bookkeeping, VALARMs (the organizer's own reminders).  Every component gets
DTSTAMP = now; PARTSTAT values are written in their RFC spelling.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, vCalAddress
from icalendar.cal import Component

from .addresses import normalize_address
from .components import (
    BOOKKEEPING_PREFIX,
    SCHEDULE_AGENT,
    SCHEDULE_FORCE_SEND,
    SCHEDULE_STATUS,
    attendee_lines,
    clone,
    drop_params,
    find_attendee,
    sequence_of,
    set_attendee_lines,
    walk_lines,
)
from .instances import Key, Series, by_key, derive_override, label
from .model import ItipMessage, Method
from .partstat import effective_partstat

PRODID = "-//caldav_sched//iTIP engine//EN"
PRIVATE_PARAMS = (SCHEDULE_AGENT, SCHEDULE_STATUS, SCHEDULE_FORCE_SEND)


def clean_line(line: vCalAddress) -> vCalAddress:
    """A copy of an ORGANIZER/ATTENDEE line fit for an iTIP message."""
    out = vCalAddress(str(line))
    out.params.update(copy.deepcopy(dict(line.params)))
    drop_params(out, PRIVATE_PARAMS, bookkeeping=True)
    if "PARTSTAT" in out.params:
        out.params["PARTSTAT"] = effective_partstat(out.params["PARTSTAT"])
    return out


def outbound_component(
    comp: Component,
    *,
    now: datetime,
    sequence: int,
    only_attendee: str | None = None,
    fallback_line: vCalAddress | None = None,
) -> Component:
    """A cleaned copy of ``comp`` stamped ``now`` with ``sequence``.

    With ``only_attendee`` the copy keeps just that ATTENDEE line (CANCEL to a
    removed attendee, REPLY from one attendee; RFC 5546 §3.2.5, §3.2.3);
    ``fallback_line`` stands in when the component no longer has it.
    """
    out = copy.deepcopy(comp)
    out.subcomponents = [s for s in out.subcomponents if s.name != "VALARM"]
    for name in list(out):
        if name.upper().startswith(BOOKKEEPING_PREFIX):
            del out[name]
    if only_attendee is not None:
        line = find_attendee(out, only_attendee) or fallback_line
        set_attendee_lines(out, [line] if line is not None else [])
    set_attendee_lines(out, [clean_line(line) for line in attendee_lines(out)])
    organizer = out.get("ORGANIZER")
    if organizer is not None:
        out.pop("ORGANIZER")
        out.add("ORGANIZER", clean_line(organizer), encode=False)
    for name in ("DTSTAMP", "SEQUENCE"):
        out.pop(name, None)
    out.add("DTSTAMP", now)
    out.add("SEQUENCE", sequence)
    return out


def new_itip_calendar(method: str, source: Calendar | None, components: Iterable[Component]) -> Calendar:
    """A VCALENDAR with METHOD, the components and the VTIMEZONEs they use."""
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    if source is not None and source.get("CALSCALE") is not None:
        cal.add("CALSCALE", source["CALSCALE"])
    cal.add("METHOD", method)
    comps = list(components)
    if source is not None:
        for tz in source.walk("VTIMEZONE"):
            cal.add_component(tz)  # read-only, shared (see components.clone)
    for comp in comps:
        cal.add_component(comp)
    used = cal.get_used_tzids()
    # Keep only the zones the message uses, then add any the source lacked.
    cal.subcomponents = [
        s for s in cal.subcomponents if s.name != "VTIMEZONE" or str(s.get("TZID")) in used
    ]
    try:
        cal.add_missing_timezones()
    except Exception:  # noqa: BLE001 - an unknown custom TZID: send what we have
        pass
    # VTIMEZONEs first, as most clients expect.
    cal.subcomponents.sort(key=lambda s: s.name != "VTIMEZONE")
    return cal


def strip_private(comp: Component) -> None:
    """Remove SCHEDULE-FORCE-SEND from a stored component (one-shot, RFC 6638 §7.3)."""
    for line in walk_lines(comp):
        drop_params(line, (SCHEDULE_FORCE_SEND,))


def is_cancelled(comp: Component | None) -> bool:
    """True for a component with STATUS:CANCELLED (RFC 5545 §3.8.1.11)."""
    return comp is not None and str(comp.get("STATUS") or "").strip().upper() == "CANCELLED"


def build_request(
    cal: Calendar,
    attendee: str,
    *,
    now: datetime,
    reason: str,
    sender: str,
    method: str = "REQUEST",
    shared: dict[object, tuple[Calendar, int, str]] | None = None,
) -> ItipMessage | None:
    """The REQUEST that shows ``attendee`` exactly the instances they are in.

    RFC 5546 §3.2.2.  An attendee only on some overrides gets only those
    overrides; an attendee on the master but not on an override gets an
    EXDATE for that instance in their copy (sabre's per-attendee instance
    lists, anchors 6.4 #28).  None when the attendee is in no component.

    ``shared`` memoises the message per set of instances within one plan:
    attendees who see the same instances get the same (read-only) Calendar,
    so an invitation to ten people is built once, not ten times.  Nothing
    private to one attendee goes into a REQUEST, so this changes no byte.
    """
    comps = by_key(cal)
    present = {k for k, c in comps.items() if find_attendee(c, attendee) is not None}
    if not present:
        return None
    rids = tuple(label(k) for k in sorted((k for k in present if k is not None), key=_sort_key))
    memo_key = (method, frozenset(present))
    if shared is not None and memo_key in shared:
        calendar, sequence, uid = shared[memo_key]
    else:
        calendar, sequence, uid = _request_calendar(cal, comps, present, now=now, method=method)
        if shared is not None:
            shared[memo_key] = (calendar, sequence, uid)
    return ItipMessage(
        method=Method(method),
        recipient=normalize_address(attendee),
        sender=sender,
        uid=uid,
        sequence=sequence,
        reason=reason,
        recurrence_ids=rids,
        includes_master=None in present,
        calendar=calendar,
    )


def _request_calendar(
    cal: Calendar,
    comps: dict[Key | None, Component],
    present: set[Key | None],
    *,
    now: datetime,
    method: str,
) -> tuple[Calendar, int, str]:
    """The REQUEST's VCALENDAR for these instances, its SEQUENCE and UID."""
    out: list[Component] = []
    if None in present:
        master = outbound_component(comps[None], now=now, sequence=sequence_of(comps[None]))
        excluded = [k for k in comps if k is not None and k not in present]
        if excluded:
            series = Series.of(cal)
            master.add("EXDATE", [series.local(k) for k in sorted(excluded, key=_sort_key)])
        out.append(master)
    for key in sorted((k for k in present if k is not None), key=_sort_key):
        out.append(outbound_component(comps[key], now=now, sequence=sequence_of(comps[key])))
    sequence = max(sequence_of(c) for c in out)
    return new_itip_calendar(method, cal, out), sequence, str(out[0]["UID"])


def build_cancel(
    cal: Calendar,
    attendee: str,
    keys: Iterable[Key | None],
    *,
    now: datetime,
    reason: str,
    sender: str,
    sequence: int | None = None,
    cancelled: bool = True,
    line: vCalAddress | None = None,
) -> ItipMessage:
    """A CANCEL for ``attendee``: the whole event (key None) or some instances.

    RFC 5546 §3.2.5: the components carry UID, SEQUENCE, DTSTAMP, ORGANIZER,
    the one ATTENDEE and RECURRENCE-ID for instances.  STATUS:CANCELLED only
    when the event or instance itself is cancelled (``cancelled``), not when
    one attendee is uninvited.  ``line`` is the attendee's ATTENDEE line for
    when ``cal`` no longer has it.
    """
    series = Series.of(cal)
    comps = by_key(cal)
    master = comps.get(None)
    keys = sorted(set(keys), key=_sort_key)
    whole = None in keys
    out: list[Component] = []
    for key in [None] if whole else keys:
        source = comps.get(key)
        if source is None and master is not None and key is not None:
            source = derive_override(master, key, series)
        assert source is not None, "a CANCEL needs a component to describe"
        seq = sequence if sequence is not None else sequence_of(source)
        comp = outbound_component(
            source, now=now, sequence=seq, only_attendee=attendee, fallback_line=line
        )
        for name in ("RRULE", "RDATE", "EXDATE", "EXRULE", "STATUS"):
            comp.pop(name, None)
        if cancelled:
            comp.add("STATUS", "CANCELLED")
        out.append(comp)
    return ItipMessage(
        method=Method.CANCEL,
        recipient=normalize_address(attendee),
        sender=sender,
        uid=str(out[0]["UID"]),
        sequence=max(sequence_of(c) for c in out),
        reason=reason,
        recurrence_ids=() if whole else tuple(label(k) for k in keys),
        includes_master=whole,
        calendar=new_itip_calendar("CANCEL", cal, out),
    )


def _sort_key(key: Key | None) -> tuple[int, str]:
    return (0, "") if key is None else (1, label(key))


def rewrite_organizer(cal: Calendar, address: str) -> Calendar:
    """A copy of an outbound message whose ORGANIZER is ``address`` (a reply token).

    design.md "Mail addresses": external attendees see the service's
    tokenised address as ORGANIZER so their client's REPLY comes back to
    us.  The organizer's own ATTENDEE line is rewritten too, or clients show
    the organizer twice (CCS; anchors 6.7 #46).  The real address stays in
    the EMAIL parameter (RFC 7986 §6.2), CN is kept.
    """
    out = clone(cal)
    for comp in out.walk():
        if comp.name not in ("VEVENT", "VTODO"):
            continue
        organizer = comp.get("ORGANIZER")
        if organizer is None:
            continue
        real = normalize_address(organizer)
        lines = []
        for line in [organizer, *attendee_lines(comp)]:
            if normalize_address(line) == real:
                new = vCalAddress(normalize_address(address))
                new.params.update(dict(line.params))
                new.params.setdefault("EMAIL", real.removeprefix("mailto:"))
                line = new
            lines.append(line)
        comp.pop("ORGANIZER")
        comp.add("ORGANIZER", lines[0], encode=False)
        set_attendee_lines(comp, lines[1:])
    return out

"""Organizer side of a REPLY: the new organizer copy, or a refusal.

Owns RFC 5546 §3.2.3 processing for one stored event:

* only the replying attendee's line changes, and on it only PARTSTAT, RSVP
  (removed: they answered), DELEGATED-TO/-FROM, SCHEDULE-STATUS and the
  engine's bookkeeping.  The attendee's COMMENT is kept beside the line as
  ``X-CALDAV-SCHED-ATTENDEE-COMMENT``.  DTSTART, SUMMARY, STATUS and other
  attendees in the reply are ignored (anchors 6.3 #18c, 6.5 #33);
* a reply for one instance updates that instance; when the organizer copy
  has no override for it, one is derived from the master (anchors 6.4 #23).
  A RECURRENCE-ID that names no instance changes nothing (#26); in UTC or
  another zone it still matches (#24); RANGE=THISANDFUTURE is applied to the
  named instance only (#30);
* ordering (RFC 5546 §2.1.5; anchors 6.6 #35-37): a component whose SEQUENCE
  is below the organizer copy's SEQUENCE for that instance is refused (the
  CCS rule: the answer was to an invitation that has since changed).  Each
  applied reply leaves ``X-CALDAV-SCHED-REPLY-SEQ`` and
  ``X-CALDAV-SCHED-REPLY-STAMP`` on the attendee's line for that instance; a
  later reply with a lower (SEQUENCE, DTSTAMP) pair is refused, the same pair
  with the same answer is a replay (``changed=False``), the same pair with
  another answer is refused.  A reply without DTSTAMP counts as sent ``now``;
* delegation (RFC 5546 §4.2.5): PARTSTAT=DELEGATED adds each delegate as a
  NEEDS-ACTION attendee with DELEGATED-FROM; ``ReplyApplied.added`` names them
  so the organizer side can invite them.
"""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, vCalAddress, vText
from icalendar.cal import Component

from .addresses import normalize_address
from .components import (
    ATTENDEE_COMMENT,
    BOOKKEEPING_PREFIX,
    COMMENT_ATTENDEE,
    REPLY_FROM,
    REPLY_SENT_BY,
    REPLY_SEQ,
    REPLY_STAMP,
    SCHEDULE_STATUS,
    as_utc,
    attendee_lines,
    clone,
    dtstamp_of,
    find_attendee,
    format_utc,
    param,
    parse_utc,
    schedulable,
    sequence_of,
    set_attendee_lines,
)
from .identity import Speaker, check_incoming, speaker_line
from .instances import Key, Series, by_key, derive_override, label, names_instance
from .model import RefusalCode, ReplyApplied, ReplyRefused, ScheduleStatus
from .partstat import DELEGATED, canonical_partstat

_DELEGATION = ("DELEGATED-TO", "DELEGATED-FROM")


def apply_reply(
    stored: Calendar | None,
    reply: Calendar,
    *,
    attendee: str | None = None,
    now: datetime,
    accept_alias: bool = True,
) -> ReplyApplied | ReplyRefused:
    """Apply an iTIP REPLY to the organizer's stored copy.

    ``attendee`` is the address the reply may speak for (from a mail token);
    see ``identity`` for how aliases and extra ATTENDEE lines are handled.
    ``now`` stands in for a missing DTSTAMP.  Components of a multi-instance
    reply are applied together (one new copy, one ETag change); those that
    cannot be applied are listed in ``notes``.  When none can, the reply is
    refused with the first reason.
    """
    now = as_utc(now)
    who = check_incoming(stored, reply, "REPLY", attendee, accept_alias=accept_alias)
    if isinstance(who, ReplyRefused):
        return who
    assert stored is not None
    out = clone(stored)
    series = Series.of(out)
    comps = by_key(out)
    uid = str(next(iter(comps.values()))["UID"])
    notes = list(who.notes)
    refusals: list[ReplyRefused] = []
    partstats: list[tuple[str, str]] = []
    added: list[str] = []
    changed = False

    # Instances are derived from the master as stored, not as this reply leaves
    # it: the reply's own master answer must not count as an earlier reply.
    originals = by_key(stored)
    for rcomp in schedulable(reply):
        result = _apply_component(out, comps, originals, series, rcomp, who, now, uid, notes)
        if isinstance(result, ReplyRefused):
            refusals.append(result)
            continue
        key, partstat, did_change, new_delegates = result
        partstats.append((label(key), partstat))
        changed = changed or did_change
        added.extend(d for d in new_delegates if d not in added)

    if not partstats:
        return refusals[0] if refusals else ReplyRefused(
            RefusalCode.NO_ATTENDEE, "REPLY has no component to apply", uid, who.address)
    notes.extend(f"ignored: {r.reason}" for r in refusals)
    answer = ", ".join(p if lbl == "master" else f"{p} for instance {lbl}" for lbl, p in partstats)
    if not changed:
        return ReplyApplied(stored=stored, changed=False, uid=uid, attendee=who.address,
                            reason=f"{who.address} {answer}: already applied (replay)",
                            partstats=tuple(partstats), notes=tuple(notes))
    return ReplyApplied(stored=out, changed=True, uid=uid, attendee=who.address,
                        reason=f"{who.address} {answer}", partstats=tuple(partstats),
                        added=tuple(added), notes=tuple(notes))


def _apply_component(
    out: Calendar,
    comps: dict[Key | None, Component],
    originals: dict[Key | None, Component],
    series: Series,
    rcomp: Component,
    who: Speaker,
    now: datetime,
    uid: str,
    notes: list[str],
) -> tuple[Key | None, str, bool, list[str]] | ReplyRefused:
    """Apply one component of a REPLY to ``out`` in place."""
    rid = rcomp.get("RECURRENCE-ID")
    key = series.key(rid.dt) if rid is not None else None
    where = "the event" if key is None else f"instance {label(key)}"
    if rid is not None and (param(rid, "RANGE") or "").upper() == "THISANDFUTURE":
        notes.append(f"RANGE=THISANDFUTURE on {label(key)} applied to that instance only")
    target = comps.get(key)
    derived = False
    if target is None:
        master = originals.get(None)
        if key is None or master is None or not names_instance(out, key):
            return ReplyRefused(RefusalCode.NO_SUCH_INSTANCE, f"{where} does not exist", uid,
                                who.address)
        target, derived = derive_override(master, key, series), True
    written = speaker_line(rcomp, who)
    current = find_attendee(target, who.address)
    if written is None or current is None:
        return ReplyRefused(RefusalCode.NOT_ATTENDEE, f"{who.address} is not invited to {where}",
                            uid, who.address)

    seq, stamp = sequence_of(rcomp), dtstamp_of(rcomp)
    stamped = stamp is not None
    stamp = stamp or now
    if seq < sequence_of(target):
        return ReplyRefused(
            RefusalCode.STALE_SEQUENCE,
            f"REPLY SEQUENCE {seq} is older than SEQUENCE {sequence_of(target)} of {where}",
            uid, who.address)
    updated = _updated_line(current, written, rcomp, who, seq, stamp)
    comment_before = _comment(target, who.address)
    comment_after = _text(rcomp.get("COMMENT"))
    same_answer = _params(updated, bookkeeping=False) == _params(current, bookkeeping=False) and (
        comment_before == comment_after)
    last_seq, last_stamp = _int(param(current, REPLY_SEQ)), parse_utc(param(current, REPLY_STAMP))
    if last_seq is not None and seq < last_seq:
        return ReplyRefused(
            RefusalCode.STALE_SEQUENCE,
            f"REPLY SEQUENCE {seq} is older than the last applied reply ({last_seq}) for {where}",
            uid, who.address)
    if last_seq == seq and last_stamp is not None and stamp <= last_stamp:
        if stamp == last_stamp and same_answer:
            return key, str(current.params.get("PARTSTAT")), False, []
        return ReplyRefused(
            RefusalCode.STALE_DTSTAMP,
            f"REPLY DTSTAMP {format_utc(stamp)} is not newer than the last applied reply "
            f"({format_utc(last_stamp)}) for {where}",
            uid, who.address)
    if not stamped and same_answer:
        # Without DTSTAMP a re-delivery cannot be told from a new reply; if it
        # says nothing new, do not write (and do not move the bookkeeping).
        return key, str(current.params.get("PARTSTAT")), False, []

    lines = [updated if normalize_address(l) == who.address else l for l in attendee_lines(target)]
    new_delegates = _delegates(updated, written, rcomp, who, lines)
    set_attendee_lines(target, lines)
    _set_comment(target, who.address, comment_after)
    if derived:
        out.add_component(target)
        comps[key] = target
    return key, str(updated.params["PARTSTAT"]), True, new_delegates


def _updated_line(
    current: vCalAddress,
    written: vCalAddress,
    rcomp: Component,
    who: Speaker,
    seq: int,
    stamp: datetime,
) -> vCalAddress:
    """The attendee's line after the reply: only the fields a reply may set."""
    line = vCalAddress(str(current))
    line.params.update(dict(current.params))
    line.params["PARTSTAT"] = canonical_partstat(param(written, "PARTSTAT"))
    line.params.pop("RSVP", None)
    for name in _DELEGATION:
        value = written.params.get(name)
        if value:
            line.params[name] = value
        else:
            line.params.pop(name, None)
    status = _request_status(rcomp)
    if status is not None:
        line.params[SCHEDULE_STATUS] = status
    elif param(line, SCHEDULE_STATUS) in (
        ScheduleStatus.PENDING, ScheduleStatus.SENT, ScheduleStatus.NO_WAY_TO_DELIVER
    ):
        # An answer proves the invitation arrived (however it was carried).
        line.params[SCHEDULE_STATUS] = ScheduleStatus.DELIVERED.value
    line.params[REPLY_SEQ] = str(seq)
    line.params[REPLY_STAMP] = format_utc(stamp)
    for name, value in ((REPLY_FROM, who.alias), (REPLY_SENT_BY, param(written, "SENT-BY"))):
        if value:
            line.params[name] = normalize_address(value)
        else:
            line.params.pop(name, None)
    return line


def _delegates(
    updated: vCalAddress,
    written: vCalAddress,
    rcomp: Component,
    who: Speaker,
    lines: list[vCalAddress],
) -> list[str]:
    """Add the delegates of a DELEGATED reply to ``lines``; return the new ones."""
    if str(updated.params.get("PARTSTAT")) != DELEGATED:
        return []
    named = [normalize_address(v) for v in (param(written, "DELEGATED-TO") or "").split(",") if v]
    present = {normalize_address(l) for l in lines}
    added: list[str] = []
    for address in dict.fromkeys([*named, *who.delegates]):
        if not address or address == who.address:
            continue
        if address in present:
            existing = next(l for l in lines if normalize_address(l) == address)
            existing.params.setdefault("DELEGATED-FROM", who.address)
            continue
        echo = find_attendee(rcomp, address)
        line = vCalAddress(address)
        for name in ("CN", "ROLE", "CUTYPE"):
            if echo is not None and echo.params.get(name):
                line.params[name] = echo.params[name]
        line.params.update({"PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE",
                            "DELEGATED-FROM": who.address})
        lines.append(line)
        added.append(address)
    return added


def _request_status(rcomp: Component) -> str | None:
    """The status code of the reply's REQUEST-STATUS (e.g. ``2.0``), if any."""
    value = rcomp.get("REQUEST-STATUS")
    if value is None:
        return None
    first = value[0] if isinstance(value, list) else value
    code = str(first).replace("\\", "").split(";")[0].strip()
    return code if code[:1].isdigit() else None


def _params(line: vCalAddress, *, bookkeeping: bool) -> dict[str, str]:
    return {
        k.upper(): str(v)
        for k, v in line.params.items()
        if bookkeeping or not k.upper().startswith(BOOKKEEPING_PREFIX)
    }


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return "\n".join(str(v) for v in value) or None
    return str(value) or None


def _comment(comp: Component, address: str) -> str | None:
    for prop in _comment_props(comp):
        if normalize_address(prop.params.get(COMMENT_ATTENDEE)) == address:
            return str(prop)
    return None


def _comment_props(comp: Component) -> list:
    value = comp.get(ATTENDEE_COMMENT)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _set_comment(comp: Component, address: str, text: str | None) -> None:
    """Keep the attendee's latest COMMENT beside their line (CCS keeps it likewise)."""
    keep = [p for p in _comment_props(comp)
            if normalize_address(p.params.get(COMMENT_ATTENDEE)) != address]
    if not keep and text is None and comp.get(ATTENDEE_COMMENT) is None:
        return
    comp.pop(ATTENDEE_COMMENT, None)
    for prop in keep:
        comp.add(ATTENDEE_COMMENT, prop, encode=False)
    if text is not None:
        comp.add(ATTENDEE_COMMENT, vText(text), parameters={COMMENT_ATTENDEE: address})

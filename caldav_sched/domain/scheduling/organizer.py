"""Organizer side: from the stored copy and the new one, what to store and send.

Owns implicit scheduling on an organizer's PUT or DELETE (RFC 6638 §3.2.1,
RFC 5546 §3.2.2 and §3.2.5; design.md "Scheduling rules"):

* attendee added -> REQUEST; removed, event deleted or STATUS:CANCELLED ->
  CANCEL; removed from one instance -> CANCEL for that RECURRENCE-ID;
* significant change (see ``changes``) -> SEQUENCE raised if the client did
  not, PARTSTAT back to NEEDS-ACTION with RSVP=TRUE (RFC 6638 §3.2.8), per
  instance; REQUEST to everyone who sees that instance;
* cosmetic change -> REQUEST with the same SEQUENCE, PARTSTATs kept;
* PARTSTAT-only change -> nothing;
* SCHEDULE-AGENT other than SERVER -> nothing for that attendee (RFC 6638
  §7.1, x-names like NONE); SCHEDULE-FORCE-SEND=REQUEST -> REQUEST even with
  no change, then stripped (§7.3);
* the organizer never gets a message about their own event and their own
  ATTENDEE line is ACCEPTED.

ADD (RFC 5546 §3.2.4) is never produced: a REQUEST carrying the attendee's
full instance set says the same thing and is understood by every client,
while ADD is ignored by Outlook and Google.

The stored copy gets ORGANIZER when the client left it out (the walkthrough),
keeps the engine's reply bookkeeping and earlier SCHEDULE-STATUS values when
the client dropped them, and SCHEDULE-STATUS 1.0 (pending) on every
attendee a message is planned for; 3.7 on an address nobody can mail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from icalendar import Calendar, vCalAddress
from icalendar.cal import Component

from .addresses import is_mailable, normalize_address
from .changes import Changes, compare, compare_instance
from .components import (
    BOOKKEEPING_PREFIX,
    SCHEDULE_FORCE_SEND,
    SCHEDULE_STATUS,
    as_utc,
    attendee_lines,
    clone,
    find_attendee,
    organizer_line,
    organizer_of,
    param,
    schedulable,
    schedule_agent,
    sequence_of,
    server_schedules,
    set_attendee_lines,
)
from .instances import Key, Series, by_key, date_keys, label
from .messages import build_cancel, build_request, is_cancelled, strip_private
from .model import ItipMessage, NotOrganizer, OrganizerPlan, ScheduleStatus, Skipped
from .partstat import ACCEPTED, NEEDS_ACTION, canonical_partstat, effective_partstat


def plan_organizer_change(
    old: Calendar | None,
    new: Calendar | None,
    *,
    organizer: str,
    now: datetime,
    sequence_floor: int = 0,
    merge_partstats: bool = False,
) -> OrganizerPlan:
    """Plan the organizer's PUT (``new``) or DELETE (``new`` None) of one object.

    ``organizer`` is the address of the user storing the object; it becomes
    ORGANIZER when the data has attendees but no ORGANIZER.  ``sequence_floor``
    is the highest SEQUENCE ever sent for this UID (kept by the store), so a
    re-created event outranks the CANCEL its attendees saw (anchors 6.7 #44).
    With ``merge_partstats`` the attendees' PARTSTATs and reply bookkeeping are
    taken from ``old`` whatever the client sent (RFC 6638 §3.2.10, a PUT that
    matched the Schedule-Tag but not the ETag).

    Raises NotOrganizer when the data names another ORGANIZER.
    """
    now = as_utc(now)
    if new is None:
        return _plan_delete(old, organizer, now, sequence_floor)
    stored = clone(new)
    org = _ensure_organizer(stored, organizer)
    if old is not None:
        _check_organizer(old, organizer)
    if org is None:  # no attendees at all: not a scheduling object (RFC 6638 §3.1)
        if old is None or not _has_attendees(old):
            return OrganizerPlan(stored=stored, sequence=sequence_of(_first(stored)))
        org = organizer_of(old) or normalize_address(organizer)

    old_comps = by_key(old) if old is not None else {}
    new_comps = by_key(stored)
    old_series = Series.of(old) if old is not None else Series.of(stored)
    new_series = Series.of(stored)
    old_master = old_comps.get(None)

    def before(key: Key | None) -> Component | None:
        """The version of this instance that attendees saw last time."""
        if key in old_comps:
            return old_comps[key]
        return old_master if key is not None else None

    changes: dict[Key | None, Changes] = {}
    for key, comp in new_comps.items():
        if old is None:
            changes[key] = Changes()
        elif key in old_comps:
            changes[key] = compare(old_comps[key], comp, old_series, new_series)
        elif key is not None and old_master is not None:
            changes[key] = compare_instance(old_master, comp, new_series)
        else:
            changes[key] = Changes()

    _set_sequences(new_comps, before, changes, old is None, sequence_floor)
    forced = _maintain_lines(new_comps, before, changes, org, merge_partstats)

    messages: list[ItipMessage] = []
    skipped: list[Skipped] = []
    reverted = _reverted_overrides(old_comps, new_comps, new_series)
    requests: dict[object, tuple[Calendar, int, str]] = {}  # one REQUEST per instance set
    for address in _addresses(stored, old):
        if address == org or address == normalize_address(organizer):
            continue
        planned = _plan_attendee(
            address, old, stored, old_comps, new_comps, changes, forced, reverted, org, now,
            requests,
        )
        if not planned:
            continue
        line = _any_line(address, stored, old)
        if not server_schedules(line):
            agent = schedule_agent(line)
            skipped.extend(
                Skipped(address, f"SCHEDULE-AGENT={agent}: the client schedules; not sent: "
                        f"{m.method} ({m.reason})")
                for m in planned
            )
            continue
        if not is_mailable(address):
            skipped.append(Skipped(address, "not a deliverable mailto: address"))
            _set_status(new_comps.values(), address, ScheduleStatus.INVALID_ADDRESS)
            continue
        messages.extend(planned)
        for message in planned:
            keys = _message_keys(message, new_comps)
            _set_status((new_comps[k] for k in keys), address, ScheduleStatus.PENDING)

    for comp in new_comps.values():
        strip_private(comp)
    master = new_comps.get(None) or _first(stored)
    described = [
        changes[k].describe("" if k is None else f"instance {label(k)}: ")
        for k in new_comps
        if changes[k]
    ]
    return OrganizerPlan(
        stored=stored,
        messages=tuple(messages),
        skipped=tuple(skipped),
        significant=any(c.significant for c in changes.values()),
        sequence=sequence_of(master),
        changes=tuple(described),
    )


# -- delete -----------------------------------------------------------------


def _plan_delete(
    old: Calendar | None, organizer: str, now: datetime, sequence_floor: int
) -> OrganizerPlan:
    """DELETE by the organizer: CANCEL to everyone still invited, SEQUENCE + 1.

    RFC 5546 §3.2.5; the higher SEQUENCE makes clients take the CANCEL even if
    they missed the last update.
    """
    if old is None or not _has_attendees(old):
        return OrganizerPlan(stored=None)
    _check_organizer(old, organizer)
    org = organizer_of(old) or normalize_address(organizer)
    comps = by_key(old)
    sequence = max([sequence_of(c) for c in comps.values()] + [sequence_floor]) + 1
    if is_cancelled(comps.get(None)):  # everyone already had a CANCEL
        return OrganizerPlan(stored=None, sequence=sequence)
    messages: list[ItipMessage] = []
    skipped: list[Skipped] = []
    for address in _addresses(old, None):
        if address in (org, normalize_address(organizer)):
            continue
        active = {k for k, c in comps.items() if find_attendee(c, address) and not is_cancelled(c)}
        if not active:
            continue
        line = _any_line(address, old, None)
        if not server_schedules(line):
            skipped.append(Skipped(address, f"SCHEDULE-AGENT={schedule_agent(line)}: the client "
                                   "schedules; not sent: CANCEL (event deleted)"))
            continue
        if not is_mailable(address):
            skipped.append(Skipped(address, "not a deliverable mailto: address"))
            continue
        keys = {None} if None in active else active
        messages.append(
            build_cancel(old, address, keys, now=now, reason="event deleted", sender=org,
                         sequence=sequence)
        )
    return OrganizerPlan(
        stored=None, messages=tuple(messages), skipped=tuple(skipped), significant=True,
        sequence=sequence, changes=("event deleted",),
    )


# -- the stored copy ----------------------------------------------------------


def _first(cal: Calendar) -> Component | None:
    comps = schedulable(cal)
    return comps[0] if comps else None


def _has_attendees(cal: Calendar) -> bool:
    return any(attendee_lines(c) for c in schedulable(cal))


def _check_organizer(cal: Calendar, organizer: str) -> None:
    org = organizer_of(cal)
    if org is not None and org != normalize_address(organizer):
        raise NotOrganizer(f"ORGANIZER is {org}, not {normalize_address(organizer)}")


def _ensure_organizer(stored: Calendar, organizer: str) -> str | None:
    """Make ORGANIZER explicit on every component; None if nothing is scheduled.

    An object with attendees but no ORGANIZER (the walkthrough's PUT) is
    organized by the user who stores it.
    """
    if not _has_attendees(stored):
        return None
    _check_organizer(stored, organizer)
    line = organizer_line(stored)
    if line is None:
        line = vCalAddress(normalize_address(organizer))
        own = next(
            (a for c in schedulable(stored) if (a := find_attendee(c, organizer)) is not None),
            None,
        )
        if own is not None and param(own, "CN"):
            line.params["CN"] = param(own, "CN")
    for comp in schedulable(stored):
        if comp.get("ORGANIZER") is None:
            comp.add("ORGANIZER", vCalAddress(str(line), params=dict(line.params)), encode=False)
    return normalize_address(line)


Before = Callable[[Key | None], Component | None]


def _set_sequences(
    comps: dict[Key | None, Component],
    before: Before,
    changes: dict[Key | None, Changes],
    created: bool,
    floor: int,
) -> None:
    """SEQUENCE per component: never down, +1 on a significant change the client did not count.

    RFC 5546 §2.1.4; CCS ``bumpiTIPInfo`` and ``sequenceInSync``.
    """
    for key, comp in comps.items():
        client = sequence_of(comp)
        prior = before(key)
        seq = client
        if prior is not None:
            stored = sequence_of(prior)
            seq = max(client, stored)
            if changes[key].significant and client <= stored:
                seq = stored + 1
        if created and floor > 0:
            seq = max(seq, floor + 1)
        elif not created:
            seq = max(seq, floor)
        comp.pop("SEQUENCE", None)
        comp.add("SEQUENCE", seq)


def _maintain_lines(
    comps: dict[Key | None, Component],
    before: Before,
    changes: dict[Key | None, Changes],
    org: str,
    merge_partstats: bool,
) -> set[str]:
    """Tidy every ATTENDEE line of the new copy; return who asked for a forced send.

    Duplicates (``MAILTO:`` vs ``mailto:``) collapse into the first line;
    bookkeeping and SCHEDULE-STATUS survive a client that dropped them;
    PARTSTAT spellings become RFC spellings; significant changes reset.
    """
    forced: set[str] = set()
    for key, comp in comps.items():
        prior = before(key)
        reset = bool(changes[key].significant) and not is_cancelled(comp)
        lines: list[vCalAddress] = []
        seen: set[str] = set()
        for line in attendee_lines(comp):
            address = normalize_address(line)
            if not address or address in seen:
                continue
            seen.add(address)
            previous = find_attendee(prior, address) if prior is not None else None
            if previous is not None:
                _carry_over(line, previous, merge_partstats)
            if (param(line, SCHEDULE_FORCE_SEND) or "").upper() == "REQUEST":
                forced.add(address)
            if "PARTSTAT" in line.params or previous is None:
                line.params["PARTSTAT"] = canonical_partstat(param(line, "PARTSTAT"))
            if address == org:
                if effective_partstat(param(line, "PARTSTAT")) == NEEDS_ACTION:
                    line.params["PARTSTAT"] = ACCEPTED
                line.params.pop("RSVP", None)
            elif server_schedules(line):
                if reset:
                    line.params["PARTSTAT"] = NEEDS_ACTION
                    line.params["RSVP"] = "TRUE"
                elif effective_partstat(param(line, "PARTSTAT")) == NEEDS_ACTION:
                    line.params.setdefault("RSVP", "TRUE")
            lines.append(line)
        set_attendee_lines(comp, lines)
    return forced


def _carry_over(line: vCalAddress, previous: vCalAddress, merge_partstats: bool) -> None:
    for name, value in previous.params.items():
        upper = name.upper()
        keep = upper.startswith(BOOKKEEPING_PREFIX) or upper == SCHEDULE_STATUS
        if merge_partstats and upper in ("PARTSTAT", "RSVP", "DELEGATED-TO", "DELEGATED-FROM"):
            line.params[name] = value
        elif keep and name not in line.params:
            line.params[name] = value
    if merge_partstats:
        for name in list(line.params):
            upper = name.upper()
            if upper in ("RSVP",) or upper.startswith(BOOKKEEPING_PREFIX):
                if name not in previous.params:
                    del line.params[name]


def _set_status(comps: Iterable[Component], address: str, status: str) -> None:
    for comp in comps:
        line = find_attendee(comp, address)
        if line is not None:
            line.params[SCHEDULE_STATUS] = status


# -- per attendee -------------------------------------------------------------


def _addresses(first: Calendar, second: Calendar | None) -> list[str]:
    """Every attendee of both versions, in order of appearance."""
    seen: dict[str, None] = {}
    for cal in (first, second):
        for comp in schedulable(cal) if cal is not None else ():
            for line in attendee_lines(comp):
                if address := normalize_address(line):
                    seen.setdefault(address, None)
    return list(seen)


def _any_line(address: str, first: Calendar, second: Calendar | None) -> vCalAddress:
    for cal in (first, second):
        for comp in schedulable(cal) if cal is not None else ():
            line = find_attendee(comp, address)
            if line is not None:
                return line
    raise LookupError(address)


def _active(comps: dict[Key | None, Component], address: str) -> set[Key | None]:
    """The components an attendee is in and that are not cancelled."""
    if is_cancelled(comps.get(None)):
        return set()
    return {k for k, c in comps.items() if find_attendee(c, address) is not None and not is_cancelled(c)}


def _reverted_overrides(
    old_comps: dict[Key | None, Component],
    new_comps: dict[Key | None, Component],
    series: Series,
) -> dict[Key, Changes]:
    """Overrides the organizer removed: the instance goes back to the series."""
    master = new_comps.get(None)
    if master is None:
        return {}
    excluded = date_keys(master, "EXDATE", series)
    return {
        k: compare_instance(master, c, series)
        for k, c in old_comps.items()
        if k is not None and k not in new_comps and k not in excluded
    }


def _plan_attendee(
    address: str,
    old: Calendar | None,
    stored: Calendar,
    old_comps: dict[Key | None, Component],
    new_comps: dict[Key | None, Component],
    changes: dict[Key | None, Changes],
    forced: set[str],
    reverted: dict[Key, Changes],
    org: str,
    now: datetime,
    requests: dict[object, tuple[Calendar, int, str]],
) -> list[ItipMessage]:
    """The messages one attendee needs, CANCELs before the REQUEST."""
    was = _active(old_comps, address)
    now_in = _active(new_comps, address)
    new_master = new_comps.get(None)

    def saw(key: Key | None) -> bool:
        if key in old_comps:
            return key in was
        return key is not None and None in was  # the instance came from the master

    def sees(key: Key | None) -> bool:
        if key in new_comps:
            return key in now_in
        return key is not None and None in now_in

    if not now_in:
        if not was:
            return []
        if is_cancelled(new_master):
            reason = "event cancelled (STATUS:CANCELLED)"
        elif any(find_attendee(c, address) for c in new_comps.values()):
            reason = "instances cancelled (STATUS:CANCELLED)"
        else:
            reason = "attendee removed"
        if None in was:
            source = stored if new_master is not None else old
            assert source is not None
            return [build_cancel(source, address, {None}, now=now, reason=reason, sender=org,
                                 cancelled=reason != "attendee removed",
                                 line=_any_line(address, stored, old))]
        return [_cancel_instances(address, sorted(was, key=label), old, stored, new_comps, now, org)]

    messages: list[ItipMessage] = []
    gone = [
        k for k in {*old_comps, *new_comps}
        if k is not None and saw(k) and not sees(k) and (k in new_comps or None not in now_in)
    ]
    if gone:
        messages.append(_cancel_instances(address, sorted(gone, key=label), old, stored,
                                          new_comps, now, org))

    reasons: list[str] = []
    if not was:
        reasons.append("event reinstated" if old is not None and _in_any(old_comps, address)
                       else "attendee added")
    else:
        for key in sorted(now_in, key=lambda k: "" if k is None else label(k)):
            prefix = "" if key is None else f"instance {label(key)}: "
            if not saw(key):
                reasons.append("added to the series" if key is None
                               else f"added to instance {label(key)}")
            elif changes.get(key):
                reasons.append(changes[key].describe(prefix))
        if None in now_in:
            for key, diff in sorted(reverted.items(), key=lambda kv: label(kv[0])):
                if diff and not saw(key):
                    reasons.append(f"instance {label(key)} restored to the series")
                elif diff:
                    reasons.append(f"instance {label(key)}: override removed")
    if address in forced:
        reasons.append("SCHEDULE-FORCE-SEND=REQUEST")
    if reasons:
        request = build_request(stored, address, now=now, reason="; ".join(reasons), sender=org,
                                shared=requests)
        if request is not None:
            messages.append(request)
    return messages


def _in_any(comps: dict[Key | None, Component], address: str) -> bool:
    return any(find_attendee(c, address) is not None for c in comps.values())


def _cancel_instances(
    address: str,
    keys: list[Key | None],
    old: Calendar | None,
    stored: Calendar,
    new_comps: dict[Key | None, Component],
    now: datetime,
    org: str,
) -> ItipMessage:
    cancelled = [k for k in keys if is_cancelled(new_comps.get(k))]
    labels = ", ".join(label(k) for k in keys)
    whole = bool(cancelled) and len(cancelled) == len(keys)
    if whole:
        reason = f"instance {labels} cancelled (STATUS:CANCELLED)"
    else:
        reason = f"attendee removed from instance {labels}"
    # Describe each instance from the newest data that has it.
    source = stored if all(k in new_comps or None in new_comps for k in keys) else old
    assert source is not None
    return build_cancel(source, address, keys, now=now, reason=reason, sender=org,
                        cancelled=whole, line=_any_line(address, stored, old))


def _message_keys(message: ItipMessage, comps: dict[Key | None, Component]) -> list[Key | None]:
    wanted = set(message.recurrence_ids)
    keys: list[Key | None] = [k for k in comps if k is not None and label(k) in wanted]
    if message.includes_master and None in comps:
        keys.append(None)
    return keys

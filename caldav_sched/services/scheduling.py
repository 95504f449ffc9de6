"""Implicit scheduling on a PUT or DELETE (design.md, "Scheduling rules"; RFC 6638).

``plan_change`` runs the iTIP engine outside the write lock (pure CPU): for
the organizer's copy, the REQUESTs and CANCELs; for an attendee's own copy
of someone else's event, the REPLY their change means.  ``enqueue_plan``
runs inside the write transaction: a message to a user of this server is
delivered at once (``local_delivery``), one to anyone else is queued as a
mail job with the attendee's reply token; each is recorded in the iTIP
history, and the UID's SEQUENCE mark is raised.  The object write and what
it causes commit together, so a crash loses neither.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

import icalendar

from caldav_sched.domain import imip
from caldav_sched.domain.ical import serialise
from caldav_sched.domain.scheduling import (
    ItipMessage,
    Method,
    NotOrganizer,
    Skipped,
    has_instance_after,
    normalize_address,
    organizer_of,
    plan_attendee_change,
    plan_organizer_change,
)
from caldav_sched.domain.timespan import object_span
from caldav_sched.services import local_delivery
from caldav_sched.store import itip as itip_store
from caldav_sched.store import jobs as job_store
from caldav_sched.store.collections import CollectionRow
from caldav_sched.store.db import Connection
from caldav_sched.store.users import UserRow

log = logging.getLogger("caldav_sched.scheduling")

SEND_IMIP = "send_imip"


@dataclass(frozen=True)
class SchedulingPlan:
    """What a write means for the attendees, ready to be queued."""

    stored: icalendar.Calendar | None
    messages: tuple[ItipMessage, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    changes: tuple[str, ...] = ()
    sequence: int = 0
    organizer_name: str | None = None
    uid: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    role: str = "organizer"  # or "attendee": the user's own copy of another's event
    # Recipients who are users of this server, by normalised address.
    local: dict[str, UserRow] = field(default_factory=dict)
    # Each distinct message calendar as it goes on the wire, by id(); attendees
    # who see the same instances share one calendar, so it is serialised once.
    _wire: dict[int, bytes] = field(default_factory=dict, compare=False, repr=False)

    def wire(self, message: ItipMessage) -> bytes:
        """The message's iCalendar octets (RFC 5545 CRLF, folded)."""
        key = id(message.calendar)
        if key not in self._wire:
            self._wire[key] = serialise(message.calendar)
        return self._wire[key]

    def serialise_messages(self) -> None:
        """Serialise every message now, so the write transaction does not."""
        for message in self.messages:
            self.wire(message)


def _has_instance_after(cal: icalendar.Calendar, when: datetime) -> bool:
    """Whether any instance ends after ``when``; the object's span settles most.

    The span bounds every instance, so an object that starts after ``when``
    ends after it and one whose span closed by ``when`` is over; only an
    object under way (or with an open span) is expanded by the engine.
    """
    span_start, span_end = object_span(cal)
    moment = when.timestamp()
    if span_start is not None and span_start > moment:
        return True
    if span_end is not None and span_end <= moment:
        return False
    return has_instance_after(cal, when)


def has_attendees(cal: icalendar.Calendar | None) -> bool:
    """Whether an event or task of the object lists attendees."""
    if cal is None:
        return False
    return any("ATTENDEE" in c for c in cal.subcomponents if c.name in ("VEVENT", "VTODO"))


def _owner_organizes(cal: icalendar.Calendar | None, user: UserRow) -> bool:
    """Whether the user is this object's organizer.

    RFC 6638 schedules objects that name an ORGANIZER.  Some clients (and the
    seed walkthrough) leave ORGANIZER out and list the organizer as an
    attendee; such an object is the owner's to schedule when the owner's own
    address is among its attendees.  An object with attendees but neither an
    ORGANIZER nor the owner (an import, a copy) is plain data.
    """
    if cal is None:
        return False
    if organizer_of(cal) is not None:
        return True  # the engine decides whose it is (NotOrganizer)
    own = normalize_address(f"mailto:{user.email}")
    for comp in cal.subcomponents:
        if comp.name not in ("VEVENT", "VTODO"):
            continue
        attendees = comp.get("ATTENDEE", [])
        for attendee in attendees if isinstance(attendees, list) else [attendees]:
            if normalize_address(attendee) == own:
                return True
    return False


def _organizer_name(cal: icalendar.Calendar | None, user: UserRow) -> str:
    """The organizer's display name for mail: ORGANIZER's CN, else the user name."""
    for comp in cal.subcomponents if cal is not None else []:
        organizer = comp.get("ORGANIZER")
        if organizer is not None and organizer.params.get("CN"):
            return str(organizer.params["CN"])
    return user.name


def plan_change(
    user: UserRow,
    old: icalendar.Calendar | None,
    new: icalendar.Calendar | None,
    *,
    uid: str,
    now: datetime,
    sequence_floor: int,
    merge_partstats: bool = False,
) -> SchedulingPlan | None:
    """The engine's plan, or ``None`` when the write schedules nothing.

    *merge_partstats*: the client matched the Schedule-Tag but not the ETag
    (a reply changed answers since it read), so the stored answers win
    (RFC 6638 §3.2.10).
    """
    if not (has_attendees(old) or has_attendees(new)):
        return None
    if organizer_of(new if new is not None else old) is None and not (
        _owner_organizes(new, user) or _owner_organizes(old, user)
    ):
        return None
    subject = new if new is not None else old
    assert subject is not None
    if not _has_instance_after(subject, now) and (old is None or not _has_instance_after(old, now)):
        # Anchors 6.7 #46: nobody wants mail about a meeting that is over.
        return SchedulingPlan(
            stored=new,
            uid=uid,
            notes=("no mail: the event lies entirely in the past",),
        )
    try:
        plan = plan_organizer_change(
            old,
            new,
            organizer=f"mailto:{user.email}",
            now=now,
            sequence_floor=sequence_floor,
            merge_partstats=merge_partstats,
        )
    except NotOrganizer:
        # Another organizer's event in this user's calendar: the user's own
        # copy as an attendee; a changed answer (or a delete) is a REPLY.
        reply = plan_attendee_change(old, new, attendee=f"mailto:{user.email}", now=now)
        return SchedulingPlan(
            stored=reply.stored if new is not None else None,
            messages=reply.messages,
            uid=uid,
            role="attendee",
            organizer_name=user.name,
        )
    return SchedulingPlan(
        stored=plan.stored,
        messages=plan.messages,
        skipped=plan.skipped,
        changes=plan.changes,
        sequence=plan.sequence,
        organizer_name=_organizer_name(new or old, user),
        uid=uid,
    )


async def _token_for(
    conn: Connection, user: UserRow, uid: str, attendee: str, method: Method, now: str
) -> str:
    row = await itip_store.token_for(conn, user.id, uid, attendee)
    if row is None:
        token = imip.new_token(os.urandom(20))
        await itip_store.insert_token(
            conn, token=token, owner_id=user.id, uid=uid, attendee=attendee, now=now
        )
        return token
    # A new invitation brings a revoked attendee back; a CANCEL closes the door.
    if method == Method.REQUEST and row.revoked_at is not None:
        await itip_store.set_token_revoked(conn, row.token, None)
    return row.token


async def enqueue_plan(
    conn: Connection,
    plan: SchedulingPlan,
    *,
    user: UserRow,
    collection: CollectionRow,
    now: str,
    now_epoch: int,
    clock_now: datetime | None = None,
) -> int:
    """Deliver or queue the plan's messages inside the caller's transaction.

    Returns the number of mail jobs queued (the caller wakes the workers).
    """
    moment = clock_now or datetime.fromtimestamp(now_epoch, timezone.utc)
    for note in plan.notes:
        await _log(conn, user, plan, "-", "-", None, "skipped", note, now)
    for skipped in plan.skipped:
        await _log(conn, user, plan, "-", skipped.recipient, plan.sequence, "skipped",
                   skipped.reason, now)
    jobs = 0
    for message in plan.messages:
        recipient = normalize_address(message.recipient)
        local = plan.local.get(recipient)
        if local is not None:
            if message.method == Method.REPLY:
                outcome = await local_delivery.deliver_reply_to_organizer(
                    conn, message, local, now=moment, stamp=now
                )
            else:
                outcome = await local_delivery.deliver_to_attendee(
                    conn, message, local, now=moment, stamp=now
                )
            state = "delivered" if outcome.delivered else "failed"
            await _log(conn, user, plan, str(message.method), recipient, message.sequence, state,
                       f"{message.reason}: {outcome.reason}" if outcome.delivered
                       else f"local delivery refused: {outcome.reason}", now)
            if not local.also_email:
                continue
        jobs += await _queue_mail(conn, plan, message, recipient, user, collection, now, now_epoch)
    if plan.sequence:
        await itip_store.raise_sequence_mark(conn, user.id, plan.uid, plan.sequence)
    if plan.messages:
        log.info(
            "%s: %s",
            plan.uid,
            ", ".join(f"{m.method} to {normalize_address(m.recipient)}" for m in plan.messages),
        )
    return jobs


async def _log(
    conn: Connection,
    user: UserRow,
    plan: SchedulingPlan,
    method: str,
    peer: str,
    sequence: int | None,
    state: str,
    reason: str,
    now: str,
    job_id: int | None = None,
) -> None:
    await itip_store.add_log(
        conn,
        owner_id=user.id,
        uid=plan.uid,
        direction="out",
        method=method,
        peer=peer,
        sequence=sequence,
        state=state,
        reason=reason,
        now=now,
        job_id=job_id,
    )


async def _queue_mail(
    conn: Connection,
    plan: SchedulingPlan,
    message: ItipMessage,
    recipient: str,
    user: UserRow,
    collection: CollectionRow,
    now: str,
    now_epoch: int,
) -> int:
    if message.method == Method.REPLY:
        # An attendee's answer to an outside organizer: no token, From ours.
        token = ""
        organizer_name, organizer_address = None, recipient.removeprefix("mailto:")
    else:
        token = await _token_for(conn, user, plan.uid, recipient, message.method, now)
        organizer_name, organizer_address = plan.organizer_name, user.email
    job_id = await job_store.enqueue(
        conn,
        kind=SEND_IMIP,
        payload={
            "owner_id": user.id,
            "collection_id": collection.id,
            "uid": plan.uid,
            "method": str(message.method),
            "recipient": recipient,
            "sender": message.sender,
            "sequence": message.sequence,
            "recurrence_ids": list(message.recurrence_ids),
            "includes_master": message.includes_master,
            "reason": message.reason,
            "changes": list(plan.changes),
            "token": token,
            "organizer_name": organizer_name,
            "organizer_address": organizer_address,
            "calendar": plan.wire(message).decode("utf-8"),
        },
        run_after=now_epoch,
        now=now,
        uid=plan.uid,
    )
    await _log(conn, user, plan, str(message.method), recipient, message.sequence, "queued",
               message.reason, now, job_id)
    if message.method == Method.CANCEL and message.includes_master:
        row = await itip_store.token_for(conn, user.id, plan.uid, recipient)
        if row is not None and row.revoked_at is None:
            await itip_store.set_token_revoked(conn, row.token, now)
    return 1

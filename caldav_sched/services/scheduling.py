"""Implicit scheduling on an organizer's PUT or DELETE (design.md, "Scheduling rules").

``plan_change`` runs the iTIP engine outside the write lock (pure CPU);
``enqueue_plan`` runs inside the write transaction: it issues or reuses each
attendee's reply token, queues one delivery job per message, records each
message (and each attendee deliberately not mailed) in the iTIP history,
and raises the UID's SEQUENCE mark.  The object write and its jobs commit
together, so a crash loses neither.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime

import icalendar

from caldav_sched.domain import imip
from caldav_sched.domain.scheduling import (
    ItipMessage,
    Method,
    NotOrganizer,
    Skipped,
    has_instance_after,
    normalize_address,
    organizer_of,
    plan_organizer_change,
)
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


def _has_attendees(cal: icalendar.Calendar | None) -> bool:
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
    for comp in (cal.subcomponents if cal is not None else []):
        organizer = comp.get("ORGANIZER") if hasattr(comp, "get") else None
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
) -> SchedulingPlan | None:
    """The engine's plan, or ``None`` when the write is not the user's scheduling."""
    if not (_has_attendees(old) or _has_attendees(new)):
        return None
    if not (_owner_organizes(new, user) or _owner_organizes(old, user)):
        return None
    subject = new if new is not None else old
    assert subject is not None
    if not has_instance_after(subject, now) and (old is None or not has_instance_after(old, now)):
        # Anchors 6.7 #46: nobody wants mail about a meeting that is over.
        return SchedulingPlan(
            stored=new,
            uid=uid,
            notes=("no mail: the event lies entirely in the past",),
        )
    try:
        plan = plan_organizer_change(
            old, new, organizer=f"mailto:{user.email}", now=now, sequence_floor=sequence_floor
        )
    except NotOrganizer:
        # Another organizer's event in this user's calendar: an attendee copy.
        return None
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
) -> int:
    """Queue the plan's messages inside the caller's transaction; returns the job count."""
    for note in plan.notes:
        await itip_store.add_log(
            conn,
            owner_id=user.id,
            uid=plan.uid,
            direction="out",
            method="-",
            peer="-",
            sequence=None,
            state="skipped",
            reason=note,
            now=now,
        )
    for skipped in plan.skipped:
        await itip_store.add_log(
            conn,
            owner_id=user.id,
            uid=plan.uid,
            direction="out",
            method="-",
            peer=skipped.recipient,
            sequence=plan.sequence,
            state="skipped",
            reason=skipped.reason,
            now=now,
        )
    for message in plan.messages:
        attendee = normalize_address(message.recipient)
        token = await _token_for(conn, user, plan.uid, attendee, message.method, now)
        job_id = await job_store.enqueue(
            conn,
            kind=SEND_IMIP,
            payload={
                "owner_id": user.id,
                "collection_id": collection.id,
                "uid": plan.uid,
                "method": str(message.method),
                "recipient": attendee,
                "sequence": message.sequence,
                "recurrence_ids": list(message.recurrence_ids),
                "includes_master": message.includes_master,
                "reason": message.reason,
                "changes": list(plan.changes),
                "token": token,
                "organizer_name": plan.organizer_name,
                "organizer_address": user.email,
                "calendar": message.to_ical().decode("utf-8"),
            },
            run_after=now_epoch,
            now=now,
            uid=plan.uid,
        )
        await itip_store.add_log(
            conn,
            owner_id=user.id,
            uid=plan.uid,
            direction="out",
            method=str(message.method),
            peer=attendee,
            sequence=message.sequence,
            state="queued",
            reason=message.reason,
            now=now,
            job_id=job_id,
        )
        if message.method == Method.CANCEL and message.includes_master:
            row = await itip_store.token_for(conn, user.id, plan.uid, attendee)
            if row is not None and row.revoked_at is None:
                await itip_store.set_token_revoked(conn, row.token, now)
    if plan.sequence:
        await itip_store.raise_sequence_mark(conn, user.id, plan.uid, plan.sequence)
    if plan.messages:
        log.info(
            "%s: queued %s",
            plan.uid,
            ", ".join(f"{m.method} to {normalize_address(m.recipient)}" for m in plan.messages),
        )
    return len(plan.messages)

"""Scheduling between users of this server (RFC 6638 §3.2, §4): no mail.

Runs inside the caller's write transaction, so the organizer's write and
every attendee copy it changes commit together:

* ``deliver_to_attendee`` applies a REQUEST or CANCEL to a local attendee:
  the message is kept in their scheduling inbox (one item per event, the
  newest message), and their own copy in their calendar is created or
  updated by the iTIP engine (their alarms, TRANSP and answer survive a
  change that does not reschedule; a CANCEL marks it cancelled).  The copy
  gets a new Schedule-Tag, since the organizer changed it.
* ``deliver_reply_to_organizer`` applies a local attendee's REPLY to a local
  organizer's copy at once: new ETag, same Schedule-Tag (RFC 6638 §3.2.10).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

import icalendar

from caldav_sched.domain.ical import etag_for, parse_calendar, serialise
from caldav_sched.domain.scheduling import (
    ItipMessage,
    ReplyRefused,
    apply_organizer_message,
    apply_reply,
)
from caldav_sched.domain.time_index import time_index
from caldav_sched.store import collections as collection_store
from caldav_sched.store import objects as object_store
from caldav_sched.store.db import Connection
from caldav_sched.store.objects import ObjectRow
from caldav_sched.store.users import UserRow

log = logging.getLogger("caldav_sched.scheduling")

DEFAULT_CALENDAR = "event"


@dataclass(frozen=True)
class LocalOutcome:
    delivered: bool
    reason: str


def schedule_tag_for(data: bytes) -> str:
    """A Schedule-Tag that changes exactly when scheduling changes the object."""
    return '"s' + etag_for(data).strip('"') + '"'


async def _write(
    conn: Connection,
    *,
    collection_id: int,
    name: str,
    cal: icalendar.Calendar,
    uid: str,
    component: str,
    now: str,
    schedule_tag: str | None,
    data: bytes | None = None,
) -> None:
    data = data if data is not None else serialise(cal)
    index = time_index(cal, datetime.fromisoformat(now))
    await object_store.write_object(
        conn,
        collection_id=collection_id,
        name=name,
        uid=uid,
        component=component,
        etag=etag_for(data),
        data=data,
        index=index,
        modified_at=now,
        schedule_tag=schedule_tag,
    )


def _component(cal: icalendar.Calendar) -> str:
    return next(
        (c.name for c in cal.subcomponents if c.name in ("VEVENT", "VTODO", "VJOURNAL")), "VEVENT"
    )


async def _inbox_item(conn: Connection, user: UserRow, message: ItipMessage, now: str) -> None:
    inbox = await collection_store.get_collection(conn, user.name, "inbox")
    if inbox is None:
        return
    name = await object_store.name_for_uid(conn, inbox.id, message.uid)
    data = serialise(message.calendar)
    await _write(
        conn,
        collection_id=inbox.id,
        name=name or f"{uuid.uuid4().hex}.ics",
        cal=message.calendar,
        uid=message.uid,
        component=_component(message.calendar),
        now=now,
        schedule_tag=None,
        data=data,
    )


async def _home_calendar(conn: Connection, user: UserRow, component: str) -> int | None:
    """The user's default calendar, or their first one that takes the component."""
    default = await collection_store.get_collection(conn, user.name, DEFAULT_CALENDAR)
    if default is not None and component in default.components:
        return default.id
    for row in await collection_store.list_collections(conn, user.name):
        if row.kind == "calendar" and component in row.components:
            return row.id
    return None


async def deliver_to_attendee(
    conn: Connection,
    message: ItipMessage,
    user: UserRow,
    *,
    now: datetime,
    stamp: str,
) -> LocalOutcome:
    """A REQUEST or CANCEL into a local attendee's inbox and calendar."""
    attendee = f"mailto:{user.email}"
    current = await object_store.find_owned_object(conn, user.id, message.uid)
    copy = parse_calendar(current.data) if current is not None and current.data else None
    result = apply_organizer_message(copy, message.calendar, attendee=attendee, now=now)
    if isinstance(result, ReplyRefused):
        return LocalOutcome(False, f"{result.code}: {result.reason}")
    await _inbox_item(conn, user, message, stamp)
    if result.stored is None:
        return LocalOutcome(True, result.reason)
    component = _component(result.stored)
    data = serialise(result.stored)
    tag = schedule_tag_for(data)
    if current is not None:
        await _write(
            conn, collection_id=current.collection_id, name=current.name, cal=result.stored,
            uid=message.uid, component=component, now=stamp, schedule_tag=tag, data=data,
        )
        return LocalOutcome(True, result.reason)
    collection_id = await _home_calendar(conn, user, component)
    if collection_id is None:
        return LocalOutcome(False, f"{user.name} has no calendar for a {component}")
    await _write(
        conn, collection_id=collection_id, name=f"{uuid.uuid4().hex}.ics", cal=result.stored,
        uid=message.uid, component=component, now=stamp, schedule_tag=tag, data=data,
    )
    return LocalOutcome(True, result.reason)


async def deliver_reply_to_organizer(
    conn: Connection,
    message: ItipMessage,
    organizer: UserRow,
    *,
    now: datetime,
    stamp: str,
) -> LocalOutcome:
    """A local attendee's REPLY applied to a local organizer's copy."""
    current: ObjectRow | None = await object_store.find_owned_object(conn, organizer.id, message.uid)
    stored = parse_calendar(current.data) if current is not None and current.data else None
    result = apply_reply(stored, message.calendar, now=now)
    if isinstance(result, ReplyRefused):
        return LocalOutcome(False, f"{result.code}: {result.reason}")
    assert current is not None
    if not result.changed:
        return LocalOutcome(True, "already applied")
    await _write(
        conn, collection_id=current.collection_id, name=current.name, cal=result.stored,
        uid=current.uid, component=current.component, now=stamp,
        schedule_tag=current.schedule_tag,
    )
    await _inbox_item(conn, organizer, message, stamp)
    return LocalOutcome(True, result.reason)

"""Use cases for calendar object resources: store one, delete one.

Parsing, validation and the scheduling plan happen before the write
transaction (CPU work that needs no lock), against the version read just
before.  Inside the transaction the stored version is checked again: if
someone changed it meanwhile (a reply, another client) the plan is made
again on the new version, so nothing is planned on stale data.  The
conditional check, the UID check, the write and the scheduling jobs then
commit together.  An object without attendees that replaces nothing
scheduled (most writes) skips the plan: its checks and write are one
function in the writer's thread.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sqlite3
from dataclasses import dataclass

from caldav_sched.domain.conditions import (
    Preconditions,
    preconditions_hold,
    schedule_tag_holds,
)
from caldav_sched.domain.scheduling import ScheduleStatus, normalize_address, set_schedule_status
from caldav_sched.domain.ical import CalendarObject, etag_for, parse_calendar, parse_object, serialise
from caldav_sched.domain.time_index import time_index
from caldav_sched.domain.timespan import exceeds_instances_per_year
from caldav_sched.services import Services
from caldav_sched.services import scheduling
from caldav_sched.services import users as user_service
from caldav_sched.services.local_delivery import schedule_tag_for
from caldav_sched.services.names import is_storable_name
from caldav_sched.services.errors import (
    ComponentNotSupported,
    InvalidInput,
    NotAllowed,
    NotFound,
    PreconditionFailed,
    ResourceTooLarge,
    TooManyInstances,
    Contention,
    UidInUse,
)
from caldav_sched.store import itip as itip_store
from caldav_sched.store import objects as object_store
from caldav_sched.store.collections import CollectionRow
from caldav_sched.store.db import Connection
from caldav_sched.store.errors import UidConflict
from caldav_sched.store.objects import ObjectRow
from caldav_sched.store.users import UserRow

log = logging.getLogger("caldav_sched.objects")

ATTEMPTS = 5


@dataclass(frozen=True)
class PutOutcome:
    created: bool
    etag: str
    jobs: int = 0
    schedule_tag: str | None = None


def check_name(name: str) -> None:
    """A resource name this server stores (``services.names``)."""
    if not is_storable_name(name):
        raise InvalidInput(f"invalid resource name {name!r}")


def _same_version(a: ObjectRow | None, b: ObjectRow | None) -> bool:
    return (a.etag if a else None) == (b.etag if b else None)


def _mentions_attendees(data: bytes | None) -> bool:
    """Whether stored data may hold attendees (a cheap test before parsing it)."""
    return data is not None and re.search(rb"(?im)^attendee[;:]", data) is not None


async def _plan(
    services: Services,
    user: UserRow,
    collection: CollectionRow,
    current: ObjectRow | None,
    obj: CalendarObject | None,
    uid: str,
    preconditions: Preconditions,
) -> scheduling.SchedulingPlan | None:
    if collection.kind != "calendar":
        return None  # scheduling inbox items are messages, not events
    previous = current.data if current is not None and current.uid == uid else None
    if not _mentions_attendees(previous) and not (
        obj is not None and scheduling.has_attendees(obj.calendar)
    ):
        return None  # the common case: nothing to schedule, nothing more to read
    old = parse_calendar(previous) if previous is not None else None
    floor = await itip_store.sequence_mark(services.db.reader(), user.id, uid)
    plan = scheduling.plan_change(
        user,
        old,
        obj.calendar if obj is not None else None,
        uid=uid,
        now=services.clock.now(),
        sequence_floor=floor,
        merge_partstats=preconditions.if_schedule_tag_match is not None,
    )
    if plan is None or not plan.messages:
        return plan
    plan = await _with_local_recipients(services, plan)
    plan.serialise_messages()
    return plan


async def _with_local_recipients(
    services: Services, plan: scheduling.SchedulingPlan
) -> scheduling.SchedulingPlan:
    """Find the recipients who are users here; they are delivered to directly (1.2)."""
    users = await user_service.local_users(services, (m.recipient for m in plan.messages))
    local = {}
    for message in plan.messages:
        user = users.get(user_service.mailbox_of(message.recipient))
        if user is not None:
            local[normalize_address(message.recipient)] = user
    stored = plan.stored
    if stored is not None and plan.role == "organizer":
        for address in local:
            stored = set_schedule_status(stored, address, str(ScheduleStatus.DELIVERED))
    return dataclasses.replace(plan, local=local, stored=stored)


def _schedule_tag(
    plan: scheduling.SchedulingPlan | None, current: ObjectRow | None, data: bytes
) -> str | None:
    """RFC 6638 §3.2.10: the organizer's change moves the tag; an attendee's own does not."""
    if plan is None:
        return current.schedule_tag if current is not None else None
    if plan.role == "attendee" and current is not None and current.schedule_tag:
        return current.schedule_tag
    return schedule_tag_for(data)


async def put_object(
    services: Services,
    user: UserRow,
    collection: CollectionRow,
    name: str,
    body: bytes,
    preconditions: Preconditions,
) -> PutOutcome:
    """Create or replace one calendar object resource (RFC 4791 5.3.2)."""
    check_name(name)
    if collection.kind != "calendar":
        raise NotAllowed("objects are stored in calendar collections only")
    if len(body) > services.settings.limits.max_resource_size:
        raise ResourceTooLarge(
            f"the object is {len(body)} bytes; this server stores at most "
            f"{services.settings.limits.max_resource_size}"
        )
    obj = parse_object(body)
    if obj.component not in collection.components:
        raise ComponentNotSupported(f"this calendar does not take {obj.component}")
    limit = services.settings.limits.max_instances
    if exceeds_instances_per_year(obj.calendar, limit):
        raise TooManyInstances(
            f"a recurrence rule repeats more than {limit} times within a year; "
            "this server stores at most that many (CALDAV:max-instances)"
        )
    if not scheduling.has_attendees(obj.calendar):
        outcome = await _put_unscheduled(services, collection, name, obj, preconditions)
        if outcome is not None:
            return outcome
    reader = services.db.reader()
    for _ in range(ATTEMPTS):
        current = await object_store.get_object(reader, collection.id, name)
        _check_preconditions(preconditions, current)
        plan = await _plan(services, user, collection, current, obj, obj.uid, preconditions)
        data = obj.data
        calendar = obj.calendar
        if plan is not None and plan.stored is not None and plan.stored is not obj.calendar:
            data = serialise(plan.stored)
            calendar = plan.stored
        index = time_index(calendar, services.clock.now())
        etag = etag_for(data)
        schedule_tag = _schedule_tag(plan, current, data)
        now = services.timestamp()

        async def work(conn: Connection) -> int | None:
            latest = await object_store.get_object(conn, collection.id, name, with_data=False)
            if not _same_version(latest, current):
                return None
            try:
                await object_store.write_object(
                    conn,
                    collection_id=collection.id,
                    name=name,
                    uid=obj.uid,
                    component=obj.component,
                    etag=etag,
                    data=data,
                    index=index,
                    modified_at=now,
                    schedule_tag=schedule_tag,
                )
            except UidConflict as exc:
                raise UidInUse(exc.name) from exc
            return await _enqueue(conn, services, plan, user, collection, now)

        # The write, its tokens, jobs and history: one trip to the writer's thread.
        jobs = await services.db.in_writer(work)
        if jobs is None:
            continue
        if jobs:
            services.jobs_enqueued()
        return PutOutcome(
            created=current is None, etag=etag, jobs=jobs, schedule_tag=schedule_tag
        )
    raise Contention()


async def _put_unscheduled(
    services: Services,
    collection: CollectionRow,
    name: str,
    obj: CalendarObject,
    preconditions: Preconditions,
) -> PutOutcome | None:
    """Store an object without attendees in one transaction and one trip to the writer.

    The common write: nothing to schedule unless the version it replaces was
    a scheduled one (its attendees must hear of the change); then this
    returns None, having written nothing, and ``put_object`` plans it.
    """
    index = time_index(obj.calendar, services.clock.now())
    etag = etag_for(obj.data)
    now = services.timestamp()

    def work(raw: sqlite3.Connection) -> PutOutcome | None:
        current, uid_holder = object_store.get_object_and_uid_holder_blocking(
            raw, collection.id, name, obj.uid
        )
        _check_preconditions(preconditions, current)
        if current is not None and current.uid == obj.uid and _mentions_attendees(current.data):
            return None
        schedule_tag = current.schedule_tag if current is not None else None
        try:
            object_store.write_object_blocking(
                raw,
                collection_id=collection.id,
                name=name,
                uid=obj.uid,
                component=obj.component,
                etag=etag,
                data=obj.data,
                index=index,
                modified_at=now,
                schedule_tag=schedule_tag,
                replaces=current is not None,
                uid_holder=uid_holder,
            )
        except UidConflict as exc:
            raise UidInUse(exc.name) from exc
        return PutOutcome(created=current is None, etag=etag, schedule_tag=schedule_tag)

    return await services.db.write(work, collection=collection.id)


async def _enqueue(
    conn: Connection,
    services: Services,
    plan: scheduling.SchedulingPlan | None,
    user: UserRow,
    collection: CollectionRow,
    now: str,
) -> int:
    """The plan's deliveries and mail jobs in the caller's transaction; jobs queued."""
    if plan is None:
        return 0
    clock_now = services.clock.now()
    return await scheduling.enqueue_plan(
        conn, plan, user=user, collection=collection, now=now,
        now_epoch=int(clock_now.timestamp()), clock_now=clock_now,
    )


def _check_preconditions(preconditions: Preconditions, current: ObjectRow | None) -> None:
    if not preconditions_hold(preconditions, current.etag if current else None):
        raise PreconditionFailed(
            "the resource exists" if current else "the resource does not exist"
        )
    if not schedule_tag_holds(preconditions, current.schedule_tag if current else None):
        raise PreconditionFailed("the Schedule-Tag does not match")


async def delete_object(
    services: Services,
    user: UserRow,
    collection: CollectionRow,
    name: str,
    preconditions: Preconditions,
) -> int:
    """Delete one object; an organizer's delete cancels the event for everyone."""
    reader = services.db.reader()
    for _ in range(ATTEMPTS):
        current = await object_store.get_object(reader, collection.id, name)
        if current is None:
            raise NotFound(f"no resource named {name}")
        if not preconditions_hold(preconditions, current.etag):
            raise PreconditionFailed("the entity tag does not match")
        if not schedule_tag_holds(preconditions, current.schedule_tag):
            raise PreconditionFailed("the Schedule-Tag does not match")
        plan = await _plan(services, user, collection, current, None, current.uid, preconditions)

        async def work(conn: Connection) -> int | None:
            latest = await object_store.get_object(conn, collection.id, name, with_data=False)
            if not _same_version(latest, current):
                return None
            await object_store.delete_object(conn, collection.id, name)
            return await _enqueue(conn, services, plan, user, collection, services.timestamp())

        # Nobody to tell: the delete writes this collection's rows only.
        jobs = await services.db.in_writer(
            work, collection=collection.id if plan is None else None
        )
        if jobs is None:
            continue
        if jobs:
            services.jobs_enqueued()
        return jobs
    raise Contention()

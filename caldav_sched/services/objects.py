"""Use cases for calendar object resources: store one, delete one.

Parsing, validation and the scheduling plan happen before the write
transaction (CPU work that needs no lock), against the version read just
before.  Inside the transaction the stored version is checked again: if
someone changed it meanwhile (a reply, another client) the plan is made
again on the new version, so nothing is planned on stale data.  The
conditional check, the UID check, the write and the scheduling jobs then
commit together.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from caldav_sched.domain.conditions import Preconditions, preconditions_hold
from caldav_sched.domain.ical import CalendarObject, etag_for, parse_calendar, parse_object, serialise
from caldav_sched.domain.timespan import object_span
from caldav_sched.services import Services
from caldav_sched.services import scheduling
from caldav_sched.services.errors import (
    ComponentNotSupported,
    InvalidInput,
    NotAllowed,
    NotFound,
    PreconditionFailed,
    ResourceTooLarge,
    Contention,
    UidInUse,
)
from caldav_sched.store import itip as itip_store
from caldav_sched.store import objects as object_store
from caldav_sched.store.collections import CollectionRow
from caldav_sched.store.errors import UidConflict
from caldav_sched.store.objects import ObjectRow
from caldav_sched.store.users import UserRow

log = logging.getLogger("caldav_sched.objects")

MAX_NAME_LENGTH = 255
ATTEMPTS = 5


@dataclass(frozen=True)
class PutOutcome:
    created: bool
    etag: str
    jobs: int = 0


def _check_name(name: str) -> None:
    if not name or len(name) > MAX_NAME_LENGTH or "/" in name or name in (".", ".."):
        raise InvalidInput(f"invalid resource name {name!r}")


def _same_version(a: ObjectRow | None, b: ObjectRow | None) -> bool:
    return (a.etag if a else None) == (b.etag if b else None)


async def _plan(
    services: Services,
    user: UserRow,
    current: ObjectRow | None,
    obj: CalendarObject | None,
    uid: str,
) -> scheduling.SchedulingPlan | None:
    old = None
    if current is not None and current.data is not None and current.uid == uid:
        old = parse_calendar(current.data)
    floor = await itip_store.sequence_mark(services.db.reader(), user.id, uid)
    return scheduling.plan_change(
        user,
        old,
        obj.calendar if obj is not None else None,
        uid=uid,
        now=services.clock.now(),
        sequence_floor=floor,
    )


async def put_object(
    services: Services,
    user: UserRow,
    collection: CollectionRow,
    name: str,
    body: bytes,
    preconditions: Preconditions,
) -> PutOutcome:
    """Create or replace one calendar object resource (RFC 4791 5.3.2)."""
    _check_name(name)
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
    reader = services.db.reader()
    for _ in range(ATTEMPTS):
        current = await object_store.get_object(reader, collection.id, name)
        if not preconditions_hold(preconditions, current.etag if current else None):
            raise PreconditionFailed(
                "the resource exists" if current else "the resource does not exist"
            )
        plan = await _plan(services, user, current, obj, obj.uid)
        data = obj.data
        calendar = obj.calendar
        if plan is not None and plan.stored is not None and plan.stored is not obj.calendar:
            data = serialise(plan.stored)
            calendar = plan.stored
        span_start, span_end = object_span(calendar)
        etag = etag_for(data)
        jobs = 0
        async with services.db.transaction() as conn:
            now = services.timestamp()
            latest = await object_store.get_object(conn, collection.id, name, with_data=False)
            if not _same_version(latest, current):
                continue
            try:
                await object_store.write_object(
                    conn,
                    collection_id=collection.id,
                    name=name,
                    uid=obj.uid,
                    component=obj.component,
                    etag=etag,
                    data=data,
                    span_start=span_start,
                    span_end=span_end,
                    modified_at=now,
                )
            except UidConflict as exc:
                raise UidInUse(exc.name) from exc
            if plan is not None:
                jobs = await scheduling.enqueue_plan(
                    conn,
                    plan,
                    user=user,
                    collection=collection,
                    now=now,
                    now_epoch=int(services.clock.now().timestamp()),
                )
        if jobs:
            services.jobs_enqueued()
        return PutOutcome(created=current is None, etag=etag, jobs=jobs)
    raise Contention()


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
        plan = await _plan(services, user, current, None, current.uid)
        jobs = 0
        async with services.db.transaction() as conn:
            latest = await object_store.get_object(conn, collection.id, name, with_data=False)
            if not _same_version(latest, current):
                continue
            await object_store.delete_object(conn, collection.id, name)
            if plan is not None:
                jobs = await scheduling.enqueue_plan(
                    conn,
                    plan,
                    user=user,
                    collection=collection,
                    now=services.timestamp(),
                    now_epoch=int(services.clock.now().timestamp()),
                )
        if jobs:
            services.jobs_enqueued()
        return jobs
    raise Contention()

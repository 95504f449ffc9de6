"""Use cases for calendar object resources: store one, delete one.

Parsing and validation happen before the write transaction (they are CPU
work and need no lock); the conditional check, the UID check and the write
happen inside it, against the state stored at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass

from caldav_sched.domain.conditions import Preconditions, preconditions_hold
from caldav_sched.domain.ical import etag_for, parse_object
from caldav_sched.domain.timespan import object_span
from caldav_sched.services import Services
from caldav_sched.services.errors import (
    ComponentNotSupported,
    InvalidInput,
    NotAllowed,
    NotFound,
    PreconditionFailed,
    ResourceTooLarge,
    UidInUse,
)
from caldav_sched.store import objects as object_store
from caldav_sched.store.collections import CollectionRow
from caldav_sched.store.errors import UidConflict

MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class PutOutcome:
    created: bool
    etag: str


def _check_name(name: str) -> None:
    if not name or len(name) > MAX_NAME_LENGTH or "/" in name or name in (".", ".."):
        raise InvalidInput(f"invalid resource name {name!r}")


async def put_object(
    services: Services,
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
    span_start, span_end = object_span(obj.calendar)
    etag = etag_for(obj.data)
    async with services.db.transaction() as conn:
        current = await object_store.get_object(conn, collection.id, name, with_data=False)
        if not preconditions_hold(preconditions, current.etag if current else None):
            raise PreconditionFailed(
                "the resource exists" if current else "the resource does not exist"
            )
        try:
            await object_store.write_object(
                conn,
                collection_id=collection.id,
                name=name,
                uid=obj.uid,
                component=obj.component,
                etag=etag,
                data=obj.data,
                span_start=span_start,
                span_end=span_end,
                modified_at=services.timestamp(),
            )
        except UidConflict as exc:
            raise UidInUse(exc.name) from exc
    return PutOutcome(created=current is None, etag=etag)


async def delete_object(
    services: Services, collection: CollectionRow, name: str, preconditions: Preconditions
) -> None:
    async with services.db.transaction() as conn:
        current = await object_store.get_object(conn, collection.id, name, with_data=False)
        if current is None:
            raise NotFound(f"no resource named {name}")
        if not preconditions_hold(preconditions, current.etag):
            raise PreconditionFailed("the entity tag does not match")
        await object_store.delete_object(conn, collection.id, name)

"""Use cases for COPY and MOVE (RFC 4918 9.8, 9.9; RFC 4791 5.3.2): objects and calendars.

A moved event is the same event in another calendar: its data, ETag,
Schedule-Tag, reply tokens and queued mail stay as they are, and no
scheduling plan runs, so attendees hear nothing and keep their answers.
A copy is a second resource with the same UID; of a scheduling object
resource (one with attendees) that would be a second copy of one scheduled
event among the user's calendars (RFC 6638 3.2.4), so it is refused with
no-uid-conflict: the client must store it under a new UID instead.

Each operation is one write transaction: the checks against what is stored
at that moment, the row's move or copy, and both collections' change log
entries.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from caldav_sched.domain.conditions import (
    Preconditions,
    preconditions_hold,
    schedule_tag_holds,
)
from caldav_sched.services import Services
from caldav_sched.services.calendars import RESERVED, check_calendar_name
from caldav_sched.services.errors import (
    ComponentNotSupported,
    DestinationScheduled,
    NotAllowed,
    NotFound,
    PreconditionFailed,
    UidInUse,
)
from caldav_sched.services.objects import check_name
from caldav_sched.services.users import DEFAULT_CALENDAR
from caldav_sched.store import collections as collection_store
from caldav_sched.store import moves as move_store
from caldav_sched.store import objects as object_store
from caldav_sched.store.collections import CollectionRow
from caldav_sched.store.errors import UidConflict
from caldav_sched.store.objects import ObjectRow
from caldav_sched.store.users import UserRow


@dataclass(frozen=True)
class TransferOutcome:
    """What a COPY or MOVE left at the destination."""

    created: bool  # nothing was there before (201), else it was replaced (204)
    etag: str | None = None
    schedule_tag: str | None = None


def _is_scheduling_object(data: bytes | None) -> bool:
    """RFC 6638 3.1: a calendar object with an ORGANIZER and attendees."""
    return (
        data is not None
        and re.search(rb"(?im)^attendee[;:]", data) is not None
        and re.search(rb"(?im)^organizer[;:]", data) is not None
    )


def _check_source(pre: Preconditions, current: ObjectRow) -> None:
    if not preconditions_hold(pre, current.etag):
        raise PreconditionFailed("the entity tag of the source does not match")
    if not schedule_tag_holds(pre, current.schedule_tag):
        raise PreconditionFailed("the Schedule-Tag of the source does not match")


async def transfer_object(
    services: Services,
    source: CollectionRow,
    name: str,
    destination: CollectionRow,
    new_name: str,
    *,
    keep_source: bool,
    overwrite: bool,
    preconditions: Preconditions,
) -> TransferOutcome:
    """COPY (*keep_source*) or MOVE one calendar object resource of a user's own calendars.

    *preconditions* (If-Match, If-Schedule-Tag-Match) apply to the source.
    """
    check_name(new_name)
    if source.kind != "calendar" or destination.kind != "calendar":
        raise NotAllowed("objects are copied and moved between calendar collections only")
    if source.owner_id != destination.owner_id:
        raise NotAllowed("objects are copied and moved within one user's calendars")
    if source.id == destination.id and name == new_name:
        raise NotAllowed("the source and the destination are the same resource")
    now = services.timestamp()

    def work(raw: sqlite3.Connection) -> TransferOutcome:
        current = object_store.get_object_blocking(raw, source.id, name)
        if current is None:
            raise NotFound(f"no resource named {name}")
        _check_source(preconditions, current)
        if current.component not in destination.components:
            raise ComponentNotSupported(f"the destination calendar does not take {current.component}")
        if keep_source and _is_scheduling_object(current.data):
            raise UidInUse(name, path=source.path)
        existing = object_store.get_object_blocking(raw, destination.id, new_name)
        if existing is not None and not overwrite:
            raise PreconditionFailed("the destination exists and Overwrite is F")
        if (
            existing is not None
            and existing.uid != current.uid
            and _is_scheduling_object(existing.data)
        ):
            raise DestinationScheduled(
                "the destination holds another scheduled event; delete it first, "
                "so that its attendees hear of it"
            )
        place = move_store.copy_object_blocking if keep_source else move_store.move_object_blocking
        try:
            place(raw, current, collection_id=destination.id, name=new_name, modified_at=now)
        except UidConflict as exc:
            raise UidInUse(exc.name, path=destination.path) from exc
        return TransferOutcome(
            created=existing is None, etag=current.etag, schedule_tag=current.schedule_tag
        )

    return await services.db.write(work)


async def move_calendar(
    services: Services,
    user: UserRow,
    source: CollectionRow,
    new_path: str,
    *,
    overwrite: bool,
    preconditions: Preconditions,
) -> TransferOutcome:
    """MOVE one of the user's calendars to another path in their calendar home.

    With Overwrite, a calendar already at that path is deleted first (its
    objects with it, as a DELETE of it would).  The default calendar stays
    where scheduling delivers invitations, and the scheduling inbox and
    outbox are neither moved nor replaced.
    """
    check_calendar_name(new_path)
    if source.kind != "calendar":
        raise NotAllowed("the scheduling inbox and outbox cannot be moved")
    if source.path == DEFAULT_CALENDAR:
        raise NotAllowed("the default calendar cannot be moved: invitations are delivered there")
    if new_path in RESERVED:
        raise NotAllowed(f"{new_path!r} is reserved for scheduling")
    if new_path == source.path:
        raise NotAllowed("the source and the destination are the same calendar")

    def work(raw: sqlite3.Connection) -> TransferOutcome:
        current = collection_store.get_collection_by_id_blocking(raw, source.id)
        if current is None or current.owner_id != user.id:
            raise NotFound(f"no calendar {source.path}")
        if not preconditions_hold(preconditions, f'"{current.id}-{current.modseq}"'):
            raise PreconditionFailed("the entity tag of the source does not match")
        existing = collection_store.get_collection_blocking(raw, user.name, new_path)
        if existing is not None and not overwrite:
            raise PreconditionFailed("the destination exists and Overwrite is F")
        if existing is not None and existing.kind != "calendar":
            raise NotAllowed("only a calendar can be replaced by a MOVE")
        move_store.move_collection_blocking(
            raw, source.id, path=new_path, replaced_id=existing.id if existing else None
        )
        return TransferOutcome(created=existing is None)

    return await services.db.write(work)

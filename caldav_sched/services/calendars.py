"""Use cases for calendar collections: create, change properties, delete."""

from __future__ import annotations

from caldav_sched.domain.ical import OBJECT_COMPONENTS
from caldav_sched.services import Services
from caldav_sched.services.errors import AlreadyExists, InvalidInput, NotAllowed
from caldav_sched.services.names import is_storable_name
from caldav_sched.store import collections as collection_store
from caldav_sched.store.collections import CollectionRow
from caldav_sched.store.errors import DuplicateName
from caldav_sched.store.users import UserRow

RESERVED = ("inbox", "outbox")
# RFC 4791 5.2.3: a calendar created without supported-calendar-component-set
# takes every component type the server stores.
COMPONENTS = OBJECT_COMPONENTS


def check_calendar_name(path: str) -> None:
    """A calendar's path: one segment of the calendar home."""
    if not is_storable_name(path):
        raise InvalidInput(f"invalid calendar name {path!r}")


async def make_calendar(
    services: Services,
    owner: UserRow,
    path: str,
    *,
    columns: dict[str, str | None],
    components: tuple[str, ...] | None,
    dead_props: dict[str, str],
) -> int:
    if path in RESERVED:
        raise AlreadyExists(f"{path!r} is reserved for scheduling")
    check_calendar_name(path)
    if components is not None:
        unknown = [c for c in components if c not in COMPONENTS]
        if unknown or not components:
            raise InvalidInput(f"unsupported component type {', '.join(unknown) or '(none)'}")
    try:
        async with services.db.transaction() as conn:
            return await collection_store.insert_collection(
                conn,
                owner_id=owner.id,
                path=path,
                kind="calendar",
                created_at=services.timestamp(),
                displayname=columns.get("displayname"),
                description=columns.get("description"),
                color=columns.get("color"),
                timezone=columns.get("timezone"),
                components=components or COMPONENTS,
                dead_props=dead_props,
            )
    except DuplicateName as exc:
        raise AlreadyExists(f"a collection named {path} exists") from exc


async def update_properties(
    services: Services,
    collection: CollectionRow,
    *,
    columns: dict[str, str | None],
    dead_set: dict[str, str],
    dead_removed: list[str],
) -> None:
    dead = None
    if dead_set or dead_removed:
        dead = dict(collection.dead_props)
        dead.update(dead_set)
        for name in dead_removed:
            dead.pop(name, None)
    async with services.db.transaction() as conn:
        await collection_store.update_collection(
            conn, collection.id, columns=columns, dead_props=dead
        )


async def delete_calendar(services: Services, collection: CollectionRow) -> None:
    if collection.kind != "calendar":
        raise NotAllowed("the scheduling inbox and outbox cannot be deleted")
    async with services.db.transaction() as conn:
        await collection_store.delete_collection(conn, collection.id)

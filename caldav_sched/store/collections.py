"""SQL for collections: calendars, scheduling inboxes and outboxes."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from caldav_sched.store.db import Connection, in_thread
from caldav_sched.store.errors import DuplicateName


@dataclass(frozen=True)
class CollectionRow:
    id: int
    owner_id: int
    owner: str
    path: str
    kind: str
    displayname: str | None
    description: str | None
    color: str | None
    timezone: str | None
    components: tuple[str, ...]
    modseq: int
    created_at: str
    dead_props: dict[str, str] = field(default_factory=dict)


# The columns ``collection_from_row`` reads (aliases ``c`` and ``u``).
COLUMNS = (
    "c.id, c.owner_id, u.name AS owner, c.path, c.kind, c.displayname, c.description,"
    " c.color, c.timezone, c.components, c.dead_props, c.modseq, c.created_at"
)
_SELECT = f"SELECT {COLUMNS} FROM collections c JOIN users u ON u.id = c.owner_id"

# What a calendar created without a supported-calendar-component-set takes
# (the same list as ``domain.ical.OBJECT_COMPONENTS``; migration 0009).
ALL_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY")

# Columns a PROPPATCH may set directly; everything else is a dead property.
SETTABLE = ("displayname", "description", "color", "timezone", "components")


def _row(row: sqlite3.Row) -> CollectionRow:
    return CollectionRow(
        id=row["id"],
        owner_id=row["owner_id"],
        owner=row["owner"],
        path=row["path"],
        kind=row["kind"],
        displayname=row["displayname"],
        description=row["description"],
        color=row["color"],
        timezone=row["timezone"],
        components=tuple(c for c in row["components"].split(",") if c),
        modseq=row["modseq"],
        created_at=row["created_at"],
        dead_props=json.loads(row["dead_props"] or "{}"),
    )


def collection_from_row(row: sqlite3.Row) -> CollectionRow:
    """A collection from a row that selected ``COLUMNS`` (for joins in other modules)."""
    return _row(row)


async def insert_collection(
    conn: Connection,
    *,
    owner_id: int,
    path: str,
    kind: str,
    created_at: str,
    displayname: str | None = None,
    description: str | None = None,
    color: str | None = None,
    timezone: str | None = None,
    components: tuple[str, ...] = ALL_COMPONENTS,
    dead_props: dict[str, str] | None = None,
) -> int:
    try:
        cur = await conn.execute(
            "INSERT INTO collections (owner_id, path, kind, displayname, description, color,"
            " timezone, components, dead_props, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                owner_id,
                path,
                kind,
                displayname,
                description,
                color,
                timezone,
                ",".join(components),
                json.dumps(dead_props or {}),
                created_at,
            ),
        )
    except sqlite3.IntegrityError as exc:
        raise DuplicateName(f"collection {path!r} exists") from exc
    return cur.lastrowid or 0


async def get_collection(conn: Connection, owner: str, path: str) -> CollectionRow | None:
    return await in_thread(conn, get_collection_blocking, owner, path)


def get_collection_blocking(raw: sqlite3.Connection, owner: str, path: str) -> CollectionRow | None:
    """A collection by its owner and path (a lookup by key, ``Database.point_read``)."""
    row = raw.execute(f"{_SELECT} WHERE u.name = ? AND c.path = ?", (owner, path)).fetchone()
    return _row(row) if row else None


async def get_collection_by_id(conn: Connection, collection_id: int) -> CollectionRow | None:
    rows = list(await conn.execute_fetchall(f"{_SELECT} WHERE c.id = ?", (collection_id,)))
    row = rows[0] if rows else None
    return _row(row) if row else None


def get_collection_by_id_blocking(raw: sqlite3.Connection, collection_id: int) -> CollectionRow | None:
    """``get_collection_by_id`` inside the caller's write, in the writer's thread."""
    row = raw.execute(f"{_SELECT} WHERE c.id = ?", (collection_id,)).fetchone()
    return _row(row) if row else None


async def list_collections(conn: Connection, owner: str) -> list[CollectionRow]:
    sql = f"{_SELECT} WHERE u.name = ? ORDER BY c.path"
    return [_row(r) for r in await conn.execute_fetchall(sql, (owner,))]


async def update_collection(
    conn: Connection,
    collection_id: int,
    *,
    columns: dict[str, str | None],
    dead_props: dict[str, str] | None = None,
) -> None:
    assignments = []
    values: list[object] = []
    for name, value in columns.items():
        if name not in SETTABLE:
            raise ValueError(f"not a settable collection column: {name}")
        assignments.append(f"{name} = ?")
        values.append(value)
    if dead_props is not None:
        assignments.append("dead_props = ?")
        values.append(json.dumps(dead_props))
    if not assignments:
        return
    # A property change is a change of the collection: clients watch getctag.
    assignments.append("modseq = modseq + 1")
    await conn.execute(
        f"UPDATE collections SET {', '.join(assignments)} WHERE id = ?",
        (*values, collection_id),
    )


async def delete_collection(conn: Connection, collection_id: int) -> None:
    await conn.execute("DELETE FROM collections WHERE id = ?", (collection_id,))


async def next_modseq(conn: Connection, collection_id: int) -> int:
    """Hand out the next change number of a collection (inside a write)."""
    return await in_thread(conn, next_modseq_blocking, collection_id)


def next_modseq_blocking(raw: sqlite3.Connection, collection_id: int) -> int:
    row = raw.execute(
        "UPDATE collections SET modseq = modseq + 1 WHERE id = ? RETURNING modseq",
        (collection_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no collection {collection_id}")
    return int(row[0])

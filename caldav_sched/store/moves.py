"""SQL for COPY and MOVE: an object to another name or calendar, a calendar to another path.

A moved object keeps its row (its id, data, ETag, Schedule-Tag and time
index); only its collection and name change, in its rows of the time table
too.  A copy gets the source's rows under its own id.  Each collection it
touches hands out a new modification sequence and records the change (a
tombstone for the name it left), so getctag and sync-collection of both see
it.  Every function here runs inside the caller's write transaction, in the
writer's thread (``Database.write``).
"""

from __future__ import annotations

import sqlite3

from caldav_sched.store.collections import next_modseq_blocking
from caldav_sched.store.errors import UidConflict
from caldav_sched.store.objects import ObjectRow, record_change_blocking

# The columns a copy takes from its source, besides collection, name and modseq.
_COPIED = "uid, component, etag, schedule_tag, data, span_start, span_end, indexed_until, indexed_from"
# A copy's rows in the time table: the source's, under the copy's id and collection.
_COPIED_INSTANCES = "is_long, starts_at, ends_at, fbtype, code, wall_first, wall_second"


def _check_uid(
    raw: sqlite3.Connection, collection_id: int, uid: str, *, allowed: tuple[str, ...]
) -> None:
    """UidConflict unless the UID is free in the collection or held by an *allowed* name."""
    holder = raw.execute(
        "SELECT name FROM objects WHERE collection_id = ? AND uid = ?", (collection_id, uid)
    ).fetchone()
    if holder is not None and holder[0] not in allowed:
        raise UidConflict(holder[0])


def _clear_destination(raw: sqlite3.Connection, collection_id: int, name: str) -> None:
    """Remove what an overwriting COPY or MOVE replaces (its change is recorded by the caller)."""
    raw.execute("DELETE FROM objects WHERE collection_id = ? AND name = ?", (collection_id, name))


def move_object_blocking(
    raw: sqlite3.Connection,
    source: ObjectRow,
    *,
    collection_id: int,
    name: str,
    modified_at: str,
) -> int:
    """Move *source* to *name* in collection *collection_id*; its new modification sequence.

    Whatever held that name there is replaced.  Raises UidConflict when
    another resource of the destination holds the UID.
    """
    same_collection = collection_id == source.collection_id
    allowed = (name, source.name) if same_collection else (name,)
    _check_uid(raw, collection_id, source.uid, allowed=allowed)
    _clear_destination(raw, collection_id, name)
    left = next_modseq_blocking(raw, source.collection_id)
    record_change_blocking(raw, source.collection_id, source.name, left, deleted=True)
    modseq = next_modseq_blocking(raw, collection_id)
    raw.execute(
        "UPDATE objects SET collection_id = ?, name = ?, modseq = ?, modified_at = ?"
        " WHERE id = ?",
        (collection_id, name, modseq, modified_at, source.id),
    )
    raw.execute(
        "UPDATE object_instances SET collection_id = ? WHERE object_id = ?",
        (collection_id, source.id),
    )
    record_change_blocking(raw, collection_id, name, modseq, deleted=False)
    return modseq


def copy_object_blocking(
    raw: sqlite3.Connection,
    source: ObjectRow,
    *,
    collection_id: int,
    name: str,
    modified_at: str,
) -> int:
    """Copy *source* to *name* in collection *collection_id*; the copy's modification sequence.

    Whatever held that name there is replaced.  Raises UidConflict when
    another resource of the destination holds the UID (the source itself,
    for a copy within its own calendar).
    """
    _check_uid(raw, collection_id, source.uid, allowed=(name,))
    _clear_destination(raw, collection_id, name)
    modseq = next_modseq_blocking(raw, collection_id)
    copy_id = raw.execute(
        f"INSERT INTO objects (collection_id, name, modseq, modified_at, {_COPIED})"
        f" SELECT ?, ?, ?, ?, {_COPIED} FROM objects WHERE id = ? RETURNING id",
        (collection_id, name, modseq, modified_at, source.id),
    ).fetchone()[0]
    raw.execute(
        "INSERT INTO object_instances (object_id, collection_id, component, "
        f"{_COPIED_INSTANCES}) SELECT ?, ?, component, {_COPIED_INSTANCES}"
        " FROM object_instances WHERE object_id = ?",
        (copy_id, collection_id, source.id),
    )
    record_change_blocking(raw, collection_id, name, modseq, deleted=False)
    return modseq


def move_collection_blocking(
    raw: sqlite3.Connection, collection_id: int, *, path: str, replaced_id: int | None
) -> None:
    """Give a collection a new path, deleting the collection it replaces (with its objects).

    The collection keeps its id, objects and change log; its modification
    sequence advances, so getctag and the sync-token change.
    """
    if replaced_id is not None:
        raw.execute("DELETE FROM collections WHERE id = ?", (replaced_id,))
    raw.execute("UPDATE collections SET path = ? WHERE id = ?", (path, collection_id))
    next_modseq_blocking(raw, collection_id)

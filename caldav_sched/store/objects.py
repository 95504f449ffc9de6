"""SQL for calendar object resources, their time table and the per-collection change log.

An object's instances (``domain.time_index.InstanceRow``) are kept one row
each in ``object_instances`` (migration 0011), indexed by collection,
component and start, so a time-range query reads the instances in its range
rather than every object that might have one.  ``objects.indexed_until``
says how far the rows answer: NULL for rows written before the table (the
server indexes them in the background after an upgrade, and a query that
meets one first parses it and stores its rows).  ``objects.indexed_from``
says from when, for a series kept from a lower limit (NULL: from its first
instance).  A listing (a calendar view asking ETags) reads what it shows of
each object from the index ``objects_listing`` (migration 0013), never from
the objects' rows, which hold their data.

Every write of an object hands out the collection's next modification
sequence and records it in ``changes`` (one row per resource name, kept as a
tombstone after a delete), so getctag and sync-collection read the log and
never the collection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from caldav_sched.store.collections import COLUMNS as COLLECTION_COLUMNS
from caldav_sched.store.collections import (
    CollectionRow,
    collection_from_row,
    next_modseq_blocking,
)
from caldav_sched.store.db import Connection, in_thread
from caldav_sched.store.errors import UidConflict

# Stand-ins for an unbounded span, so both bounds stay plain indexed integers.
SPAN_MIN = -(2**62)
SPAN_MAX = 2**62


class ObjectRow(NamedTuple):
    """One calendar object resource as stored (a tuple: listings make thousands)."""

    id: int
    collection_id: int
    name: str
    uid: str
    component: str
    etag: str
    schedule_tag: str | None
    modseq: int
    size: int
    modified_at: str
    data: bytes | None = None
    # How far the object's rows in the time table answer (None: not yet
    # computed), and from when (None: from the first instance); read by
    # time-range queries only.
    indexed_until: int | None = None
    indexed_from: int | None = None


# What a listing of simple properties (getetag and the like) reads of an
# object, without its data: (name, ETag, size, last modified, id).  A plain
# tuple as the database gives it, as a week's listing has hundreds; the
# name first, so listings sort by name (unique in a collection).
Listed = tuple[str, str, int, str, int]


def listed(row: ObjectRow) -> Listed:
    """An object read whole, as a listing reads it."""
    return (row.name, row.etag, row.size, row.modified_at, row.id)


class TimeIndexFields(Protocol):
    """What a write stores of an object's time index (``domain.time_index.TimeIndex``)."""

    span_start: int | None
    span_end: int | None
    rows: Sequence[Sequence[int | None]]
    until: int
    since: int | None


class Change(NamedTuple):
    """One entry of the change log, with the object's metadata when it still exists."""

    name: str
    modseq: int
    deleted: bool
    etag: str | None
    size: int | None
    modified_at: str | None
    component: str | None = None


_META = (
    "o.id, o.collection_id, o.name, o.uid, o.component, o.etag, o.schedule_tag,"
    " o.modseq, length(o.data) AS size, o.modified_at"
)
_META_COUNT = 10

#: ``write_object_blocking``'s default: the UID's holder is looked up there.
LOOK_UP = object()


async def _fetch(conn: Connection, sql: str, args: Sequence[object]) -> Iterable[sqlite3.Row]:
    """Run a query and fetch every row in one trip to the connection's thread."""
    return await conn.execute_fetchall(sql, args)


def _row(row: sqlite3.Row, with_data: bool) -> ObjectRow:
    # By position: the columns of _META are ObjectRow's first fields, in order
    # (much cheaper than a lookup by name per column on a large listing).
    return ObjectRow(*row[:_META_COUNT], data=bytes(row[_META_COUNT]) if with_data else None)


async def _one(conn: Connection, sql: str, args: Sequence[object]) -> sqlite3.Row | None:
    rows = list(await _fetch(conn, sql, args))
    return rows[0] if rows else None


async def get_object(
    conn: Connection, collection_id: int, name: str, *, with_data: bool = True
) -> ObjectRow | None:
    row = await _one(conn, _get_object_sql(with_data), (collection_id, name))
    return _row(row, with_data) if row else None


def get_object_blocking(
    raw: sqlite3.Connection, collection_id: int, name: str, *, with_data: bool = True
) -> ObjectRow | None:
    """``get_object`` for code already in a connection's thread (``Database.write``)."""
    row = raw.execute(_get_object_sql(with_data), (collection_id, name)).fetchone()
    return _row(row, with_data) if row else None


def get_object_and_uid_holder_blocking(
    raw: sqlite3.Connection, collection_id: int, name: str, uid: str
) -> tuple[ObjectRow | None, str | None]:
    """The object at *name* (with its data) and the name of the object of the
    collection that has *uid*, if any, in one statement (a write's first read)."""
    row = raw.execute(
        f"SELECT {_META}, o.data, (SELECT h.name FROM objects h"
        "  WHERE h.collection_id = ? AND h.uid = ?) AS uid_holder"
        " FROM (SELECT 1) AS one LEFT JOIN objects o ON o.collection_id = ? AND o.name = ?",
        (collection_id, uid, collection_id, name),
    ).fetchone()
    current = _row(row, True) if row[0] is not None else None
    return current, row[_META_COUNT + 1]


def _get_object_sql(with_data: bool) -> str:
    columns = _META + (", o.data" if with_data else "")
    return f"SELECT {columns} FROM objects o WHERE o.collection_id = ? AND o.name = ?"


_META_AS = (
    "o.id AS o_id, o.collection_id AS o_collection_id, o.name AS o_name, o.uid AS o_uid,"
    " o.component AS o_component, o.etag AS o_etag, o.schedule_tag AS o_schedule_tag,"
    " o.modseq AS o_modseq, length(o.data) AS o_size, o.modified_at AS o_modified_at"
)


def get_collection_and_object_blocking(
    raw: sqlite3.Connection, owner: str, path: str, name: str, *, with_data: bool = True
) -> tuple[CollectionRow | None, ObjectRow | None]:
    """A collection and one object in it by URL parts, in a single statement.

    The collection is ``None`` when it does not exist; the object is ``None``
    when the collection exists but holds no resource of that name.  A lookup
    by key (``Database.point_read``).
    """
    columns = f"{COLLECTION_COLUMNS}, {_META_AS}" + (", o.data AS o_data" if with_data else "")
    row = raw.execute(
        f"SELECT {columns} FROM collections c JOIN users u ON u.id = c.owner_id"
        " LEFT JOIN objects o ON o.collection_id = c.id AND o.name = ?"
        " WHERE u.name = ? AND c.path = ?",
        (name, owner, path),
    ).fetchone()
    if row is None:
        return None, None
    collection = collection_from_row(row)
    if row["o_id"] is None:
        return collection, None
    obj = ObjectRow(
        id=row["o_id"],
        collection_id=row["o_collection_id"],
        name=row["o_name"],
        uid=row["o_uid"],
        component=row["o_component"],
        etag=row["o_etag"],
        schedule_tag=row["o_schedule_tag"],
        modseq=row["o_modseq"],
        size=row["o_size"],
        modified_at=row["o_modified_at"],
        data=bytes(row["o_data"]) if with_data else None,
    )
    return collection, obj


async def name_for_uid(conn: Connection, collection_id: int, uid: str) -> str | None:
    row = await _one(
        conn, "SELECT name FROM objects WHERE collection_id = ? AND uid = ?", (collection_id, uid)
    )
    return row[0] if row else None


async def list_objects(
    conn: Connection, collection_id: int, *, with_data: bool = False
) -> list[ObjectRow]:
    columns = _META + (", o.data" if with_data else "")
    rows = await _fetch(
        conn,
        f"SELECT {columns} FROM objects o WHERE o.collection_id = ? ORDER BY o.name",
        (collection_id,),
    )
    return [_row(r, with_data) for r in rows]


class ObjectListing(NamedTuple):
    """What a PROPFIND of plain properties shows of each object."""

    name: str
    etag: str
    component: str
    size: int
    modified_at: str


async def list_listing(conn: Connection, collection_id: int) -> list[ObjectListing]:
    """Every object's name, ETag, component, size and date, by name: no row objects."""
    rows = await _fetch(
        conn,
        "SELECT name, etag, component, length(data), modified_at FROM objects"
        " WHERE collection_id = ? ORDER BY name",
        (collection_id,),
    )
    return [ObjectListing._make(r) for r in rows]


async def objects_by_name(
    conn: Connection, collection_id: int, names: Iterable[str]
) -> dict[str, ObjectRow]:
    wanted = list(dict.fromkeys(names))
    found: dict[str, ObjectRow] = {}
    # Stay under SQLite's bound-parameter limit on big multigets.
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = await _fetch(
            conn,
            f"SELECT {_META}, o.data FROM objects o"
            f" WHERE o.collection_id = ? AND o.name IN ({marks})",
            (collection_id, *chunk),
        )
        for row in rows:
            found[row["name"]] = _row(row, True)
    return found


async def objects_in_span(
    conn: Connection,
    collection_id: int,
    *,
    component: str | None,
    start: int,
    end: int,
    with_data: bool = True,
) -> list[ObjectRow]:
    """Objects whose span meets ``[start, end)``: an index range scan on the span.

    For filters the time table cannot decide (the caller parses each).
    """
    columns = _META + ", o.data" if with_data else _META
    sql = f"SELECT {columns} FROM objects o WHERE o.collection_id = ?"
    args: list[object] = [collection_id]
    if component:
        sql += " AND o.component = ?"
        args.append(component)
    sql += " AND o.span_start < ? AND o.span_end > ? ORDER BY o.name"
    args += [end, start]
    return [_row(r, with_data) for r in await _fetch(conn, sql, args)]


# -- the time table ------------------------------------------------------------------


class Window(Protocol):
    """``domain.time_index.Window``: rows with ``starts_at < end AND ends_at > start``."""

    start: int
    end: int
    short_from: int


# Which rows of the time table a scan keeps, besides those in its window.
ZONED = " AND code IS NULL"
ZONE_LESS = " AND code IS NOT NULL"
ZONED_BUSY = " AND code IS NULL AND fbtype > 0"


def _window_sql(
    columns: str, collection_id: int, component: str, window: Window, extra: str = ""
) -> tuple[str, list[object]]:
    """Rows of the time table in ``window`` (and ``extra``, one of the conditions above).

    The short rows are read from where they can reach the window, the long
    ones from the beginning of time (there are few).
    """
    sql = (
        f"SELECT {columns} FROM object_instances WHERE collection_id = ? AND component = ?"
        f" AND is_long = 0 AND starts_at >= ? AND starts_at < ? AND ends_at > ?{extra}"
        f" UNION ALL SELECT {columns} FROM object_instances WHERE collection_id = ?"
        f" AND component = ? AND is_long = 1 AND starts_at < ? AND ends_at > ?{extra}"
    )
    args: list[object] = [
        collection_id, component, window.short_from, window.end, window.start,
        collection_id, component, window.end, window.start,
    ]
    return sql, args


# Whether a zone-less row is in the range: (code, wall_first, wall_second).
ZoneLessTest = Callable[[int, int, int], bool]


def objects_in_window_blocking(
    raw: sqlite3.Connection,
    collection_id: int,
    component: str,
    window: Window,
    zone_less_test: ZoneLessTest,
    until: int,
    *,
    with_data: bool,
) -> tuple[list[ObjectRow], list[ObjectRow]]:
    """The objects with an instance in ``window``, in one trip to the connection.

    Returns ``(decided, undecided)``.  ``decided`` objects have a row in the
    window (a zone-less one counts when ``zone_less_test`` says so): a row
    is an instance, so that holds however far the rows go.  ``undecided``
    ones have none, and their span meets the window but their rows do not
    answer all of it (written before the table, not indexable, a series
    asked about past its horizon or before its lower limit): they come with
    their data, for the caller to parse.
    """
    columns = f"{_META}, o.indexed_until, o.indexed_from" + (", o.data" if with_data else "")
    found = _found_in_window_blocking(
        raw, f"SELECT {columns} FROM objects o WHERE o.id IN", 0,
        collection_id, component, window, zone_less_test,
    )
    decided = [_indexed_row(r, with_data) for r in found]
    return decided, _undecided_blocking(
        raw, collection_id, component, window, until, {r[0] for r in found}
    )


def listed_in_window_blocking(
    raw: sqlite3.Connection,
    collection_id: int,
    component: str,
    window: Window,
    zone_less_test: ZoneLessTest,
    until: int,
) -> tuple[list[Listed], list[ObjectRow]]:
    """``objects_in_window_blocking`` for a listing: the decided objects as
    ``Listed``, read from the index ``objects_listing`` alone (SQLite)."""
    select = _LISTED_SQLITE if isinstance(raw, sqlite3.Connection) else _LISTED
    found = _found_in_window_blocking(
        raw, select, 4, collection_id, component, window, zone_less_test
    )
    return found, _undecided_blocking(
        raw, collection_id, component, window, until, {r[4] for r in found}
    )


_LISTED = "SELECT o.name, o.etag, length(o.data), o.modified_at, o.id FROM objects o WHERE o.id IN"
_LISTED_SQLITE = _LISTED.replace("objects o", "objects o INDEXED BY objects_listing")


def _found_in_window_blocking(
    raw: sqlite3.Connection,
    select: str,
    id_at: int,
    collection_id: int,
    component: str,
    window: Window,
    zone_less_test: ZoneLessTest,
) -> list[Any]:
    """``select`` (ending in ``WHERE o.id IN``, the id its column ``id_at``)
    of the objects with a row in ``window``, as plain tuples."""
    # Objects with a zoned row in the window: found and read in one statement.
    rows_sql, args = _window_sql("object_id", collection_id, component, window, ZONED)
    found: list[Any] = _tuples(raw, f"{select} ({rows_sql})", args)
    have = {r[id_at] for r in found}
    # Zone-less rows in the window, each read in the query's zone.
    rows_sql, args = _window_sql(
        "object_id, code, wall_first, wall_second", collection_id, component, window, ZONE_LESS
    )
    more: set[int] = set()
    for object_id, code, first, second in _tuples(raw, rows_sql, args):
        if object_id not in have and object_id not in more and zone_less_test(code, first, second):
            more.add(object_id)
    ids = sorted(more)
    for at in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
        chunk = ids[at : at + 500]
        found += _tuples(raw, f"{select} ({','.join('?' * len(chunk))})", chunk)
    return found


def _tuples(raw: sqlite3.Connection, sql: str, args: Sequence[object]) -> list[Any]:
    """Rows as plain tuples (by position): a listing reads hundreds, and a
    ``sqlite3.Row`` each costs more."""
    if isinstance(raw, sqlite3.Connection):
        cursor = raw.cursor()
        cursor.row_factory = None
        return cursor.execute(sql, args).fetchall()
    return raw.execute(sql, args).fetchall()


def _undecided_blocking(
    raw: sqlite3.Connection,
    collection_id: int,
    component: str,
    window: Window,
    until: int,
    found: set[int],
) -> list[ObjectRow]:
    """The objects without a row in ``window`` (not in ``found``) whose rows
    may not answer it, with their data."""
    undecided = [
        object_id
        for object_id in _undecided_ids_blocking(raw, collection_id, component, window, until)
        if object_id not in found
    ]
    return _rows_with_data_blocking(raw, undecided)


def _undecided_ids_blocking(
    raw: sqlite3.Connection, collection_id: int, component: str, window: Window, until: int
) -> list[int]:
    """Objects whose span meets ``window`` and whose rows may not hold all of
    its instances: not indexed, kept only up to before ``until``, or kept
    only from after the window's start.

    Found by how far they answer, which few objects fall short of (the span
    conditions are kept off the span index with a unary plus).
    """
    ids = raw.execute(
        "SELECT o.id FROM objects o WHERE o.collection_id = ? AND o.component = ?"
        " AND o.indexed_until IS NULL AND +o.span_start < ? AND +o.span_end > ?"
        " UNION SELECT o.id FROM objects o WHERE o.collection_id = ?"
        " AND o.component = ? AND o.indexed_until < ? AND +o.span_start < ? AND +o.span_end > ?"
        " UNION SELECT o.id FROM objects o WHERE o.collection_id = ?"
        " AND o.component = ? AND o.indexed_from > ? AND +o.span_start < ? AND +o.span_end > ?",
        (
            collection_id, component, window.end, window.start,
            collection_id, component, until, window.end, window.start,
            collection_id, component, window.start, window.end, window.start,
        ),
    ).fetchall()
    return [r[0] for r in ids]


def _rows_with_data_blocking(raw: sqlite3.Connection, ids: Sequence[int]) -> list[ObjectRow]:
    """The objects with these ids, with their data (to be parsed), by id."""
    found: list[ObjectRow] = []
    for at in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
        chunk = ids[at : at + 500]
        marks = ",".join("?" * len(chunk))
        found += [
            _indexed_row(r, True)
            for r in raw.execute(
                f"SELECT {_META}, o.indexed_until, o.indexed_from, o.data FROM objects o"
                f" WHERE o.id IN ({marks}) ORDER BY o.id",
                chunk,
            ).fetchall()
        ]
    return found


def _indexed_row(r: sqlite3.Row, with_data: bool) -> ObjectRow:
    # Built as a plain tuple: a month's query makes thousands.
    data = bytes(r[_META_COUNT + 2]) if with_data else None
    return _new_row(ObjectRow, (*r[:_META_COUNT], data, r[_META_COUNT], r[_META_COUNT + 1]))


_new_row = tuple.__new__


class BusyRows(NamedTuple):
    """What free-busy reads of one calendar's VEVENT rows in a window."""

    # (starts_at, ends_at, fbtype) of zoned rows that make busy time.
    zoned: list[tuple[int, int, int]]
    # (code, wall_first, wall_second) of zone-less rows, to read in a zone.
    zone_less: list[tuple[int, int, int]]
    # Objects whose rows do not answer that far: with their data, to parse.
    undecided: list[ObjectRow]


def busy_rows_blocking(
    raw: sqlite3.Connection, collection_id: int, window: Window, until: int
) -> BusyRows:
    """The VEVENT rows in ``window`` that may make busy time, in one trip.

    Rows of objects whose rows may not hold every instance in the window
    are left out; those objects come in ``undecided`` instead.
    """
    skip = set(_undecided_ids_blocking(raw, collection_id, "VEVENT", window, until))
    undecided = _rows_with_data_blocking(raw, sorted(skip))

    def rows(columns: str, extra: str) -> list[Any]:
        sql, args = _window_sql(f"object_id, {columns}", collection_id, "VEVENT", window, extra)
        return [r[1:] for r in _tuples(raw, sql, args) if r[0] not in skip]

    return BusyRows(
        rows("starts_at, ends_at, fbtype", ZONED_BUSY),
        rows("code, wall_first, wall_second", ZONE_LESS),
        undecided,
    )


_INSERT_ROWS = (
    "INSERT INTO object_instances (object_id, collection_id, component, is_long, starts_at,"
    " ends_at, fbtype, code, wall_first, wall_second) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def replace_instances_blocking(
    raw: sqlite3.Connection,
    object_id: int,
    collection_id: int,
    component: str,
    index: TimeIndexFields,
) -> None:
    """Put an object's rows in the time table in place of those it had."""
    raw.execute("DELETE FROM object_instances WHERE object_id = ?", (object_id,))
    insert_instances_blocking(raw, object_id, collection_id, component, index)


def insert_instances_blocking(
    raw: sqlite3.Connection,
    object_id: int,
    collection_id: int,
    component: str,
    index: TimeIndexFields,
) -> None:
    """Put a new object's rows in the time table."""
    if index.rows:
        # One prepared statement for every row: a statement of as many
        # VALUES as the object has rows would be compiled for each count.
        raw.executemany(
            _INSERT_ROWS, [(object_id, collection_id, component, *row) for row in index.rows]
        )


def store_time_indexes_blocking(
    raw: sqlite3.Connection, indexes: Iterable[tuple[int, str, TimeIndexFields]]
) -> int:
    """Store newly computed time indexes of unchanged objects (rows written
    before the table, series kept further), each ``(object id, etag,
    index)``; an object whose ETag changed meanwhile is left alone.  The
    resources themselves are the same, so neither ETags nor the change log
    move.  Returns how many were stored.
    """
    stored = 0
    for object_id, etag, index in indexes:
        found = raw.execute(
            "UPDATE objects SET span_start = ?, span_end = ?, indexed_until = ?, indexed_from = ?"
            " WHERE id = ? AND etag = ? RETURNING collection_id, component",
            (*_index_values(index), object_id, etag),
        ).fetchone()
        if found is None:
            continue
        replace_instances_blocking(raw, object_id, found[0], found[1], index)
        stored += 1
    return stored


def unindexed_blocking(raw: sqlite3.Connection, after_id: int, limit: int) -> list[ObjectRow]:
    """Up to ``limit`` objects without a time index yet, by id after ``after_id``, with their data.

    Read through a partial index that holds only such objects: once every
    object is indexed, it is empty.
    """
    rows = raw.execute(
        f"SELECT {_META}, o.indexed_until, o.indexed_from, o.data FROM objects o"
        " WHERE o.indexed_until IS NULL AND o.id > ? ORDER BY o.id LIMIT ?",
        (after_id, limit),
    ).fetchall()
    return [_indexed_row(r, True) for r in rows]


def running_out_blocking(
    raw: sqlite3.Connection, before: int, after: tuple[int, int], limit: int
) -> list[ObjectRow]:
    """Up to ``limit`` series whose rows end before ``before``, with their data.

    Only series kept to a horizon (neither "every range" nor "not
    indexed"), read through a partial index of them, in order of
    ``(indexed_until, id)`` after ``after``.
    """
    rows = raw.execute(
        f"SELECT {_META}, o.indexed_until, o.indexed_from, o.data FROM objects o"
        f" WHERE o.indexed_until > {NOT_KEPT} AND o.indexed_until < {KEPT_ALWAYS}"
        " AND o.indexed_until < ? AND (o.indexed_until > ? OR (o.indexed_until = ? AND o.id > ?))"
        " ORDER BY o.indexed_until, o.id LIMIT ?",
        (before, after[0], after[0], after[1], limit),
    ).fetchall()
    return [_indexed_row(r, True) for r in rows]


# The two ends of indexed_until that are not a horizon (domain.time_index's
# NOT_INDEXED and BEYOND), as literals: the partial index of migration 0012
# names them, and a query uses it only when it names them too.
NOT_KEPT = -(2**62)
KEPT_ALWAYS = 2**62


def _index_values(index: TimeIndexFields) -> tuple[object, ...]:
    return (
        SPAN_MIN if index.span_start is None else index.span_start,
        SPAN_MAX if index.span_end is None else index.span_end,
        index.until,
        index.since,
    )


async def objects_of_component(
    conn: Connection, collection_id: int, component: str | None
) -> list[ObjectRow]:
    sql = f"SELECT {_META}, o.data FROM objects o WHERE o.collection_id = ?"
    args: list[object] = [collection_id]
    if component:
        sql += " AND o.component = ?"
        args.append(component)
    rows = await _fetch(conn, sql + " ORDER BY o.name", args)
    return [_row(r, True) for r in rows]


async def write_object(conn: Connection, **fields: Any) -> int:
    """Create or replace an object; returns its new modification sequence."""
    return await in_thread(conn, write_object_blocking, **fields)


def write_object_blocking(
    raw: sqlite3.Connection,
    *,
    collection_id: int,
    name: str,
    uid: str,
    component: str,
    etag: str,
    data: bytes,
    index: TimeIndexFields,
    modified_at: str,
    schedule_tag: str | None = None,
    replaces: bool = True,
    uid_holder: str | None | object = LOOK_UP,
) -> int:
    """``write_object`` inside the caller's transaction, in the connection's thread.

    ``index`` is the object's time index (``domain.time_index.time_index``),
    given on every write: a write that left it out would make queries parse
    the object.  ``replaces=False`` says the caller found no object of that
    name earlier in this transaction: the new row has no time rows to take
    away.  ``uid_holder`` is the name of the object that has the UID, when
    the caller read it earlier in this transaction (None: no object has it).
    Raises UidConflict when another resource of the collection has the UID.
    """
    if uid_holder is LOOK_UP:
        found = raw.execute(
            "SELECT name FROM objects WHERE collection_id = ? AND uid = ?", (collection_id, uid)
        ).fetchone()
        uid_holder = found[0] if found is not None else None
    if uid_holder is not None and uid_holder != name:
        raise UidConflict(str(uid_holder))
    modseq = next_modseq_blocking(raw, collection_id)
    object_id = raw.execute(
        "INSERT INTO objects (collection_id, name, uid, component, etag, schedule_tag, data,"
        " modseq, modified_at, span_start, span_end, indexed_until, indexed_from)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (collection_id, name) DO UPDATE SET uid = excluded.uid,"
        " component = excluded.component, etag = excluded.etag,"
        " schedule_tag = excluded.schedule_tag, data = excluded.data,"
        " modseq = excluded.modseq, span_start = excluded.span_start,"
        " span_end = excluded.span_end, modified_at = excluded.modified_at,"
        " indexed_until = excluded.indexed_until, indexed_from = excluded.indexed_from"
        " RETURNING id",
        (
            collection_id,
            name,
            uid,
            component,
            etag,
            schedule_tag,
            data,
            modseq,
            modified_at,
            *_index_values(index),
        ),
    ).fetchone()[0]
    if replaces:
        replace_instances_blocking(raw, object_id, collection_id, component, index)
    else:
        insert_instances_blocking(raw, object_id, collection_id, component, index)
    record_change_blocking(raw, collection_id, name, modseq, deleted=False)
    return modseq


async def delete_object(conn: Connection, collection_id: int, name: str) -> bool:
    return await in_thread(conn, delete_object_blocking, collection_id, name)


def delete_object_blocking(raw: sqlite3.Connection, collection_id: int, name: str) -> bool:
    cur = raw.execute(
        "DELETE FROM objects WHERE collection_id = ? AND name = ?", (collection_id, name)
    )
    if cur.rowcount == 0:
        return False
    modseq = next_modseq_blocking(raw, collection_id)
    record_change_blocking(raw, collection_id, name, modseq, deleted=True)
    return True


def record_change_blocking(
    raw: sqlite3.Connection, collection_id: int, name: str, modseq: int, *, deleted: bool
) -> None:
    """The change log's entry for *name*: its latest change, or its tombstone."""
    raw.execute(
        "INSERT INTO changes (collection_id, name, modseq, deleted) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (collection_id, name) DO UPDATE SET modseq = excluded.modseq,"
        " deleted = excluded.deleted",
        (collection_id, name, modseq, int(deleted)),
    )


async def changes_since(conn: Connection, collection_id: int, modseq: int) -> list[Change]:
    """What changed after *modseq*: cost grows with the changes, not the collection."""
    rows = await _fetch(
        conn,
        "SELECT ch.name, ch.modseq, ch.deleted, o.etag, length(o.data) AS size, o.modified_at,"
        " o.component"
        " FROM changes ch LEFT JOIN objects o"
        " ON o.collection_id = ch.collection_id AND o.name = ch.name"
        " WHERE ch.collection_id = ? AND ch.modseq > ? ORDER BY ch.modseq",
        (collection_id, modseq),
    )
    # By position, in the order of Change's fields (a long log is read at once).
    return [
        Change(name, seq, bool(deleted) or etag is None, etag, size, modified_at, component)
        for name, seq, deleted, etag, size, modified_at, component in rows
    ]


async def owned_object_end(conn: Connection, owner_id: int, uid: str) -> tuple[bool, int | None]:
    """Whether the owner has an object with this UID, and the UTC end of its span.

    The end is None for an open-ended series (or one without an end).
    """
    async with conn.execute(
        "SELECT o.span_end FROM objects o JOIN collections c ON c.id = o.collection_id"
        " WHERE c.owner_id = ? AND c.kind = 'calendar' AND o.uid = ? ORDER BY o.id LIMIT 1",
        (owner_id, uid),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return False, None
    end = row[0]
    return True, (None if end is None or end >= SPAN_MAX else int(end))


async def find_owned_object(conn: Connection, owner_id: int, uid: str) -> ObjectRow | None:
    """An object with this UID in any calendar of the owner (the organizer's copy)."""
    row = await _one(
        conn,
        f"SELECT {_META}, o.data FROM objects o JOIN collections c ON c.id = o.collection_id"
        " WHERE c.owner_id = ? AND c.kind = 'calendar' AND o.uid = ? ORDER BY o.id LIMIT 1",
        (owner_id, uid),
    )
    return _row(row, True) if row else None

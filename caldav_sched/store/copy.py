"""A whole installation from one database into another (SQLite <-> PostgreSQL).

Every table the server keeps, row for row and column for column: users,
calendars with their modification sequences, objects with their stored
bytes, ETags, Schedule-Tags and their rows of the time table (so a copy
answers queries as the original does, without parsing anything), the
change log (so clients' sync tokens stay valid), reply tokens, the iTIP
history, SEQUENCE marks, inbound mail (with the mailbox place each IMAP
message came from, so none is taken twice), jobs in every state and the
server's secrets.  Not the leases: they name processes of the source
installation, and the target's first reader takes them.  The target must be migrated and
empty; rows keep their ids, and PostgreSQL's id generators are moved past
the copied ids.  Rows go over in batches, each batch one write transaction
in one trip to the target's writer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from caldav_sched.store import postgresql
from caldav_sched.store.errors import StoreError

# In the order foreign keys need, with the key each is read in.
TABLES: tuple[tuple[str, str], ...] = (
    ("users", "id"),
    ("collections", "id"),
    ("objects", "id"),
    ("object_instances", "id"),
    ("changes", "collection_id, name"),
    ("jobs", "id"),
    ("imip_tokens", "token"),
    ("itip_log", "id"),
    ("sequence_marks", "owner_id, uid"),
    ("inbound_messages", "id"),
    ("server_secrets", "name"),
)

# Columns stored as bytes on PostgreSQL (BYTEA), which SQLite may hold as text.
_BYTES = {
    ("objects", "data"), ("inbound_messages", "raw"),
}

BATCH = 500

Progress = Callable[[str, int, int], None]


class TargetNotEmpty(StoreError):
    """The target database already holds an installation."""


async def _columns(db: Any, table: str) -> list[str]:
    if postgresql.is_postgresql(db):
        rows = await db.reader().execute_fetchall(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
    else:
        rows = await db.reader().execute_fetchall(f"PRAGMA table_info({table})")
        return [row[1] for row in rows]
    return [row[0] for row in rows]


async def counts(db: Any) -> dict[str, int]:
    """Rows per table."""
    found = {}
    for table, _ in TABLES:
        rows = await db.reader().execute_fetchall(f"SELECT count(*) FROM {table}")
        found[table] = int(rows[0][0])
    return found


def _convert(table: str, columns: Sequence[str], row: Sequence[Any]) -> tuple[Any, ...]:
    values = list(row)
    for i, column in enumerate(columns):
        value = values[i]
        if (table, column) in _BYTES and value is not None:
            if isinstance(value, str):
                value = value.encode("utf-8")
            elif isinstance(value, memoryview):
                value = bytes(value)
        values[i] = value
    return tuple(values)


def _insert_all(raw: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    for row in rows:
        raw.execute(sql, row)


async def copy_installation(source: Any, target: Any, progress: Progress | None = None) -> dict[str, int]:
    """Copy every row of *source* into the empty *target* (both open and migrated)."""
    present = {table: n for table, n in (await counts(target)).items() if n}
    if present:
        held = ", ".join(f"{n} {table}" for table, n in present.items())
        raise TargetNotEmpty(f"the target database is not empty ({held}); copy into a new one")
    totals = await counts(source)
    for table, key in TABLES:
        source_columns = await _columns(source, table)
        target_columns = set(await _columns(target, table))
        columns = [c for c in source_columns if c in target_columns]
        missing = [c for c in source_columns if c not in target_columns]
        if missing:
            raise StoreError(
                f"the target's {table} has no column {', '.join(missing)}: migrate it first"
            )
        names = ", ".join(columns)
        insert = (
            f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' for _ in columns)})"
        )
        # Batches by key (each one an index range scan from where the last
        # ended), so a large table costs its rows, not rows x batches.
        key_columns = [name.strip() for name in key.split(",")]
        key_at = [columns.index(name) for name in key_columns]
        first = f"SELECT {names} FROM {table} ORDER BY {key} LIMIT ?"
        after = (
            f"SELECT {names} FROM {table} WHERE ({key}) > ({', '.join('?' for _ in key_at)})"
            f" ORDER BY {key} LIMIT ?"
        )
        done = 0
        last: tuple[Any, ...] | None = None
        while True:
            rows = await source.reader().execute_fetchall(
                first if last is None else after, (BATCH,) if last is None else (*last, BATCH)
            )
            if not rows:
                break
            last = tuple(rows[-1][i] for i in key_at)
            batch = [_convert(table, columns, row) for row in rows]
            await target.write(lambda raw, b=batch: _insert_all(raw, insert, b))
            done += len(rows)
            if progress is not None:
                progress(table, done, totals[table])
        if progress is not None and done == 0:
            progress(table, 0, 0)
    if postgresql.is_postgresql(target):
        await target.run(postgresql.restart_identities, [t for t, k in TABLES if k == "id"])
        # The planner's statistics of the filled tables, at once: until
        # autovacuum gathers them, it may plan lookups by key as scans of
        # what it takes for small tables.
        await target.run(lambda raw: raw.execute("ANALYZE"))
    return totals

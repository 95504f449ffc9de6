"""Schema migrations: numbered plain-SQL files per backend, applied in order, once each.

The files live in the top-level ``migrations/sqlite/`` and
``migrations/postgresql/`` of the source tree and ship inside the package as
``caldav_sched.migrations`` (mapped in setup.py), so an installed server can
migrate its database.  Each file runs in one transaction together with the
row that records it in ``schema_migrations``.

PostgreSQL's ``0001_initial.sql`` holds the schema of SQLite's files in
``FOLDED_INTO_INITIAL`` in one; every other SQLite migration has a
PostgreSQL twin with the same number.  Several instances starting at once
on one PostgreSQL database migrate one after the other (an advisory lock).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from caldav_sched.store import postgresql
from caldav_sched.store.db import Database

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

BACKENDS = ("sqlite", "postgresql")

# The SQLite migrations whose schema PostgreSQL's 0001 already holds.
FOLDED_INTO_INITIAL = frozenset({1, 2, 3, 4, 5, 9, 10})

_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def _folder(backend: str) -> Traversable:
    """Where a backend's files are: in the installed package, or in the checkout.

    An installed server (``pip install .`` or ``-e .``) has them as
    ``caldav_sched.migrations``; code run straight from a checkout (the
    tests put the checkout first on the path) finds the top-level folder.
    """
    try:
        return resources.files("caldav_sched.migrations") / backend
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "migrations" / backend


def available_migrations(backend: str = "sqlite") -> list[Migration]:
    folder = _folder(backend)
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    return found


async def applied_versions(db: Any) -> set[int]:
    if postgresql.is_postgresql(db):
        return set(await db.run(_pg_applied))
    conn = db.writer
    await conn.execute(_TABLE)
    async with conn.execute("SELECT version FROM schema_migrations") as cur:
        return {row[0] for row in await cur.fetchall()}


def _pg_applied(raw: postgresql.PgRaw) -> list[int]:
    raw.execute(_TABLE)
    return [row[0] for row in raw.execute("SELECT version FROM schema_migrations").fetchall()]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


async def migrate(db: Any) -> list[str]:
    """Apply every pending migration; returns the names applied."""
    if postgresql.is_postgresql(db):
        return list(await db.run(_pg_migrate, available_migrations("postgresql")))
    return await _sqlite_migrate(db)


async def _sqlite_migrate(db: Database) -> list[str]:
    done = await applied_versions(db)
    applied = []
    for migration in available_migrations("sqlite"):
        if migration.version in done:
            continue
        # executescript commits anything pending first; the explicit
        # BEGIN/COMMIT make the file and its record one transaction.
        record = (
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES "
            f"({migration.version}, '{migration.name}', '{_now()}');"
        )
        try:
            await db.writer.executescript(
                f"BEGIN IMMEDIATE;\n{migration.sql}\n{record}\nCOMMIT;"
            )
        except BaseException:
            if db.writer.in_transaction:
                await db.writer.execute("ROLLBACK")
            raise
        applied.append(migration.name)
    return applied


def _pg_migrate(raw: postgresql.PgRaw, migrations: list[Migration]) -> list[str]:
    raw.execute("SELECT pg_advisory_lock(?)", (postgresql.MIGRATE_LOCK_KEY,))
    try:
        done = set(_pg_applied(raw))
        applied = []
        for migration in migrations:
            if migration.version in done:
                continue
            raw.execute("BEGIN")
            try:
                raw.script(migration.sql)
                raw.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, _now()),
                )
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")
            applied.append(migration.name)
        return applied
    finally:
        raw.execute("SELECT pg_advisory_unlock(?)", (postgresql.MIGRATE_LOCK_KEY,))

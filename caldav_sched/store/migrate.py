"""Schema migrations: numbered plain-SQL files applied in order, once each.

The files ship inside the package (``caldav_sched/migrations/NNNN_name.sql``)
so that an installed server can migrate its database.  Each file runs in one
transaction together with the row that records it in ``schema_migrations``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources

from caldav_sched.store.db import Database

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    folder = resources.files("caldav_sched") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    return found


async def applied_versions(db: Database) -> set[int]:
    conn = db.writer
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    async with conn.execute("SELECT version FROM schema_migrations") as cur:
        return {row[0] for row in await cur.fetchall()}


async def migrate(db: Database) -> list[str]:
    """Apply every pending migration; returns the names applied."""
    done = await applied_versions(db)
    applied = []
    for migration in available_migrations():
        if migration.version in done:
            continue
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        # executescript commits anything pending first; the explicit
        # BEGIN/COMMIT make the file and its record one transaction.
        record = (
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES "
            f"({migration.version}, '{migration.name}', '{now}');"
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

"""SQL for the server's own secrets (one row per named secret)."""

from __future__ import annotations

from caldav_sched.store.db import Connection


async def get_secret(conn: Connection, name: str) -> str | None:
    async with conn.execute("SELECT value FROM server_secrets WHERE name = ?", (name,)) as cur:
        row = await cur.fetchone()
    return str(row[0]) if row else None


async def keep_secret(conn: Connection, name: str, value: str, now: str) -> str:
    """Store *value* under *name* unless a secret is there already; return the stored one.

    The first process to ask wins; every other one gets the same value.
    """
    await conn.execute(
        "INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO NOTHING",
        (name, value, now),
    )
    stored = await get_secret(conn, name)
    assert stored is not None
    return stored

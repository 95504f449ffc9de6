"""SQL for leases: work only one process may do at a time.

A lease is one row per kind of work, naming its holder and when the lease
lapses.  Taking and renewing are one atomic upsert, so two processes on one
database can never both believe they hold it.
"""

from __future__ import annotations

from dataclasses import dataclass

from caldav_sched.store.db import Connection


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    expires_at: float


async def take_lease(conn: Connection, name: str, holder: str, *, now: float, until: float) -> Lease:
    """Take the lease if it is free, lapsed or already ours; returns who holds it now."""
    await conn.execute(
        "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
        " WHERE leases.holder = excluded.holder OR leases.expires_at < ?",
        (name, holder, until, now),
    )
    async with conn.execute(
        "SELECT name, holder, expires_at FROM leases WHERE name = ?", (name,)
    ) as cur:
        row = await cur.fetchone()
    return Lease(row["name"], row["holder"], row["expires_at"])


async def take_over_lease(
    conn: Connection, name: str, *, from_holder: str, holder: str, until: float
) -> bool:
    """Take the lease from a holder known to be gone; False if it changed hands meanwhile."""
    cur = await conn.execute(
        "UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND holder = ?",
        (holder, until, name, from_holder),
    )
    return cur.rowcount == 1


async def release_lease(conn: Connection, name: str, holder: str) -> None:
    await conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

"""SQL for the operator's gauges: queue depth, jobs by state, mail outcomes.

Read at scrape time (``/healthz``, ``/metrics``), so the numbers are the
database's and hold across restarts and across several ``serve`` processes
on one database.  Every failure comes out as ``DatabaseUnavailable``.
"""

from __future__ import annotations

from dataclasses import dataclass

from caldav_sched.store.db import DATABASE_ERRORS, Connection
from caldav_sched.store.errors import DatabaseUnavailable

# Jobs not finished yet: what "queue depth" counts.
WAITING_STATES = ("pending", "retrying", "running")


@dataclass(frozen=True)
class QueueStats:
    by_kind_and_state: dict[tuple[str, str], int]
    oldest_waiting_created_at: str | None

    @property
    def depth(self) -> int:
        return sum(n for (_, state), n in self.by_kind_and_state.items() if state in WAITING_STATES)


@dataclass(frozen=True)
class Totals:
    """Counts of what happened, by outcome."""

    mails: dict[str, int]  # itip_log rows sent out, by state (sent, failed, retrying, ...)
    inbound: dict[str, int]  # inbound messages by state (received, applied, refused)


async def ping(conn: Connection) -> None:
    """Fail with ``DatabaseUnavailable`` unless the database answers a query."""
    try:
        async with conn.execute("SELECT count(*) FROM schema_migrations") as cur:
            await cur.fetchone()
    except DATABASE_ERRORS as exc:  # aiosqlite raises ValueError once closed
        raise DatabaseUnavailable(f"the database does not answer: {exc}") from exc


async def queue_stats(conn: Connection) -> QueueStats:
    marks = ", ".join("?" for _ in WAITING_STATES)
    try:
        async with conn.execute(
            "SELECT kind, state, count(*) FROM jobs GROUP BY kind, state"
        ) as cur:
            counts = {(r[0], r[1]): r[2] for r in await cur.fetchall()}
        async with conn.execute(
            f"SELECT min(created_at) FROM jobs WHERE state IN ({marks})", WAITING_STATES
        ) as cur:
            row = await cur.fetchone()
    except DATABASE_ERRORS as exc:
        raise DatabaseUnavailable(f"the database does not answer: {exc}") from exc
    return QueueStats(counts, row[0] if row else None)


async def totals(conn: Connection) -> Totals:
    try:
        async with conn.execute(
            "SELECT state, count(*) FROM itip_log WHERE direction = 'out' GROUP BY state"
        ) as cur:
            mails = {r[0]: r[1] for r in await cur.fetchall()}
        async with conn.execute(
            "SELECT state, count(*) FROM inbound_messages GROUP BY state"
        ) as cur:
            inbound = {r[0]: r[1] for r in await cur.fetchall()}
    except DATABASE_ERRORS as exc:
        raise DatabaseUnavailable(f"the database does not answer: {exc}") from exc
    return Totals(mails, inbound)

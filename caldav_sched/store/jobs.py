"""SQL for the job queue: enqueue inside a write, claim atomically, settle.

A claim is one statement (``UPDATE ... WHERE id = (SELECT ...) RETURNING``)
so two workers never take the same job; it also takes back a job whose
lease ran out because the process that held it died.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from caldav_sched.store import postgresql
from caldav_sched.store.db import Connection, where

STATES = ("pending", "running", "retrying", "done", "failed")


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: str
    payload: dict[str, Any]
    state: str
    attempts: int
    run_after: int
    locked_until: int | None
    locked_by: str | None
    last_error: str | None
    uid: str | None
    created_at: str
    updated_at: str


_COLUMNS = (
    "id, kind, payload, state, attempts, run_after, locked_until, locked_by, last_error,"
    " uid, created_at, updated_at"
)


def _row(row: sqlite3.Row) -> JobRow:
    return JobRow(
        id=row["id"],
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        state=row["state"],
        attempts=row["attempts"],
        run_after=row["run_after"],
        locked_until=row["locked_until"],
        locked_by=row["locked_by"],
        last_error=row["last_error"],
        uid=row["uid"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def enqueue(
    conn: Connection,
    *,
    kind: str,
    payload: dict[str, Any],
    run_after: int,
    now: str,
    uid: str | None = None,
) -> int:
    cur = await conn.execute(
        "INSERT INTO jobs (kind, payload, run_after, uid, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (kind, json.dumps(payload), run_after, uid, now, now),
    )
    if postgresql.is_postgresql(conn):
        # Delivered at commit, to the workers of every instance.
        await conn.execute(postgresql.NOTIFY_JOBS)
    return cur.lastrowid or 0


_CLAIM_NEXT = (
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = ?,"
    " locked_until = ?, updated_at = ?"
    " WHERE id = (SELECT id FROM jobs"
    "  WHERE (state IN ('pending', 'retrying') AND run_after <= ?)"
    "     OR (state = 'running' AND locked_until < ?)"
    "  ORDER BY run_after, id LIMIT 1)"
)


async def claim_next(
    conn: Connection, *, worker: str, now_epoch: int, lease_seconds: int, now: str
) -> JobRow | None:
    """Take the next due job, or one whose holder's lease has expired."""
    claim = postgresql.CLAIM_NEXT if postgresql.is_postgresql(conn) else _CLAIM_NEXT
    async with conn.execute(
        f"{claim} RETURNING {_COLUMNS}",
        (worker, now_epoch + lease_seconds, now, now_epoch, now_epoch),
    ) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def claim(
    conn: Connection, job_id: int, *, worker: str, lease_until: int, now: str
) -> None:
    """Claim one known job (the process that created it runs it itself)."""
    await conn.execute(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = ?,"
        " locked_until = ?, updated_at = ? WHERE id = ?",
        (worker, lease_until, now, job_id),
    )


async def finish(conn: Connection, job_id: int, *, now: str) -> None:
    await conn.execute(
        "UPDATE jobs SET state = 'done', locked_by = NULL, locked_until = NULL,"
        " last_error = NULL, updated_at = ? WHERE id = ?",
        (now, job_id),
    )


async def retry_later(
    conn: Connection, job_id: int, *, run_after: int, error: str, now: str
) -> None:
    await conn.execute(
        "UPDATE jobs SET state = 'retrying', run_after = ?, last_error = ?, locked_by = NULL,"
        " locked_until = NULL, updated_at = ? WHERE id = ?",
        (run_after, error, now, job_id),
    )


async def fail(conn: Connection, job_id: int, *, error: str, now: str) -> None:
    await conn.execute(
        "UPDATE jobs SET state = 'failed', last_error = ?, locked_by = NULL,"
        " locked_until = NULL, updated_at = ? WHERE id = ?",
        (error, now, job_id),
    )


async def release(conn: Connection, *, worker: str, now: str) -> int:
    """Give back every job a worker holds (clean shutdown), untouched otherwise."""
    cur = await conn.execute(
        "UPDATE jobs SET state = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'pending' END,"
        " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, locked_by = NULL, locked_until = NULL,"
        " updated_at = ? WHERE state = 'running' AND locked_by = ?",
        (now, worker),
    )
    return cur.rowcount


async def release_orphans(conn: Connection, *, holders: list[str], now: str) -> int:
    """Give back jobs held by workers known to be gone (a killed process)."""
    if not holders:
        return 0
    marks = ",".join("?" * len(holders))
    cur = await conn.execute(
        "UPDATE jobs SET state = CASE WHEN attempts > 1 THEN 'retrying' ELSE 'pending' END,"
        " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, locked_by = NULL, locked_until = NULL,"
        f" updated_at = ? WHERE state = 'running' AND locked_by IN ({marks})",
        (now, *holders),
    )
    return cur.rowcount


async def running_holders(conn: Connection) -> list[str]:
    async with conn.execute(
        "SELECT DISTINCT locked_by FROM jobs WHERE state = 'running' AND locked_by IS NOT NULL"
    ) as cur:
        return [r[0] for r in await cur.fetchall()]


async def get_job(conn: Connection, job_id: int) -> JobRow | None:
    async with conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def list_jobs(
    conn: Connection, *, state: str | None = None, uid: str | None = None, limit: int = 1000
) -> list[JobRow]:
    filters, args = where(state=state, uid=uid)
    sql = f"SELECT {_COLUMNS} FROM jobs{filters} ORDER BY id DESC LIMIT ?"
    async with conn.execute(sql, (*args, limit)) as cur:
        return [_row(r) for r in await cur.fetchall()]


async def count_by_state(conn: Connection) -> dict[str, int]:
    async with conn.execute("SELECT state, count(*) FROM jobs GROUP BY state") as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


async def requeue(conn: Connection, job_id: int, *, run_after: int, now: str) -> bool:
    cur = await conn.execute(
        "UPDATE jobs SET state = 'pending', attempts = 0, run_after = ?, last_error = NULL,"
        " updated_at = ? WHERE id = ? AND state = 'failed'",
        (run_after, now, job_id),
    )
    return cur.rowcount > 0


async def requeue_failed(conn: Connection, *, run_after: int, now: str) -> int:
    cur = await conn.execute(
        "UPDATE jobs SET state = 'pending', attempts = 0, run_after = ?, last_error = NULL,"
        " updated_at = ? WHERE state = 'failed'",
        (run_after, now),
    )
    return cur.rowcount


async def purge_done(conn: Connection) -> int:
    cur = await conn.execute("DELETE FROM jobs WHERE state = 'done'")
    return cur.rowcount

"""SQL for scheduling bookkeeping: reply tokens, the iTIP history, SEQUENCE marks."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from caldav_sched.store.db import Connection


@dataclass(frozen=True)
class TokenRow:
    token: str
    owner_id: int
    uid: str
    attendee: str
    created_at: str
    revoked_at: str | None


@dataclass(frozen=True)
class LogRow:
    id: int
    owner_id: int | None
    uid: str
    direction: str
    method: str
    peer: str
    sequence: int | None
    job_id: int | None
    state: str
    reason: str
    detail: str | None
    created_at: str
    updated_at: str


def _token(row: sqlite3.Row) -> TokenRow:
    return TokenRow(*(row[k] for k in ("token", "owner_id", "uid", "attendee", "created_at", "revoked_at")))


async def token_for(conn: Connection, owner_id: int, uid: str, attendee: str) -> TokenRow | None:
    async with conn.execute(
        "SELECT token, owner_id, uid, attendee, created_at, revoked_at FROM imip_tokens"
        " WHERE owner_id = ? AND uid = ? AND attendee = ?",
        (owner_id, uid, attendee),
    ) as cur:
        row = await cur.fetchone()
    return _token(row) if row else None


async def insert_token(
    conn: Connection, *, token: str, owner_id: int, uid: str, attendee: str, now: str
) -> None:
    await conn.execute(
        "INSERT INTO imip_tokens (token, owner_id, uid, attendee, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (token, owner_id, uid, attendee, now),
    )


async def get_token(conn: Connection, token: str) -> TokenRow | None:
    async with conn.execute(
        "SELECT token, owner_id, uid, attendee, created_at, revoked_at FROM imip_tokens"
        " WHERE token = ?",
        (token,),
    ) as cur:
        row = await cur.fetchone()
    return _token(row) if row else None


async def set_token_revoked(conn: Connection, token: str, revoked_at: str | None) -> None:
    await conn.execute(
        "UPDATE imip_tokens SET revoked_at = ? WHERE token = ?", (revoked_at, token)
    )


async def add_log(
    conn: Connection,
    *,
    owner_id: int | None,
    uid: str,
    direction: str,
    method: str,
    peer: str,
    sequence: int | None,
    state: str,
    reason: str,
    now: str,
    job_id: int | None = None,
    detail: str | None = None,
) -> int:
    cur = await conn.execute(
        "INSERT INTO itip_log (owner_id, uid, direction, method, peer, sequence, job_id, state,"
        " reason, detail, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (owner_id, uid, direction, method, peer, sequence, job_id, state, reason, detail, now, now),
    )
    return cur.lastrowid or 0


async def update_log_for_job(
    conn: Connection, job_id: int, *, state: str, detail: str | None, now: str
) -> None:
    await conn.execute(
        "UPDATE itip_log SET state = ?, detail = ?, updated_at = ? WHERE job_id = ?",
        (state, detail, now, job_id),
    )


async def log_for_uid(conn: Connection, uid: str) -> list[LogRow]:
    async with conn.execute(
        "SELECT id, owner_id, uid, direction, method, peer, sequence, job_id, state, reason,"
        " detail, created_at, updated_at FROM itip_log WHERE uid = ? ORDER BY id",
        (uid,),
    ) as cur:
        return [LogRow(*tuple(r)) for r in await cur.fetchall()]


async def sequence_mark(conn: Connection, owner_id: int, uid: str) -> int:
    async with conn.execute(
        "SELECT sequence FROM sequence_marks WHERE owner_id = ? AND uid = ?", (owner_id, uid)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def raise_sequence_mark(conn: Connection, owner_id: int, uid: str, sequence: int) -> None:
    await conn.execute(
        "INSERT INTO sequence_marks (owner_id, uid, sequence) VALUES (?, ?, ?)"
        " ON CONFLICT (owner_id, uid) DO UPDATE SET sequence = CASE"
        " WHEN excluded.sequence > sequence_marks.sequence THEN excluded.sequence"
        " ELSE sequence_marks.sequence END",
        (owner_id, uid, sequence),
    )

"""SQL for inbound mail: the raw message as received, and what became of it."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from caldav_sched.store.db import Connection, where


@dataclass(frozen=True)
class InboundRow:
    id: int
    received_at: str
    via: str
    envelope_from: str | None
    envelope_to: tuple[str, ...]
    message_id: str | None
    size: int
    state: str
    reason: str | None
    method: str | None
    uid: str | None
    attendee: str | None
    processed_at: str | None
    raw: bytes | None = None


_COLUMNS = (
    "id, received_at, via, envelope_from, envelope_to, message_id, size, state, reason,"
    " method, uid, attendee, processed_at"
)


def _row(row: sqlite3.Row, with_raw: bool = False) -> InboundRow:
    return InboundRow(
        id=row["id"],
        received_at=row["received_at"],
        via=row["via"],
        envelope_from=row["envelope_from"],
        envelope_to=tuple(json.loads(row["envelope_to"])),
        message_id=row["message_id"],
        size=row["size"],
        state=row["state"],
        reason=row["reason"],
        method=row["method"],
        uid=row["uid"],
        attendee=row["attendee"],
        processed_at=row["processed_at"],
        raw=bytes(row["raw"]) if with_raw else None,
    )


async def insert_inbound(
    conn: Connection,
    *,
    raw: bytes,
    via: str,
    envelope_from: str | None,
    envelope_to: list[str],
    message_id: str | None,
    now: str,
    origin: str | None = None,
) -> int:
    cur = await conn.execute(
        "INSERT INTO inbound_messages (received_at, via, envelope_from, envelope_to,"
        " message_id, size, raw, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (now, via, envelope_from, json.dumps(envelope_to), message_id, len(raw), raw, origin),
    )
    return cur.lastrowid or 0


async def stored_from_mailbox(
    conn: Connection, *, origin: str, message_id: str | None
) -> int | None:
    """The message already stored from this mailbox place, or with this Message-ID over IMAP."""
    async with conn.execute(
        "SELECT id FROM inbound_messages WHERE origin = ?", (origin,)
    ) as cur:
        row = await cur.fetchone()
    if row is None and message_id:
        async with conn.execute(
            "SELECT id FROM inbound_messages WHERE via = 'imap' AND message_id = ? LIMIT 1",
            (message_id,),
        ) as cur:
            row = await cur.fetchone()
    return row["id"] if row else None


async def get_inbound(conn: Connection, inbound_id: int, *, with_raw: bool = True) -> InboundRow | None:
    columns = _COLUMNS + (", raw" if with_raw else "")
    async with conn.execute(
        f"SELECT {columns} FROM inbound_messages WHERE id = ?", (inbound_id,)
    ) as cur:
        row = await cur.fetchone()
    return _row(row, with_raw) if row else None


async def settle_inbound(
    conn: Connection,
    inbound_id: int,
    *,
    state: str,
    reason: str,
    method: str | None,
    uid: str | None,
    attendee: str | None,
    now: str,
) -> None:
    await conn.execute(
        "UPDATE inbound_messages SET state = ?, reason = ?, method = ?, uid = ?, attendee = ?,"
        " processed_at = ? WHERE id = ?",
        (state, reason, method, uid, attendee, now, inbound_id),
    )


async def list_inbound(
    conn: Connection, *, state: str | None = None, uid: str | None = None, limit: int = 1000
) -> list[InboundRow]:
    filters, args = where(state=state, uid=uid)
    sql = f"SELECT {_COLUMNS} FROM inbound_messages{filters} ORDER BY id DESC LIMIT ?"
    async with conn.execute(sql, (*args, limit)) as cur:
        return [_row(r) for r in await cur.fetchall()]

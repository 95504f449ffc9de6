"""SQL for the operator's view of events across users' calendars."""

from __future__ import annotations

from dataclasses import dataclass

from caldav_sched.store.db import Connection


@dataclass(frozen=True)
class EventRow:
    owner: str
    collection: str
    name: str
    etag: str
    modified_at: str
    data: bytes


async def events(
    conn: Connection, *, owner: str | None = None, uid: str | None = None
) -> list[EventRow]:
    sql = (
        "SELECT u.name AS owner, c.path AS collection, o.name, o.etag, o.modified_at, o.data"
        " FROM objects o JOIN collections c ON c.id = o.collection_id"
        " JOIN users u ON u.id = c.owner_id WHERE c.kind = 'calendar'"
    )
    args: list[object] = []
    if owner is not None:
        sql += " AND u.name = ?"
        args.append(owner)
    if uid is not None:
        sql += " AND o.uid = ?"
        args.append(uid)
    async with conn.execute(sql + " ORDER BY u.name, c.path, o.name", args) as cur:
        return [
            EventRow(r["owner"], r["collection"], r["name"], r["etag"], r["modified_at"], bytes(r["data"]))
            for r in await cur.fetchall()
        ]

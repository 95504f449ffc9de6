"""SQL for users (the people who own calendar homes)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from caldav_sched.store.db import Connection, IntegrityError
from caldav_sched.store.errors import DuplicateName


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    email: str
    password_hash: str
    disabled: bool
    created_at: str
    also_email: bool = False


_COLUMNS = "id, name, email, password_hash, disabled, created_at, also_email"


def _row(row: sqlite3.Row) -> UserRow:
    return UserRow(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        password_hash=row["password_hash"],
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
        also_email=bool(row["also_email"]),
    )


async def insert_user(
    conn: Connection, *, name: str, email: str, password_hash: str, created_at: str
) -> UserRow:
    try:
        cur = await conn.execute(
            "INSERT INTO users (name, email, password_hash, created_at) VALUES (?, ?, ?, ?)",
            (name, email, password_hash, created_at),
        )
    except IntegrityError as exc:
        raise DuplicateName(f"a user named {name!r} or with address {email!r} exists") from exc
    return UserRow(cur.lastrowid or 0, name, email, password_hash, False, created_at)


async def get_user(conn: Connection, name: str) -> UserRow | None:
    sql = f"SELECT {_COLUMNS} FROM users WHERE name = ?"
    rows = list(await conn.execute_fetchall(sql, (name,)))
    row = rows[0] if rows else None
    return _row(row) if row else None


async def get_user_by_id(conn: Connection, user_id: int) -> UserRow | None:
    sql = f"SELECT {_COLUMNS} FROM users WHERE id = ?"
    rows = list(await conn.execute_fetchall(sql, (user_id,)))
    row = rows[0] if rows else None
    return _row(row) if row else None


async def get_user_by_email(conn: Connection, email: str) -> UserRow | None:
    rows = list(
        await conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM users WHERE lower(email) = lower(?)", (email,)
        )
    )
    row = rows[0] if rows else None
    return _row(row) if row else None


async def get_users_by_email(conn: Connection, emails: Sequence[str]) -> list[UserRow]:
    """The users holding any of these addresses, in one statement."""
    if not emails:
        return []
    marks = ", ".join("lower(?)" for _ in emails)
    sql = f"SELECT {_COLUMNS} FROM users WHERE lower(email) IN ({marks})"
    return [_row(r) for r in await conn.execute_fetchall(sql, tuple(emails))]


async def list_users(conn: Connection) -> list[UserRow]:
    sql = f"SELECT {_COLUMNS} FROM users ORDER BY name"
    return [_row(r) for r in await conn.execute_fetchall(sql)]


async def set_password_hash(conn: Connection, name: str, password_hash: str) -> bool:
    cur = await conn.execute(
        "UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name)
    )
    return cur.rowcount > 0


async def set_disabled(conn: Connection, name: str, disabled: bool) -> bool:
    cur = await conn.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name))
    return cur.rowcount > 0


async def set_also_email(conn: Connection, name: str, also_email: bool) -> bool:
    cur = await conn.execute(
        "UPDATE users SET also_email = ? WHERE name = ?", (int(also_email), name)
    )
    return cur.rowcount > 0

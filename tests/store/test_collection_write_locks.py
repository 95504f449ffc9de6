"""On PostgreSQL, writes to different collections do not wait for each other.

Another instance is played by a connection of the test's own that takes
the locks a write takes (``store.postgresql.begin``) and holds them: a
write to one collection waits only for writes to the same collection and
for writes that take the whole database, and those wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import asyncpg
import pytest

from caldav_sched.store import collections as collection_store
from caldav_sched.store import users as user_store
from caldav_sched.store.postgresql import PgDatabase, begin
from tests.postgres import needs_postgresql

pytestmark = needs_postgresql

NOW = "2026-01-01T00:00:00+00:00"


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
async def two_collections(db: PgDatabase) -> tuple[int, int]:
    async with db.transaction() as conn:
        alice = await user_store.insert_user(
            conn, name="alice", email="alice@example.com", password_hash="x", created_at=NOW
        )
        first = await collection_store.insert_collection(
            conn, owner_id=alice.id, path="work", kind="calendar", created_at=NOW
        )
        second = await collection_store.insert_collection(
            conn, owner_id=alice.id, path="home", kind="calendar", created_at=NOW
        )
    return first, second


@pytest.fixture
async def other_instance(db: PgDatabase) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(db.url)
    yield conn
    await conn.close()


def bump(collection: int) -> Any:
    """A write of one collection's rows: its next change number."""
    return lambda raw: raw.execute(
        "UPDATE collections SET modseq = modseq + 1 WHERE id = ? RETURNING modseq", (collection,)
    ).fetchone()[0]


async def still_waiting(write: Awaitable[Any]) -> asyncio.Task[Any]:
    task = asyncio.ensure_future(write)
    await asyncio.sleep(0.5)
    assert not task.done(), "the write did not wait"
    return task


async def test_a_write_to_one_collection_passes_a_write_held_on_another(
    db: PgDatabase, two_collections: tuple[int, int], other_instance: asyncpg.Connection
):
    first, second = two_collections
    await other_instance.execute(begin(second))
    assert await asyncio.wait_for(db.write(bump(first), collection=first), 5) == 1

    waiting = await still_waiting(db.write(bump(second), collection=second))
    await other_instance.execute("COMMIT")
    assert await asyncio.wait_for(waiting, 5) == 1


async def test_a_write_of_the_whole_database_waits_for_a_collection_write_and_back(
    db: PgDatabase, two_collections: tuple[int, int], other_instance: asyncpg.Connection
):
    first, _ = two_collections
    await other_instance.execute(begin(first))
    waiting = await still_waiting(db.write(bump(first)))
    await other_instance.execute("COMMIT")
    assert await asyncio.wait_for(waiting, 5) == 1

    await other_instance.execute(begin())
    waiting = await still_waiting(db.write(bump(first), collection=first))
    await other_instance.execute("COMMIT")
    assert await asyncio.wait_for(waiting, 5) == 2


async def claim_nothing(db: PgDatabase) -> int:
    """A write as a job's claim makes it: one statement locking the rows it changes."""
    async with db.transaction(row_locked=True) as conn:
        cur = await conn.execute("UPDATE jobs SET attempts = attempts WHERE id = -1")
        return cur.rowcount


async def test_a_jobs_claim_passes_collection_writes_and_waits_for_the_whole_database(
    db: PgDatabase, two_collections: tuple[int, int], other_instance: asyncpg.Connection
):
    first, _ = two_collections
    await other_instance.execute(begin(first))
    assert await asyncio.wait_for(claim_nothing(db), 5) == 0
    await other_instance.execute("COMMIT")

    await other_instance.execute(begin())
    waiting = await still_waiting(claim_nothing(db))
    await other_instance.execute("COMMIT")
    assert await asyncio.wait_for(waiting, 5) == 0

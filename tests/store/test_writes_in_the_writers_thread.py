"""Writes run as one trip to the writer: the store's async functions, run apart from the
event loop's own code (in the writer's thread on SQLite, in a greenlet on PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from greenlet import getcurrent

from caldav_sched.store import jobs as job_store
from caldav_sched.store.db import Connection, Database

NOW = "2026-01-01T00:00:00+00:00"


async def job_count(db: Database) -> int:
    rows = await db.reader().execute_fetchall("SELECT count(*) FROM jobs")
    return rows[0][0]


async def test_store_functions_run_in_the_writers_thread_and_commit_together(db):
    places = set()

    async def work(conn: Connection) -> list[int]:
        places.add((threading.get_ident(), getcurrent()))
        ids = [
            await job_store.enqueue(conn, kind="send_imip", payload={"n": n}, run_after=0, now=NOW)
            for n in range(3)
        ]
        async with conn.execute("SELECT count(*) FROM jobs") as cur:
            (inside,) = await cur.fetchone()
        assert inside == 3  # the transaction sees its own rows
        return ids

    ids = await db.in_writer(work)
    assert len(set(ids)) == 3 and await job_count(db) == 3
    assert places and (threading.get_ident(), getcurrent()) not in places


async def test_an_error_rolls_back_everything_and_reaches_the_caller(db):
    async def work(conn: Connection) -> None:
        await job_store.enqueue(conn, kind="send_imip", payload={}, run_after=0, now=NOW)
        raise LookupError("the attendee vanished")

    with pytest.raises(LookupError, match="vanished"):
        await db.in_writer(work)
    assert await job_count(db) == 0


async def test_work_that_waits_for_anything_else_is_refused_and_rolled_back(db):
    async def work(conn: Connection) -> None:
        await job_store.enqueue(conn, kind="send_imip", payload={}, run_after=0, now=NOW)
        await asyncio.sleep(0)  # the loop is not this thread's to wait on

    with pytest.raises(RuntimeError, match="waited"):
        await db.in_writer(work)
    assert await job_count(db) == 0
    # The writer is free again afterwards.
    async with db.transaction() as conn:
        await job_store.enqueue(conn, kind="send_imip", payload={}, run_after=0, now=NOW)
    assert await job_count(db) == 1


async def test_a_transaction_cancelled_while_it_begins_leaves_the_writer_free(db):
    # Shutdown cancels background work wherever it is; one caught while its
    # BEGIN is in the writer's thread must not leave that transaction open.
    began = asyncio.Event()

    async def work() -> None:
        began.set()
        async with db.transaction() as conn:
            await job_store.enqueue(conn, kind="send_imip", payload={"n": 1}, run_after=0, now=NOW)

    for _ in range(5):
        task = asyncio.create_task(work())
        await began.wait()
        began.clear()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with db.transaction() as conn:
            await job_store.enqueue(conn, kind="send_imip", payload={"n": 2}, run_after=0, now=NOW)
    assert await job_count(db) == 5

"""The job queue on a real SQLite file: backoff, atomic claims, leases, orphans."""

from __future__ import annotations

import asyncio
import os

import pytest

from caldav_sched.queue.retry import next_delay
from caldav_sched.store import jobs as job_store
from caldav_sched.store.db import Database

NOW = "2026-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    "attempts, jitter, expected",
    [
        (1, 0.0, 22.5),     # base 30, spread over the upper quarter: 0.75 * 30
        (1, 1.0, 30.0),
        (2, 1.0, 60.0),
        (3, 1.0, 120.0),
        (7, 1.0, 1920.0),
        (8, 1.0, None),     # max_attempts reached: give up
        (20, 0.5, None),
    ],
)
def test_backoff_doubles_and_is_capped(attempts, jitter, expected):
    assert next_delay(attempts, max_attempts=8, base=30, cap=3600, jitter=jitter) == expected


def test_backoff_is_capped():
    assert next_delay(7, max_attempts=50, base=30, cap=100, jitter=1.0) == 100


async def add(db: Database, count: int, run_after: int = 100) -> list[int]:
    async with db.transaction() as conn:
        return [
            await job_store.enqueue(conn, kind="send_imip", payload={"n": n}, run_after=run_after, now=NOW)
            for n in range(count)
        ]


async def claim(db: Database, worker: str, at: int, lease: int = 60):
    async with db.transaction() as conn:
        return await job_store.claim_next(conn, worker=worker, now_epoch=at, lease_seconds=lease, now=NOW)


async def test_claims_never_hand_out_a_job_twice(db):
    await add(db, 20)
    claimed = await asyncio.gather(*(claim(db, f"w{i}", at=100) for i in range(30)))
    ids = [job.id for job in claimed if job is not None]
    assert len(ids) == 20 and len(set(ids)) == 20
    assert all(job.attempts == 1 and job.state == "running" for job in claimed if job)


async def test_a_job_is_not_claimed_before_it_is_due(db):
    await add(db, 1, run_after=200)
    assert await claim(db, "w", at=199) is None
    assert (await claim(db, "w", at=200)) is not None


async def test_an_expired_lease_is_taken_up_again(db):
    [job_id] = await add(db, 1)
    first = await claim(db, "dead-worker", at=100, lease=60)
    assert first.id == job_id
    assert await claim(db, "other", at=150) is None, "the lease still holds"
    again = await claim(db, "other", at=161)
    assert again.id == job_id and again.locked_by == "other" and again.attempts == 2


async def test_jobs_of_a_dead_process_are_given_back_at_start(db):
    from caldav_sched.queue import worker

    [job_id] = await add(db, 1)
    dead = f"{worker.socket.gethostname()}:{2**22 + 12345}"  # no such pid
    alive = f"{worker.socket.gethostname()}:{os.getppid()}"
    await claim(db, dead, at=100, lease=3600)
    holders = await job_store.running_holders(db.reader())
    assert holders == [dead]
    assert not worker._alive(dead) and worker._alive(alive)
    async with db.transaction() as conn:
        assert await job_store.release_orphans(conn, holders=[dead], now=NOW) == 1
    job = await job_store.get_job(db.reader(), job_id)
    assert job.state == "pending" and job.locked_by is None and job.attempts == 0


async def test_retry_and_purge(db):
    ids = await add(db, 3)
    async with db.transaction() as conn:
        await job_store.fail(conn, ids[0], error="550 no such user", now=NOW)
        await job_store.finish(conn, ids[1], now=NOW)
        assert await job_store.requeue(conn, ids[1], run_after=100, now=NOW) is False
        assert await job_store.requeue(conn, ids[0], run_after=100, now=NOW) is True
        assert await job_store.purge_done(conn) == 1
    states = await job_store.count_by_state(db.reader())
    assert states == {"pending": 2}

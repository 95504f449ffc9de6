"""Workers that run queued jobs inside ``serve``.

A worker claims the next due job (one atomic statement), runs its task
outside any transaction (mail I/O never holds the write lock), then settles
it in one transaction: done, retry later with backoff and jitter, or failed
for good after ``queue.max_attempts``.  New jobs committed in this process
wake the workers at once; otherwise they poll, which also picks up retries
that fall due and jobs whose holder died.  On stop, a worker finishes the
job in hand, and whatever is still claimed is given back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from collections.abc import Mapping
from typing import Protocol

from caldav_sched.services.mailer import DeliveryFailure, PermanentFailure, UnreachableRecipient
from caldav_sched.queue.retry import next_delay
from caldav_sched.services import Services
from caldav_sched.services.delivery import Outcome
from caldav_sched.store import jobs as job_store
from caldav_sched.store.db import Connection
from caldav_sched.store.errors import DatabaseUnavailable
from caldav_sched.store.jobs import JobRow

log = logging.getLogger("caldav_sched.queue")


# How often a worker looks for jobs held by a process of this host that died.
ORPHAN_CHECK_SECONDS = 5.0

# How often a worker tries again while the database does not answer.
DATABASE_RETRY_SECONDS = 1.0


class Task(Protocol):
    kind: str

    async def run(self, job: JobRow) -> str: ...

    async def settle(self, conn: Connection, job: JobRow, outcome: Outcome, now: str) -> None: ...


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_alive(holder: str) -> bool:
    """Whether a claim's holder on this host is still running."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's worker: its lease decides
    if int(pid) == os.getpid():
        return False  # a previous process with our number; we hold nothing yet
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_alive = holder_alive


class WorkerPool:
    """``concurrency`` coroutines that drain the queue."""

    def __init__(
        self,
        services: Services,
        tasks: Mapping[str, Task],
        *,
        concurrency: int = 2,
        poll_interval: float = 1.0,
        lease_seconds: int = 120,
    ) -> None:
        self.services = services
        self.tasks = dict(tasks)
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds
        self.name = holder_name()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._runners: list[asyncio.Task[None]] = []
        self._random = random.Random()
        self._database_gone = False

    def wake(self) -> None:
        self._wake.set()

    async def _pause(self, seconds: float) -> None:
        """Wait *seconds*, or less if the pool is stopping."""
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def start(self) -> None:
        await self._recover_orphans()
        self.services.job_listeners.append(self.wake)
        self.services.db.watch_jobs(self.wake)
        self._runners = [
            asyncio.create_task(self._loop(), name=f"job-worker-{i}")
            for i in range(self.concurrency)
        ]

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self.wake in self.services.job_listeners:
            self.services.job_listeners.remove(self.wake)
        await asyncio.gather(*self._runners, return_exceptions=True)
        try:
            async with self.services.db.transaction() as conn:
                released = await job_store.release(
                    conn, worker=self.name, now=self.services.timestamp()
                )
        except DatabaseUnavailable as exc:
            log.warning("claimed jobs not given back (their leases run out instead): %s", exc)
            return
        if released:
            log.info("released %d claimed job(s)", released)

    async def _recover_orphans(self, *, running: bool = False) -> None:
        """Give back jobs claimed by a process on this host that no longer runs.

        Once this pool is *running*, the jobs under its own name are its own.
        """
        reader = self.services.db.reader()
        holders = [
            h for h in await job_store.running_holders(reader)
            if not holder_alive(h) and not (running and h == self.name)
        ]
        if holders:
            async with self.services.db.transaction() as conn:
                count = await job_store.release_orphans(
                    conn, holders=holders, now=self.services.timestamp()
                )
            log.warning("took back %d job(s) from stopped worker(s) %s", count, ", ".join(holders))

    async def _loop(self) -> None:
        checked = asyncio.get_running_loop().time()
        while not self._stopping.is_set():
            now = asyncio.get_running_loop().time()
            if now - checked >= ORPHAN_CHECK_SECONDS:
                # Another process on this host (a sibling of `processes = N`,
                # or a second `serve`) killed: its jobs go back at once,
                # not when their leases run out.
                checked = now
                try:
                    await self._recover_orphans(running=True)
                except DatabaseUnavailable:
                    pass  # said once by the loop below
                except Exception:
                    log.exception("looking for jobs of stopped workers failed; continuing")
            try:
                ran = await self.run_one()
            except DatabaseUnavailable as exc:
                # One line when the database goes away, not one per poll;
                # the jobs wait in it and go on when it is back.
                if not self._database_gone:
                    log.warning("the database is unavailable; jobs wait until it is back: %s", exc)
                self._database_gone = True
                await self._pause(max(self.poll_interval, DATABASE_RETRY_SECONDS))
                continue
            except Exception:
                log.exception("the job worker hit an error; continuing")
                ran = False
            if self._database_gone:
                log.warning("the database answers again; jobs go on")
                self._database_gone = False
            if ran:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            except TimeoutError:
                pass

    async def run_one(self) -> bool:
        """Claim and run one due job; False when none is due."""
        now = self.services.clock.now()
        # The claim locks the row it takes: it need not wait for writes to
        # calendars (on PostgreSQL; SQLite has one writer for everything).
        async with self.services.db.transaction(row_locked=True) as conn:
            job = await job_store.claim_next(
                conn,
                worker=self.name,
                now_epoch=int(now.timestamp()),
                lease_seconds=self.lease_seconds,
                now=self.services.timestamp(),
            )
        if job is None:
            return False
        outcome = await self._execute(job)
        await self._settle(job, outcome)
        return True

    async def _execute(self, job: JobRow) -> Outcome:
        task = self.tasks.get(job.kind)
        if task is None:
            return Outcome("failed", f"no task handles jobs of kind {job.kind!r}")
        try:
            return Outcome("done", await task.run(job))
        except UnreachableRecipient as exc:
            return Outcome("failed", str(exc), unreachable=True)
        except PermanentFailure as exc:
            return Outcome("failed", str(exc))
        except DeliveryFailure as exc:
            return Outcome("retry", str(exc))
        except Exception as exc:  # a bug or bad data: keep the job, retry, say why
            log.exception("job %d (%s) raised", job.id, job.kind)
            return Outcome("retry", f"{type(exc).__name__}: {exc}")

    async def _settle(self, job: JobRow, outcome: Outcome) -> None:
        settings = self.services.settings.queue
        now = self.services.clock.now()
        stamp = self.services.timestamp()
        if outcome.state == "retry":
            delay = next_delay(
                job.attempts,
                max_attempts=settings.max_attempts,
                base=settings.backoff_base,
                cap=settings.backoff_max,
                jitter=self._random.random(),
            )
            if delay is None:
                outcome = Outcome(
                    "failed", f"gave up after {job.attempts} attempts: {outcome.detail}"
                )
        task = self.tasks.get(job.kind)
        async with self.services.db.transaction() as conn:
            if outcome.state == "done":
                await job_store.finish(conn, job.id, now=stamp)
            elif outcome.state == "retry":
                assert delay is not None
                await job_store.retry_later(
                    conn,
                    job.id,
                    run_after=int(now.timestamp() + delay),
                    error=outcome.detail,
                    now=stamp,
                )
                log.warning(
                    "job %d (%s) attempt %d failed, next in %.0f s: %s",
                    job.id, job.kind, job.attempts, delay, outcome.detail,
                )
            else:
                await job_store.fail(conn, job.id, error=outcome.detail, now=stamp)
                if outcome.unreachable:
                    # Bad data in an event, not a fault of the server or the mail system.
                    log.warning("job %d (%s) failed: %s", job.id, job.kind, outcome.detail)
                else:
                    log.error("job %d (%s) failed: %s", job.id, job.kind, outcome.detail)
            if task is not None:
                await task.settle(conn, job, outcome, stamp)

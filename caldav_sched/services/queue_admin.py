"""Operator use cases for the job queue: list, retry, purge."""

from __future__ import annotations

from caldav_sched.services import Services
from caldav_sched.services.errors import InvalidInput, NotFound
from caldav_sched.store import jobs as job_store
from caldav_sched.store.jobs import STATES, JobRow


async def list_jobs(services: Services, state: str | None = None) -> list[JobRow]:
    if state is not None and state not in STATES:
        raise InvalidInput(f"unknown state {state!r} (one of {', '.join(STATES)})")
    return await job_store.list_jobs(services.db.reader(), state=state)


async def retry_job(services: Services, job_id: int) -> None:
    now = services.clock.now()
    async with services.db.transaction() as conn:
        job = await job_store.get_job(conn, job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        if job.state != "failed":
            raise InvalidInput(f"job {job_id} is {job.state}; only failed jobs are retried")
        await job_store.requeue(conn, job_id, run_after=int(now.timestamp()), now=services.timestamp())
    services.jobs_enqueued()


async def retry_failed(services: Services) -> int:
    now = services.clock.now()
    async with services.db.transaction() as conn:
        count = await job_store.requeue_failed(
            conn, run_after=int(now.timestamp()), now=services.timestamp()
        )
    services.jobs_enqueued()
    return count


async def purge_done(services: Services) -> int:
    async with services.db.transaction() as conn:
        return await job_store.purge_done(conn)

"""Operator use cases for monitoring: health and the database's gauges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from caldav_sched.services import Services
from caldav_sched.store import stats as stats_store
from caldav_sched.store.db import sqlite_memory_bytes
from caldav_sched.store.stats import QueueStats, Totals


@dataclass(frozen=True)
class Health:
    queue: QueueStats
    totals: Totals
    oldest_waiting_age: float | None  # seconds since the oldest unfinished job was queued

    @property
    def queue_depth(self) -> int:
        return self.queue.depth


def _age(created_at: str | None, now: datetime) -> float | None:
    if created_at is None:
        return None
    try:
        created = datetime.fromisoformat(created_at)
    except ValueError:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - created).total_seconds())


async def health(services: Services) -> Health:
    """What the database says about the queue and the mail traffic.

    Raises ``DatabaseUnavailable`` when the database does not answer.
    """
    reader = services.db.reader()
    await stats_store.ping(reader)
    queue = await stats_store.queue_stats(reader)
    totals = await stats_store.totals(reader)
    return Health(
        queue=queue,
        totals=totals,
        oldest_waiting_age=_age(queue.oldest_waiting_created_at, services.clock.now()),
    )


@dataclass(frozen=True)
class Memory:
    """This process's memory, and SQLite's part of it (None where unknown)."""

    resident_bytes: int | None
    sqlite_bytes: int | None


def memory() -> Memory:
    resident = None
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    resident = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    return Memory(resident_bytes=resident, sqlite_bytes=sqlite_memory_bytes())

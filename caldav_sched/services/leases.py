"""Leases: work that only one process on a database may do at a time.

The IMAP consumer holds the lease ``imap`` while it reads the mailbox, and
renews it each time round; a second ``serve`` on the same database waits
until the lease lapses (or its holder is known to be gone) before it reads.
Being a row in the database, the lease works the same for every process
that shares the database, wherever it runs.
"""

from __future__ import annotations

from caldav_sched.services import Services
from caldav_sched.store import leases as lease_store


async def hold(services: Services, name: str, holder: str, seconds: float) -> str:
    """Take or renew the lease *name* for *seconds*; returns its holder (*holder* when ours)."""
    now = services.clock.now().timestamp()
    async with services.db.transaction() as conn:
        lease = await lease_store.take_lease(conn, name, holder, now=now, until=now + seconds)
    return lease.holder


async def take_over(
    services: Services, name: str, *, from_holder: str, holder: str, seconds: float
) -> bool:
    """Take the lease from a holder that is gone (a process killed outright)."""
    until = services.clock.now().timestamp() + seconds
    async with services.db.transaction() as conn:
        return await lease_store.take_over_lease(
            conn, name, from_holder=from_holder, holder=holder, until=until
        )


async def release(services: Services, name: str, holder: str) -> None:
    async with services.db.transaction() as conn:
        await lease_store.release_lease(conn, name, holder)

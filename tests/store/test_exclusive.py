"""What only one instance may do at a time (the IMAP consumer) runs on one only."""

from __future__ import annotations

import asyncio

from caldav_sched.store.postgresql import PgDatabase


async def test_only_one_holder_at_a_time_and_a_gone_holder_hands_over(db, backend):
    entered: list[str] = []
    if backend == "sqlite":
        async with db.exclusive("imap-consumer"):
            entered.append("only")
        assert entered == ["only"]
        return
    other = PgDatabase(db.url, readers=1)
    await other.open()
    release = asyncio.Event()

    async def hold(database, label: str) -> None:
        async with database.exclusive("imap-consumer", poll=0.05):
            entered.append(label)
            await release.wait()

    first = asyncio.create_task(hold(db, "first"))
    await asyncio.sleep(0.3)
    second = asyncio.create_task(hold(other, "second"))
    await asyncio.sleep(0.3)
    assert entered == ["first"]
    first.cancel()  # the holder goes away: its session and lock end
    await asyncio.wait_for(_until(lambda: entered == ["first", "second"]), 10)
    release.set()
    await second
    await other.close()


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.02)

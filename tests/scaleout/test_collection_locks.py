"""Two users' PUTs and DELETEs on PostgreSQL do not wait for each other.

Another instance in the middle of a write to Bob's calendar is played by a
connection that holds the locks such a write holds: Alice's PUT and DELETE
on this instance answer at once, Bob's wait until that write commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from caldav_sched.store.postgresql import begin
from tests.conftest import PASSWORD, SmtpSink, basic
from tests.postgres import Cluster, needs_postgresql
from tests.scaleout.instances import Instance
from tests.scaleout.test_two_instances import event

pytestmark = needs_postgresql


@pytest.fixture
def server(tmp_path: Path, postgres_cluster: Cluster, smtp_sink: SmtpSink) -> Iterator[Instance]:
    instance = Instance(tmp_path / "a", postgres_cluster.new_database(), smtp_sink)
    for name in ("alice", "bob"):
        instance.cli("user", "add", name, "--email", f"{name}@example.com", "--password-stdin",
                     stdin=PASSWORD + "\n")
    instance.start()
    yield instance
    instance.stop()


def url_of(server: Instance) -> str:
    return server.config.read_text().split('url = "', 1)[1].split('"', 1)[0]


async def send(session: aiohttp.ClientSession, server: Instance, method: str, user: str,
               name: str) -> int:
    body = event(name).encode() if method == "PUT" else None
    async with session.request(
        method, f"{server.base}home/{user}/calendar/event/{name}.ics", data=body,
        headers={"Authorization": basic(user), "Content-Type": "text/calendar"},
    ) as response:
        await response.read()
        return response.status


async def test_a_write_held_on_bobs_calendar_does_not_hold_up_alices(server: Instance):
    other = await asyncpg.connect(url_of(server))
    try:
        async with aiohttp.ClientSession() as session:
            assert await send(session, server, "PUT", "alice", "before") == 201
            assert await send(session, server, "PUT", "bob", "before") == 201
            bobs = await other.fetchval(
                "SELECT c.id FROM collections c JOIN users u ON u.id = c.owner_id"
                " WHERE u.name = 'bob' AND c.path = 'event'"
            )
            assert bobs is not None
            await other.execute(begin(bobs))

            assert await asyncio.wait_for(send(session, server, "PUT", "alice", "during"), 5) == 201
            assert await asyncio.wait_for(send(session, server, "DELETE", "alice", "before"), 5) == 204
            bobs_put = asyncio.ensure_future(send(session, server, "PUT", "bob", "during"))
            await asyncio.sleep(0.5)
            assert not bobs_put.done()

            await other.execute("COMMIT")
            assert await asyncio.wait_for(bobs_put, 5) == 201
    finally:
        await other.close()

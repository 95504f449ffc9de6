"""PostgreSQL restarted under a running server: answers 503 meanwhile, then serves again.

The operator's case: the database server is restarted (an upgrade, a
failover) while ``serve`` runs.  Requests in between get a 503 saying the
database is unavailable, never a 500 or a traceback; once the database is
back, the same ``serve`` reconnects on its own, stores and serves again,
and its queue sends what was enqueued after the restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import PASSWORD, SmtpSink
from tests.postgres import Cluster, needs_postgresql
from tests.scaleout.instances import Instance
from tests.scaleout.test_two_instances import AUTH, CAL, event, put, wait_for_invitations

pytestmark = needs_postgresql


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A cluster of this test's own: it is stopped and started under the server."""
    cluster = Cluster()
    yield cluster
    cluster.stop()


async def get(session: aiohttp.ClientSession, server: Instance, name: str) -> int:
    async with session.get(server.base + CAL + name, headers=AUTH) as response:
        await response.read()
        return response.status


async def test_a_restarted_database_is_unavailable_meanwhile_and_used_again_after(
    tmp_path: Path, own_cluster: Cluster, smtp_sink: SmtpSink
):
    server = Instance(tmp_path / "a", own_cluster.new_database(), smtp_sink)
    server.cli("user", "add", "alice", "--email", "alice@example.com", "--password-stdin",
               stdin=PASSWORD + "\n")
    server.start()
    try:
        async with aiohttp.ClientSession() as session:
            assert (await put(session, server, "before.ics", event("before")))[0] == 201

            own_cluster.stop_server()
            assert await get(session, server, "before.ics") == 503
            assert (await put(session, server, "during.ics", event("during")))[0] == 503
            async with session.get(server.base + "healthz") as response:
                assert response.status == 503

            own_cluster.start_server()
            deadline = time.monotonic() + 30
            while await get(session, server, "before.ics") != 200:
                assert time.monotonic() < deadline, "serve did not reconnect"
                await asyncio.sleep(0.2)
            status, _ = await put(
                session, server, "after.ics", event("after", attendee="bob@example.org")
            )
            assert status == 201
            # Nothing of the refused PUT was stored.
            assert await get(session, server, "during.ics") == 404
        assert "after" in wait_for_invitations(smtp_sink, {"after"}, timeout=60)
        # The connection that hears of new jobs from other instances is back too.
        deadline = time.monotonic() + 30
        while "listening for new jobs again" not in Path(server.log.name).read_text():
            assert time.monotonic() < deadline, "the job listener did not come back"
            await asyncio.sleep(0.2)
    finally:
        server.stop()
    log = Path(server.log.name).read_text()
    assert "Traceback" not in log, log
    # The queue says once that the database went away, and once that it is back.
    assert log.count("jobs wait until it is back") == 1, log
    assert log.count("the database answers again") == 1, log
    assert log.count("not listening for new jobs") == 1, log

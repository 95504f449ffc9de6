"""`[server] processes = 2`: two serve processes on one port, one database."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import aiohttp

from tests.conftest import SmtpSink
from tests.postgres import Cluster, needs_postgresql
from tests.scaleout.test_two_instances import AUTH, CAL, Instance, event, put

pytestmark = needs_postgresql


def children(pid: int) -> set[int]:
    """The live processes the supervisor started (multiprocessing's helper aside)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == pid and b"resource_tracker" not in command and stat[0] != "Z":
            found.add(int(entry.name))
    return found


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


async def test_two_processes_share_the_port_and_a_killed_one_comes_back(
    tmp_path, postgres_cluster: Cluster, smtp_sink: SmtpSink
):
    server = Instance(tmp_path / "a", postgres_cluster.new_database(), smtp_sink, processes=2)
    server.cli("user", "add", "alice", "--email", "alice@example.com", "--password-stdin",
               stdin="correct horse battery staple\n")
    server.start()
    try:
        assert server.process is not None
        wait_for(lambda: len(children(server.process.pid)) == 2)
        first = children(server.process.pid)
        async with aiohttp.ClientSession() as session:
            statuses = await asyncio.gather(*(
                put(session, server, f"p{i}.ics", event(f"p{i}")) for i in range(40)
            ))
            assert {status for status, _ in statuses} == {201}
        # One of them dies: the other goes on serving (new connections go to
        # the listening socket left), and it is started again.
        os.kill(min(first), signal.SIGKILL)
        time.sleep(0.2)
        async with aiohttp.ClientSession() as session:
            for i in range(20):
                status, _ = await put(session, server, f"q{i}.ics", event(f"q{i}"))
                assert status == 201
            wait_for(lambda: len(children(server.process.pid)) == 2
                     and children(server.process.pid) != first)
            async with session.get(server.base + CAL + "p0.ics", headers=AUTH) as response:
                assert response.status == 200
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(60) == 0
        log = Path(server.log.name).read_text()
        assert "serving with 2 processes" in log and "starting it again" in log
    finally:
        server.stop()

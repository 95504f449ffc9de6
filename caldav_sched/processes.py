"""``[server] processes = N``: N ``serve`` processes on one port, one database.

The parent migrates the database once, then starts N children, each a whole
server (HTTP, job workers) listening on the same address with SO_REUSEPORT,
so the kernel spreads connections over them.  Only the first child runs the
LMTP listener (one port or socket per host); the job queue is shared through
the database, so any child's workers may send any invitation.  SIGTERM or
SIGINT to the parent stops every child cleanly; a child that dies on its own
is started again after a second (its claimed jobs go back to the queue when
its lease runs out, or at once when a worker on this host sees it gone).

Several processes need PostgreSQL: SQLite has one writer per file, and the
configuration refuses ``processes > 1`` without ``[storage] url``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
import signal
import time
from multiprocessing.process import BaseProcess

from caldav_sched.config import Settings
from caldav_sched.store.backend import make_database
from caldav_sched.store.migrate import migrate

log = logging.getLogger("caldav_sched")

# How long the parent waits before starting a child that died again.
RESTART_DELAY = 1.0


def child_settings(settings: Settings, index: int) -> Settings:
    """One child's settings: a shared port; the LMTP listener in the first child only."""
    server = dataclasses.replace(settings.server, processes=1, reuse_port=True)
    inbound = settings.inbound
    if index > 0:
        inbound = dataclasses.replace(inbound, lmtp_host="", lmtp_port=0, lmtp_socket="")
    return dataclasses.replace(settings, server=server, inbound=inbound)


def _child(settings: Settings, index: int) -> None:
    from caldav_sched.daemon import serve

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent says when to stop (SIGTERM)
    serve(settings)


async def _migrate(settings: Settings) -> list[str]:
    db = make_database(settings.storage, readers=1)
    await db.open()
    try:
        return await migrate(db)
    finally:
        await db.close()


def supervise(settings: Settings) -> int:
    """Run ``settings.server.processes`` servers until SIGTERM or SIGINT; 0 after a clean stop."""
    applied = asyncio.run(_migrate(settings))
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    context = multiprocessing.get_context("spawn")
    count = settings.server.processes
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        if not stopping:
            log.info("%s received: stopping %d processes", signal.Signals(signum).name, count)
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def start(index: int) -> BaseProcess:
        process = context.Process(
            target=_child, args=(child_settings(settings, index), index),
            name=f"caldav-sched-{index}",
        )
        process.start()
        return process

    children = {index: start(index) for index in range(count)}
    log.info(
        "serving with %d processes on %s:%d (pids %s)", count, settings.server.host,
        settings.server.port, ", ".join(str(p.pid) for p in children.values()),
    )
    died_at: dict[int, float] = {}
    while not stopping:
        time.sleep(0.2)
        for index, process in list(children.items()):
            if process.is_alive() or stopping:
                continue
            if index not in died_at:
                log.error("process %d (pid %s) exited with %s; starting it again",
                          index, process.pid, process.exitcode)
                died_at[index] = time.monotonic()
            elif time.monotonic() - died_at[index] >= RESTART_DELAY:
                del died_at[index]
                children[index] = start(index)
    for process in children.values():
        if process.is_alive() and process.pid is not None:
            process.terminate()  # SIGTERM: each stops cleanly
    status = 0
    for process in children.values():
        process.join(settings.server.shutdown_timeout + 10)
        if process.is_alive():
            process.kill()
            process.join()
            status = 1
    log.info("stopped cleanly" if status == 0 else "stopped; a process had to be killed")
    return status

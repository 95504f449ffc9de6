"""Running the server as a daemon: the HTTP listener and its lifecycle.

Start: open the database and apply migrations, start the job workers and the
LMTP listener (the app's cleanup context), then listen.

Stop, on SIGTERM or SIGINT: close the listening socket (no new connections),
let requests in flight finish (up to ``server.shutdown_timeout`` seconds; a
request still running then is cancelled, and its write transaction, if any,
rolls back whole), then stop the LMTP listener, let each worker finish the
job in hand and give back what is still claimed, and close the database.
Every write is one SQLite transaction, so nothing is ever half-applied.

Memory: with glibc, the daemon keeps malloc to two arenas and a fixed mmap
threshold (``tune_allocator``), so the memory a large answer (a PROPFIND
of a big calendar) used goes back to the system instead of staying with
the thread that allocated it; the process stays near the same size as the
calendars grow.  The variables ``MALLOC_ARENA_MAX`` and
``MALLOC_MMAP_THRESHOLD_``, when set, take precedence.

Start-up says, in two lines, where the server listens, which database it
uses (an absolute path: the default one is relative to the working
directory), where mail goes, and whether the LMTP listener and the IMAP
consumer run.

Event loop: uvloop unless ``server.event_loop`` asks for asyncio's own (the
daemon's costs are mostly the loop's and aiohttp's per request; libuv's
loop takes about a sixth off a GET's CPU).
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import os
import signal
from pathlib import Path

from aiohttp import web

from caldav_sched.config import Settings
from caldav_sched.dav.app import make_app
from caldav_sched.store.backend import describe as describe_storage
from caldav_sched.errors import CaldavSchedError
from caldav_sched.logging_setup import configure_logging, skip_unused_record_fields

log = logging.getLogger("caldav_sched")


class CannotListen(CaldavSchedError):
    """The HTTP listener could not bind its address."""


def start_lines(settings: Settings, *, event_loop: str, new_database: bool) -> list[str]:
    """What ``serve`` says once it listens: address and database, then mail."""
    server, mail, inbound = settings.server, settings.mail, settings.inbound
    database = describe_storage(settings.storage)
    listening = (
        f"serving CalDAV on http://{server.host}:{server.port}{server.base_path}/"
        f" (database {database}{', new' if new_database else ''}; event loop {event_loop})"
    )
    if mail.transport == "smtp":
        smtp = settings.smtp
        outbound = (
            f"mail from {mail.from_address} through SMTP {smtp.host}:{smtp.port}"
            f" ({smtp.security})"
        )
    else:
        outbound = (
            f"mail from {mail.from_address} written to {Path(mail.file_dir).absolute()}"
            " (file transport: nothing is sent)"
        )
    if inbound.lmtp_socket:
        lmtp = f"LMTP on {Path(inbound.lmtp_socket).absolute()}"
    elif inbound.lmtp_host and inbound.lmtp_port:
        lmtp = f"LMTP on {inbound.lmtp_host}:{inbound.lmtp_port}"
    elif settings.imap.host:
        lmtp = "LMTP off"
    else:
        lmtp = "LMTP off (replies through `caldav-sched ingest`)"
    imap = settings.imap
    if imap.host:
        # The consumer logs its own state changes (connected, IDLE or polling, faults).
        lmtp += (
            f"; IMAP mailbox {imap.mailbox} of {imap.username} at {imap.host}:{imap.port}"
            f" ({imap.security}, {'IDLE' if imap.idle else 'polling'})"
        )
    return [listening, f"{outbound}; {lmtp}"]


async def run(settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: signal.Signals) -> None:
        if stop.is_set():
            log.info("%s received again: already stopping", signum.name)
            return
        log.info(
            "%s received: stopping (no new connections; finishing requests in flight, up to %.0f s)",
            signum.name, settings.server.shutdown_timeout,
        )
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)

    new_database = not settings.storage.url and not Path(settings.storage.path).exists()
    runner = web.AppRunner(
        make_app(settings), access_log=None, shutdown_timeout=settings.server.shutdown_timeout
    )
    await runner.setup()
    try:
        host, port = settings.server.host, settings.server.port
        try:
            await web.TCPSite(runner, host, port, reuse_port=settings.server.reuse_port or None).start()
        except OSError as exc:
            raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        event_loop = type(loop).__module__.split(".")[0]
        for line in start_lines(settings, event_loop=event_loop, new_database=new_database):
            log.info("%s", line)
        # What start-up made (modules, parsers, tables) lives as long as the
        # process.  A query answering a thousand objects triggers several
        # collections; with that heap out of their sight they cost a fifth
        # or more less of its CPU.
        gc.collect()
        gc.freeze()
        await stop.wait()
    finally:
        await runner.cleanup()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("stopped cleanly")


# mallopt(3) parameters.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
MALLOC_ARENAS = 2
MMAP_THRESHOLD = 128 * 1024


def tune_allocator() -> bool:
    """Set glibc's malloc for a long-running server; False where there is no glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    if "MALLOC_ARENA_MAX" not in os.environ:
        mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    return True


def _run_on_loop(settings: Settings) -> None:
    """``run(settings)`` on the event loop the settings name."""
    if settings.server.event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("server.event_loop is uvloop, which is not installed: running on asyncio")
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(run(settings))
            return
    asyncio.run(run(settings))


def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; 0 after a clean stop."""
    tune_allocator()
    skip_unused_record_fields()
    handler = configure_logging(settings.log, batch_seconds=settings.log.batch_seconds)
    try:
        if settings.server.processes > 1:
            from caldav_sched.processes import supervise

            return supervise(settings)
        _run_on_loop(settings)
    finally:
        handler.flush()
    return 0

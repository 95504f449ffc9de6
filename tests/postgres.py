"""A real PostgreSQL cluster for the tests, in a temporary directory on loopback.

Started once per test session with Debian's ``initdb`` and ``pg_ctl`` (the
``postgresql`` package; ``.ci/run`` installs it), on a free loopback port,
with trust authentication for its one superuser.  Each test gets a database
of its own, made from a migrated template (``CREATE DATABASE ... TEMPLATE``
copies files: milliseconds).  PostgreSQL refuses to run as root, so as root
the cluster runs as the ``postgres`` user (or ``nobody``) in a directory it
owns.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from caldav_sched.store.migrate import migrate
from caldav_sched.store.postgresql import PgDatabase

SUPERUSER = "caldav"
TEMPLATE = "caldav_template"


def find_bin() -> Path | None:
    """The directory holding initdb and pg_ctl (Debian keeps them out of PATH)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    roots = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((root for root in roots if (root / "initdb").exists()), None)


PG_BIN = find_bin()

needs_postgresql = pytest.mark.skipif(
    PG_BIN is None,
    reason="PostgreSQL is needed (apt-get install postgresql; .ci/run installs it)",
)


def _runner() -> tuple[list[str], int | None, int | None]:
    """The command prefix that runs PostgreSQL as an unprivileged user, and its ids."""
    if os.geteuid() != 0:
        return [], None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """One running PostgreSQL server and the databases the tests make on it."""

    def __init__(self, *, durable: bool = False) -> None:
        """A running cluster; *durable* keeps fsync on (benchmarks), else off (tests)."""
        assert PG_BIN is not None
        self.prefix, uid, gid = _runner()
        self.root = Path(tempfile.mkdtemp(prefix="caldav-pg-"))
        if uid is not None:
            os.chown(self.root, uid, gid or -1)
        self.data = self.root / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port}"
            f" -c unix_socket_directories={self.root} -c max_connections=300"
            # Commits not flushed one by one, as SQLite's WAL with synchronous
            # = NORMAL does; tests also skip fsync altogether.
            " -c synchronous_commit=off"
            + ("" if durable else " -c fsync=off -c full_page_writes=off")
        )
        self._options = options
        self.start_server()
        self._make_template()

    def start_server(self) -> None:
        """Start the server (again, after ``stop_server``) on the same port."""
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-o", self._options, "-w", "-t", "60", "start",
        )

    def stop_server(self) -> None:
        """Stop the server as an operator restarting it would (clients are disconnected)."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def _run(self, *command: str) -> None:
        done = subprocess.run(
            [*self.prefix, *command], capture_output=True, text=True, cwd=self.root
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}")

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def _make_template(self) -> None:
        with self.admin() as pg:
            pg.execute(f"CREATE DATABASE {TEMPLATE}")

        async def migrated() -> None:
            db = PgDatabase(self.url(TEMPLATE), readers=1)
            await db.open()
            try:
                await migrate(db)
            finally:
                await db.close()

        # In a thread of its own: the caller may be running an event loop.
        with ThreadPoolExecutor(max_workers=1) as thread:
            thread.submit(asyncio.run, migrated()).result()

    def new_database(self, *, migrated: bool = True) -> str:
        """The URL of a new database of its own (migrated, or empty)."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        template = TEMPLATE if migrated else "template0"
        with self.admin() as pg:
            pg.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(url).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

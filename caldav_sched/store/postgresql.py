"""PostgreSQL connections with the same interface as the SQLite ``Database``.

The repositories in this package are written once, against the connection
interface of aiosqlite (``await conn.execute(sql, args)``, ``async with
conn.execute(...) as cur``, ``execute_fetchall``) and, for the few writes
done in one trip, against sqlite3's (``raw.execute(sql, args).fetchone()``).
This module gives both interfaces over psycopg 3, so the SQL stays shared
and services never learn which database runs:

- ``?`` placeholders become psycopg's; an INSERT into a table with an
  ``id`` column returns it, as ``lastrowid``;
- rows are read by position and by column name, like ``sqlite3.Row``;
- every connection runs in a thread of its own, like aiosqlite's, so a
  write of dozens of statements (``Database.write``, ``in_writer``) is one
  trip to that thread, and the event loop never waits on the network.

Writes keep SQLite's semantics across processes and machines: each write
transaction first takes one transaction-level advisory lock, so writes to
the database are serialised as they are on SQLite's single writer (short,
never awaiting the network inside).  That keeps every read-check-write of
the services (If-Match, UID conflicts, an applied reply) and the per-
collection modification sequences strictly ordered under writers on several
instances.  Readers run beside the writers on connections of their own, in
autocommit, each statement on a committed snapshot.

New jobs are announced with NOTIFY in the transaction that enqueues them
(delivered at commit); ``watch_jobs`` LISTENs on a connection of its own and
wakes the local workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import shlex
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg

from caldav_sched.store.db import ThreadConnection, ThreadCursor, run_to_end
from caldav_sched.store.errors import DatabaseUnavailable

log = logging.getLogger("caldav_sched.store")

T = TypeVar("T")

DIALECT = "postgresql"

# The advisory lock every write transaction takes (serialised writes), the
# one migrations take, and the channel new jobs are announced on.
WRITE_LOCK_KEY = 0x6361_6C64_6176_0001
MIGRATE_LOCK_KEY = 0x6361_6C64_6176_0002
JOBS_CHANNEL = "caldav_sched_jobs"

# Tables whose rows have a generated ``id``: an INSERT into one returns it.
_ID_TABLES = frozenset(
    {"users", "collections", "objects", "jobs", "itip_log", "inbound_messages"}
)
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)


class PgRow(tuple):
    """A result row read by position or by column name, like ``sqlite3.Row``."""

    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: psycopg.Cursor[Any]) -> Callable[[Any], PgRow]:
    names = [column.name for column in cursor.description or ()]
    index = {name: i for i, name in enumerate(names)}

    def make(values: Any) -> PgRow:
        row = PgRow(values)
        row._index = index
        return row

    return make


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, bool]:
    """The statement in psycopg's terms, and whether it returns the new row's id."""
    text = sql.replace("%", "%%").replace("?", "%s")
    match = _INSERT.match(text)
    returns_id = bool(
        match and match.group(1).lower() in _ID_TABLES and "RETURNING" not in text.upper()
    )
    if returns_id:
        text = text.rstrip().rstrip(";") + " RETURNING id"
    return text, returns_id


class PgCursor:
    """sqlite3's cursor interface over the result of one psycopg statement."""

    __slots__ = ("_rows", "rowcount", "lastrowid")

    def __init__(self, rows: list[PgRow], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> PgRow | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[PgRow]:
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        self._rows = []


class PgRaw:
    """sqlite3's connection interface over a psycopg connection, in its own thread."""

    __slots__ = ("pg",)

    def __init__(self, pg: psycopg.Connection[Any]) -> None:
        self.pg = pg

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> PgCursor:
        text, returns_id = translate(sql)
        cur = self.pg.execute(text, tuple(parameters))  # type: ignore[arg-type]
        rows = cur.fetchall() if cur.description is not None else []
        if returns_id:
            return PgCursor([], cur.rowcount, int(rows[0][0]) if rows else None)
        return PgCursor(rows, cur.rowcount, None)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Iterable[Any]]) -> None:
        """One statement for many rows of parameters (psycopg pipelines them)."""
        text, _ = translate(sql)
        with self.pg.cursor() as cur:
            cur.executemany(text, [tuple(p) for p in seq_of_parameters])  # type: ignore[arg-type]

    def script(self, sql: str) -> None:
        """Run several statements at once (a migration file): no parameters."""
        self.pg.execute(sql.encode("utf-8"))  # type: ignore[arg-type]


class _Pending:
    """What ``PgConnection.execute`` returns: awaitable, or an async context manager."""

    __slots__ = ("_coroutine", "_cursor")

    def __init__(self, coroutine: Awaitable["ThreadCursor"]) -> None:
        self._coroutine = coroutine
        self._cursor: ThreadCursor | None = None

    def __await__(self) -> Generator[Any, None, "ThreadCursor"]:
        return self._coroutine.__await__()

    async def __aenter__(self) -> "ThreadCursor":
        self._cursor = await self._coroutine
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        if self._cursor is not None:
            self._cursor.close()


def _one_line(exc: BaseException) -> str:
    """libpq's message (several lines, with tabs) as one line."""
    return " ".join(str(exc).split())


class _Link:
    """One psycopg connection and the one thread that uses it."""

    def __init__(self, conninfo: str, password: str | None, name: str) -> None:
        self._conninfo = conninfo
        self._password = password
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pg: psycopg.Connection[Any] | None = None

    def _connect(self) -> psycopg.Connection[Any]:
        extra = {"password": self._password} if self._password is not None else {}
        pg = psycopg.connect(
            self._conninfo, autocommit=True, row_factory=_row_factory, **extra  # type: ignore[arg-type]
        )
        return pg

    def _ensure(self) -> psycopg.Connection[Any]:
        if self._pg is None or self._pg.closed or self._pg.broken:
            if self._pg is not None:
                self._pg.close()
            self._pg = self._connect()
        return self._pg

    def _run(self, work: Callable[..., T], args: tuple, kwargs: dict) -> T:
        try:
            pg = self._ensure()
        except psycopg.Error as exc:
            raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {_one_line(exc)}") from exc
        try:
            return work(PgRaw(pg), *args, **kwargs)
        except psycopg.OperationalError as exc:
            if pg.closed or pg.broken:
                raise DatabaseUnavailable(
                    f"lost the connection to PostgreSQL: {_one_line(exc)}"
                ) from exc
            raise

    async def call(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``work(PgRaw, *args, **kwargs)`` in this connection's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, work, args, kwargs)

    def _close(self) -> None:
        if self._pg is not None:
            self._pg.close()
            self._pg = None

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)


def _execute(raw: PgRaw, sql: str, parameters: tuple) -> PgCursor:
    return raw.execute(sql, parameters)


class PgConnection:
    """aiosqlite's connection interface over one ``_Link``."""

    __slots__ = ("_link",)

    dialect = DIALECT

    def __init__(self, link: _Link) -> None:
        self._link = link

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Pending:
        return _Pending(self._execute(sql, tuple(parameters)))

    async def _execute(self, sql: str, parameters: tuple) -> ThreadCursor:
        return ThreadCursor(await self._link.call(_execute, sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[PgRow]:
        cursor = await self._link.call(_execute, sql, tuple(parameters))
        return cursor.fetchall()

    async def run_blocking(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run sqlite3-style ``work(raw, ...)`` in this connection's thread (``in_thread``)."""
        return await self._link.call(work, *args, **kwargs)


def _begin(raw: PgRaw) -> None:
    raw.pg.execute("BEGIN")
    raw.pg.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))


def _end(raw: PgRaw, commit: bool) -> None:
    if raw.pg.closed or raw.pg.broken:
        return
    raw.pg.execute("COMMIT" if commit else "ROLLBACK")


def _transaction(raw: PgRaw, work: Callable[[PgRaw], T]) -> T:
    _begin(raw)
    try:
        result = work(raw)
    except BaseException:
        _end(raw, False)
        raise
    _end(raw, True)
    return result


def _run_to_end(work: Callable[[Any], Awaitable[T]], raw: PgRaw) -> T:
    """Run async store code over a connection whose every await completes at once."""
    return run_to_end(work, ThreadConnection(raw))  # type: ignore[arg-type]


def password_from_command(command: str) -> str:
    """The first line a ``password_command`` prints (a secret store's CLI)."""
    try:
        done = subprocess.run(
            shlex.split(command), capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise DatabaseUnavailable(f"[storage] password_command failed: {exc}") from exc
    lines = done.stdout.splitlines()
    return lines[0] if lines else ""


def redact(url: str) -> str:
    """The URL without its password, for logs and messages.

    Everything between the first ``:`` after the scheme and the last ``@``
    is the password to libpq (or garbage that may hold one): it is masked.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, host = rest.rsplit("@", 1)
    if ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


class PgDatabase:
    """The connections to one PostgreSQL database: one writer, a few readers."""

    dialect = DIALECT

    def __init__(
        self, url: str, *, readers: int = 2, password_command: str = "", **_: Any
    ) -> None:
        self.url = url
        self.path = redact(url)
        self._reader_count = max(1, readers)
        self._password_command = password_command
        self._writer: _Link | None = None
        self._readers: list[_Link] = []
        self._next_reader = 0
        self._write_lock = asyncio.Lock()
        self._listener: threading.Thread | None = None
        self._listening = threading.Event()
        self._password: str | None = None

    async def open(self) -> None:
        if self._password_command:
            self._password = await asyncio.to_thread(password_from_command, self._password_command)
        self._writer = _Link(self.url, self._password, "pg-writer")
        self._readers = [
            _Link(self.url, self._password, f"pg-reader-{i}") for i in range(self._reader_count)
        ]
        try:
            await self._writer.call(lambda raw: raw.execute("SELECT 1"))
        except DatabaseUnavailable:
            await self.close()
            raise

    async def close(self) -> None:
        self._listening.clear()
        if self._listener is not None:
            await asyncio.to_thread(self._listener.join, 5)
            self._listener = None
        async with self._write_lock:
            for link in self._readers:
                await link.close()
            self._readers.clear()
            if self._writer is not None:
                await self._writer.close()
                self._writer = None

    def _writer_link(self) -> _Link:
        if self._writer is None:
            raise DatabaseUnavailable("the database is not open")
        return self._writer

    @property
    def writer(self) -> PgConnection:
        """The writer outside a transaction (migrations and tests only)."""
        return PgConnection(self._writer_link())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgConnection]:
        """One write transaction; commits on success, rolls back on any error."""
        async with self._write_lock:
            link = self._writer_link()
            try:
                await link.call(_begin)
            except asyncio.CancelledError:
                # _begin runs in the link's thread all the same: end what it
                # begins, or the next transaction finds one open (and the
                # write lock held).
                with contextlib.suppress(Exception):
                    await link.call(_end, False)
                raise
            try:
                yield PgConnection(link)
            except BaseException:
                await link.call(_end, False)
                raise
            else:
                await link.call(_end, True)

    async def write(self, work: Callable[[Any], T]) -> T:
        """Run sqlite3-style ``work(raw)`` as one write transaction, in one trip."""
        async with self._write_lock:
            return await self._writer_link().call(_transaction, work)

    async def in_writer(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """Run the async store code ``work(conn)`` as one write transaction, in one trip."""
        async with self._write_lock:
            return await self._writer_link().call(
                _transaction, lambda raw: _run_to_end(work, raw)
            )

    async def point_read(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run sqlite3-style ``work(raw, ...)``, a lookup by key, on a reader."""
        return await self._reader_link().call(work, *args, **kwargs)

    def _reader_link(self) -> _Link:
        if not self._readers:
            raise DatabaseUnavailable("the database is not open")
        self._next_reader = (self._next_reader + 1) % len(self._readers)
        return self._readers[self._next_reader]

    def reader(self) -> PgConnection:
        """A connection in autocommit; each statement sees a committed snapshot."""
        return PgConnection(self._reader_link())

    async def run(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run sqlite3-style ``work(raw, ...)`` on the writer outside a transaction."""
        async with self._write_lock:
            return await self._writer_link().call(work, *args, **kwargs)

    def watch_jobs(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` on the loop whenever any instance commits a new job."""
        if self._listener is not None:
            return
        loop = asyncio.get_running_loop()
        self._listening.set()
        self._listener = threading.Thread(
            target=self._listen, args=(loop, wake), name="pg-listen", daemon=True
        )
        self._listener.start()

    def _listen(self, loop: asyncio.AbstractEventLoop, wake: Callable[[], None]) -> None:
        extra = {"password": self._password} if self._password is not None else {}
        while self._listening.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, **extra) as pg:  # type: ignore[arg-type]
                    pg.execute(f"LISTEN {JOBS_CHANNEL}")
                    # A job committed while we were not listening.
                    loop.call_soon_threadsafe(wake)
                    while self._listening.is_set():
                        for _ in pg.notifies(timeout=0.5, stop_after=1):
                            loop.call_soon_threadsafe(wake)
            except psycopg.Error as exc:
                if not self._listening.is_set():
                    return
                log.warning("listening for new jobs failed, again in 1 s: %s", exc)
                threading.Event().wait(1.0)
            except RuntimeError:  # the loop closed under us
                return


def is_postgresql(conn: Any) -> bool:
    """Whether a connection (or database) speaks PostgreSQL."""
    return getattr(conn, "dialect", "sqlite") == DIALECT


# Statements where the dialects differ.

# The claim of the next due job: one statement; SKIP LOCKED lets claims on
# several instances pass each other instead of queueing on one row.
CLAIM_NEXT = (
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = ?,"
    " locked_until = ?, updated_at = ?"
    " WHERE id = (SELECT id FROM jobs"
    "  WHERE (state IN ('pending', 'retrying') AND run_after <= ?)"
    "     OR (state = 'running' AND locked_until < ?)"
    "  ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
)

NOTIFY_JOBS = f"SELECT pg_notify('{JOBS_CHANNEL}', '')"


def restart_identities(raw: PgRaw, tables: list[str]) -> None:
    """Move each table's id generator past its highest id (after a copy kept the ids)."""
    for table in tables:
        raw.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
        )

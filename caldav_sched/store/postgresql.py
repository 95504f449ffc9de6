"""PostgreSQL connections with the same interface as the SQLite ``Database``.

The repositories in this package are written once, against the connection
interface of aiosqlite (``await conn.execute(sql, args)``, ``async with
conn.execute(...) as cur``, ``execute_fetchall``) and, for the writes done
in one trip, against sqlite3's (``raw.execute(sql, args).fetchone()``).
This module gives both interfaces over asyncpg, so the SQL stays shared and
services never learn which database runs:

- ``?`` placeholders become ``$1``, ``$2``...; an INSERT into a table with
  an ``id`` column returns it, as ``lastrowid``;
- rows are asyncpg's records, read by position and by column name, like
  ``sqlite3.Row``;
- everything runs on the event loop, which never waits on the network: the
  async interface awaits asyncpg, and the sqlite3-style functions (a write
  transaction of a dozen statements, ``Database.write`` and ``in_writer``;
  a lookup by key, ``point_read``) run in a greenlet whose every
  ``raw.execute`` hands the statement to the loop and resumes with its
  result (``run_blocking``).  A statement costs asyncpg tens of
  microseconds; the thread of a blocking driver cost more in wake-ups and
  in handing the interpreter lock back and forth than the statement did.

Writes keep SQLite's semantics across processes and machines: each write
transaction first takes a transaction-level advisory lock, so writes are
serialised as they are on SQLite's single writer (short, never awaiting
anything but their own statements).  That keeps every read-check-write of
the services (If-Match, UID conflicts, an applied reply) and the
per-collection modification sequences strictly ordered under writers on
several instances.  A write that says it touches one collection only (a
PUT or DELETE with nobody to schedule) takes the database's lock shared
and that collection's lock exclusively: writes to different collections
then run side by side on different instances, and still wait for any
write that takes the whole database (scheduling, MOVE, settling a job,
user administration), which takes the database's lock exclusively.  A
job's claim, whose one statement locks the row it takes, needs only the
database's lock shared.  Every write takes the database's lock first, so
two writes never wait for each other in a circle.  A write, once begun, runs to its end even if
the request that asked for it goes away (as a write in a thread of its own
would): a half-done transaction is never left on the writer.  Readers run
beside the writer on connections of their own, in autocommit, each
statement on a committed snapshot.

New jobs are announced with NOTIFY in the transaction that enqueues them
(delivered at commit); ``watch_jobs`` LISTENs on a connection of its own and
wakes the local workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import re
import shlex
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
from greenlet import greenlet, getcurrent

from caldav_sched.store.db import ThreadConnection, ThreadCursor, run_to_end
from caldav_sched.store.errors import DatabaseUnavailable

log = logging.getLogger("caldav_sched.store")

T = TypeVar("T")

DIALECT = "postgresql"

# The advisory lock every write transaction takes (serialised writes), the
# one migrations take, and the channel new jobs are announced on.
WRITE_LOCK_KEY = 0x6361_6C64_6176_0001
MIGRATE_LOCK_KEY = 0x6361_6C64_6176_0002
# A collection's write lock: (this, the collection's id) in the two-key space
# of advisory locks, which does not overlap the one-key space above.
COLLECTION_LOCK_CLASS = 0x6361_6C64
JOBS_CHANNEL = "caldav_sched_jobs"

# Tables whose rows have a generated ``id``: an INSERT into one returns it.
_ID_TABLES = frozenset(
    {"users", "collections", "objects", "jobs", "itip_log", "inbound_messages"}
)
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)
_COMMENTS_ONLY = re.compile(r"(\s|--[^\n]*)*")
_RETURNS_ROWS = re.compile(r"^\s*(SELECT|WITH|VALUES|SHOW)\b|\bRETURNING\b", re.IGNORECASE)

# What the driver raises when the connection itself fails (not a statement).
# The server ending the session (a shutdown, a crash, a dropped database), or
# the driver left waiting for the rest of an answer that will not come (the
# server went away in the middle of one): the connection is of no more use,
# even before the driver has noticed it closed.
_SESSION_ENDED = (
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.DatabaseDroppedError,
    asyncpg.exceptions.IdleSessionTimeoutError,
    asyncpg.exceptions.InternalClientError,
)
_CONNECTION_ERRORS = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
    *_SESSION_ENDED,
)

# Prepared statements kept per connection: every statement of the store fits.
_STATEMENT_CACHE = 1024

# How long to wait for a connection (seconds): a request waiting on a database
# that does not answer gets its 503 after this long, not after a minute.
CONNECT_TIMEOUT = 10.0


# -- statements --------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> tuple[str, bool, bool]:
    """The statement in PostgreSQL's terms; whether it returns the new row's
    id, and whether it returns rows at all."""
    pieces = sql.split("?")
    text = pieces[0] + "".join(f"${number}{piece}" for number, piece in enumerate(pieces[1:], 1))
    match = _INSERT.match(text)
    returns_id = bool(
        match and match.group(1).lower() in _ID_TABLES and "RETURNING" not in text.upper()
    )
    if returns_id:
        text = text.rstrip().rstrip(";") + " RETURNING id"
    return text, returns_id, returns_id or bool(_RETURNS_ROWS.search(text))


def _count(status: str) -> int:
    """The row count of a command tag (``UPDATE 3``, ``INSERT 0 1``)."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class PgCursor:
    """sqlite3's cursor interface over the result of one statement."""

    __slots__ = ("_rows", "rowcount", "lastrowid")

    def __init__(self, rows: list[Any], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        self._rows = []


def _storable(parameters: tuple) -> tuple:
    """The parameters, with any NUL in a text replaced by U+FFFD.

    PostgreSQL's text cannot hold NUL, which SQLite's can: odd input that
    gets this far (an address with a NUL looked up, a header quoted in a
    refusal reason) is then stored and matched as the replacement
    character, where it would otherwise fail the statement.
    """
    for value in parameters:
        if value.__class__ is str and "\x00" in value:
            return tuple(
                v.replace("\x00", "\ufffd") if v.__class__ is str else v for v in parameters
            )
    return parameters


async def _execute(conn: asyncpg.Connection, sql: str, parameters: tuple) -> PgCursor:
    text, returns_id, returns_rows = translate(sql)
    parameters = _storable(parameters)
    if returns_rows:
        rows = await conn.fetch(text, *parameters)
        if returns_id:
            return PgCursor([], len(rows), int(rows[0][0]) if rows else None)
        return PgCursor(rows, len(rows), None)
    if parameters:
        status = await conn.execute(text, *parameters)
    else:  # the simple protocol: BEGIN, COMMIT, a statement without parameters
        status = await conn.execute(text)
    return PgCursor([], _count(status), None)


# -- sqlite3-style code on the event loop --------------------------------------------------


class _Bridge(greenlet):
    """A greenlet running sqlite3-style store code for ``run_blocking``."""


def awaited(awaitable: Awaitable[T]) -> T:
    """Inside ``run_blocking``: the result of *awaitable*, awaited on the loop."""
    current = getcurrent()
    if not isinstance(current, _Bridge):
        raise RuntimeError("a PostgreSQL statement outside run_blocking")
    return current.parent.switch(awaitable)  # type: ignore[no-any-return]


async def run_blocking(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``work(*args, **kwargs)``, whose statements are ``awaited`` on the loop.

    The greenlet runs ``work`` until it asks for an awaitable; this coroutine
    awaits it and resumes ``work`` with the result (or raises the error into
    it), until ``work`` returns.
    """
    bridge = _Bridge(functools.partial(work, *args, **kwargs))
    bridge.gr_context = contextvars.copy_context()
    request = bridge.switch()
    while not bridge.dead:
        try:
            result = await request
        except BaseException as exc:  # noqa: BLE001 - it belongs to ``work``
            request = bridge.throw(type(exc), exc, exc.__traceback__)
        else:
            request = bridge.switch(result)
    return request  # type: ignore[no-any-return]


class PgRaw:
    """sqlite3's connection interface over an asyncpg connection, in ``run_blocking``."""

    __slots__ = ("conn",)

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> PgCursor:
        return awaited(_execute(self.conn, sql, tuple(parameters)))

    def executemany(self, sql: str, seq_of_parameters: Iterable[Iterable[Any]]) -> None:
        """One statement for many rows of parameters (asyncpg pipelines them)."""
        rows = [_storable(tuple(p)) for p in seq_of_parameters]
        if len(rows) == 1:  # most objects have one row: a plain statement costs less
            self.execute(sql, rows[0])
            return
        text, _, _ = translate(sql)
        awaited(self.conn.executemany(text, rows))

    def script(self, sql: str) -> None:
        """Run several statements at once (a migration file): no parameters.

        A file of comments only (a migration with nothing to do on this
        backend) is not sent: the server answers an empty query with no
        command tag, which asyncpg does not expect.
        """
        if _COMMENTS_ONLY.fullmatch(sql):
            return
        awaited(self.conn.execute(sql))


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
    """The server's message (several lines, with tabs) as one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


class _Link:
    """One asyncpg connection, used by one caller at a time, connected on first use."""

    def __init__(self, url: str, password: str | None) -> None:
        self._url = url
        self._password = password
        self._conn: asyncpg.Connection | None = None
        self.lock = asyncio.Lock()

    async def _connect(self) -> asyncpg.Connection:
        extra = {"password": self._password} if self._password is not None else {}
        try:
            return await asyncpg.connect(
                self._url, statement_cache_size=_STATEMENT_CACHE, timeout=CONNECT_TIMEOUT, **extra
            )
        except (asyncpg.PostgresError, *_CONNECTION_ERRORS, ValueError) as exc:
            raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {_one_line(exc)}") from exc

    async def connection(self) -> asyncpg.Connection:
        """The connection (the caller holds ``lock``), opened again if it was lost."""
        if self._conn is None or self._conn.is_closed():
            self._conn = None
            self._conn = await self._connect()
        return self._conn

    def lost(self, exc: BaseException) -> DatabaseUnavailable | None:
        """The error to raise for *exc* when it means the connection is gone."""
        if isinstance(exc, _SESSION_ENDED):
            self.drop()
        elif not isinstance(exc, _CONNECTION_ERRORS) or not (
            self._conn is None or self._conn.is_closed()
        ):
            return None
        return DatabaseUnavailable(f"lost the connection to PostgreSQL: {_one_line(exc)}")

    def drop(self) -> None:
        """Close the connection at once (a statement was cut short: its state is unknown)."""
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def call(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run sqlite3-style ``work(PgRaw, *args, **kwargs)`` on this connection."""
        async with self.lock:
            conn = await self.connection()
            try:
                return await run_blocking(work, PgRaw(conn), *args, **kwargs)
            except BaseException as exc:
                lost = self._failed(exc)
                if lost is None:
                    raise
                raise lost from exc

    async def execute(self, sql: str, parameters: tuple) -> PgCursor:
        async with self.lock:
            conn = await self.connection()
            try:
                return await _execute(conn, sql, parameters)
            except BaseException as exc:
                lost = self._failed(exc)
                if lost is None:
                    raise
                raise lost from exc

    def _failed(self, exc: BaseException) -> DatabaseUnavailable | None:
        """``DatabaseUnavailable`` when *exc*, raised by a statement on this
        connection, means the connection is gone; None to raise *exc* itself.

        A statement cut short by cancellation (even where the code around it
        turned that into another error on its way out) leaves the connection
        in a state nobody knows: it is closed, and the server rolls back.
        """
        task = asyncio.current_task()
        if isinstance(exc, asyncio.CancelledError) or (task is not None and task.cancelling()):
            self.drop()
            return None
        return self.lost(exc)

    async def close(self) -> None:
        async with self.lock:
            if self._conn is not None:
                with contextlib.suppress(*_CONNECTION_ERRORS, asyncpg.PostgresError):
                    await self._conn.close(timeout=5)
                self._conn = None


class PgConnection:
    """aiosqlite's connection interface over one ``_Link``."""

    __slots__ = ("_link",)

    dialect = DIALECT

    def __init__(self, link: _Link) -> None:
        self._link = link

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Pending:
        return _Pending(self._execute(sql, tuple(parameters)))

    async def _execute(self, sql: str, parameters: tuple) -> ThreadCursor:
        return ThreadCursor(await self._link.execute(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[Any]:
        cursor = await self._link.execute(sql, tuple(parameters))
        return cursor.fetchall()

    async def run_blocking(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run sqlite3-style ``work(raw, ...)`` on this connection (``in_thread``)."""
        return await self._link.call(work, *args, **kwargs)


class _Transaction(PgConnection):
    """The writer inside ``PgDatabase.transaction``: its lock is already held."""

    __slots__ = ("_conn",)

    def __init__(self, link: _Link, conn: asyncpg.Connection) -> None:
        super().__init__(link)
        self._conn = conn

    async def _statement(self, sql: str, parameters: tuple) -> PgCursor:
        try:
            return await _execute(self._conn, sql, parameters)
        except _CONNECTION_ERRORS as exc:
            raise (self._link.lost(exc) or exc) from exc

    async def _execute(self, sql: str, parameters: tuple) -> ThreadCursor:
        return ThreadCursor(await self._statement(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[Any]:
        return (await self._statement(sql, tuple(parameters))).fetchall()

    async def run_blocking(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await run_blocking(work, PgRaw(self._conn), *args, **kwargs)
        except _CONNECTION_ERRORS as exc:
            raise (self._link.lost(exc) or exc) from exc


# BEGIN and the write lock in one round trip (the simple protocol takes both).
_BEGIN = f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"


def begin(collection: int | None = None, *, row_locked: bool = False) -> str:
    """BEGIN with the locks of a write to the whole database, to one collection,
    or (*row_locked*) of one whose statements lock the rows they change."""
    if row_locked:
        return f"BEGIN; SELECT pg_advisory_xact_lock_shared({WRITE_LOCK_KEY})"
    if collection is None:
        return _BEGIN
    return (
        f"BEGIN; SELECT pg_advisory_xact_lock_shared({WRITE_LOCK_KEY});"
        f" SELECT pg_advisory_xact_lock({COLLECTION_LOCK_CLASS}, {int(collection) % 2**31})"
    )


def _transaction(raw: PgRaw, work: Callable[[PgRaw], T], collection: int | None = None) -> T:
    raw.execute(begin(collection))
    try:
        result = work(raw)
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")
    return result


def _run_to_end(work: Callable[[Any], Awaitable[T]], raw: PgRaw) -> T:
    """Run async store code with every await answered at once (``ThreadConnection``)."""
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


async def _to_the_end(work: Awaitable[T]) -> T:
    """Await *work*, which runs to its end even if the caller is cancelled."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_left_behind)
        raise


def _left_behind(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("a write whose request went away failed: %s", _one_line(task.exception()))  # type: ignore[arg-type]


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
        self._listener: asyncio.Task[None] | None = None
        self._password: str | None = None

    async def open(self) -> None:
        if self._password_command:
            self._password = await asyncio.to_thread(password_from_command, self._password_command)
        self._writer = _Link(self.url, self._password)
        self._readers = [_Link(self.url, self._password) for _ in range(self._reader_count)]
        try:
            await self._writer.execute("SELECT 1", ())
        except DatabaseUnavailable:
            await self.close()
            raise

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
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
    async def transaction(
        self, *, collection: int | None = None, row_locked: bool = False
    ) -> AsyncIterator[PgConnection]:
        """One write transaction; commits on success, rolls back on any error.

        With *collection*: one that writes that collection's rows only; with
        *row_locked*: one whose statements lock the rows they change (a job
        claimed with SKIP LOCKED), which waits only for writes to the whole
        database.
        """
        async with self._write_lock:
            link = self._writer_link()
            async with link.lock:
                conn = await link.connection()
                try:
                    await _to_the_end(
                        _execute(conn, begin(collection, row_locked=row_locked), ())
                    )
                except asyncio.CancelledError:
                    link.drop()  # the BEGIN may have run: the server ends it
                    raise
                except _CONNECTION_ERRORS as exc:
                    raise (link.lost(exc) or exc) from exc
                try:
                    yield _Transaction(link, conn)
                except BaseException:
                    try:
                        await _to_the_end(_execute(conn, "ROLLBACK", ()))
                    except BaseException:  # noqa: BLE001 - the connection's state is unknown
                        link.drop()
                    raise
                else:
                    try:
                        await _to_the_end(_execute(conn, "COMMIT", ()))
                    except asyncio.CancelledError:
                        link.drop()  # the COMMIT may still be on its way: nobody else may talk
                        raise
                    except _CONNECTION_ERRORS as exc:
                        link.drop()
                        raise (link.lost(exc) or exc) from exc

    async def write(self, work: Callable[[Any], T], *, collection: int | None = None) -> T:
        """Run sqlite3-style ``work(raw)`` as one write transaction; with
        *collection*, one that writes that collection's rows only."""
        return await _to_the_end(self._write(_transaction, work, collection))

    async def in_writer(
        self, work: Callable[[Any], Awaitable[T]], *, collection: int | None = None
    ) -> T:
        """Run the async store code ``work(conn)`` as one write transaction
        (with *collection*: one that writes that collection's rows only)."""
        return await _to_the_end(
            self._write(_transaction, lambda raw: _run_to_end(work, raw), collection)
        )

    async def _write(self, work: Callable[..., T], *args: Any) -> T:
        async with self._write_lock:
            return await self._writer_link().call(work, *args)

    async def point_read(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run sqlite3-style ``work(raw, ...)``, a lookup by key, on a reader."""
        return await self._reader_link().call(work, *args, **kwargs)

    def _reader_link(self) -> _Link:
        """A reader nobody is using, or the next in turn."""
        if not self._readers:
            raise DatabaseUnavailable("the database is not open")
        for link in self._readers:
            if not link.lock.locked():
                return link
        self._next_reader = (self._next_reader + 1) % len(self._readers)
        return self._readers[self._next_reader]

    def reader(self) -> PgConnection:
        """A connection in autocommit; each statement sees a committed snapshot."""
        return PgConnection(self._reader_link())

    async def run(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run sqlite3-style ``work(raw, ...)`` on the writer outside a transaction."""
        return await _to_the_end(self._write(functools.partial(work, **kwargs), *args))

    def watch_jobs(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` whenever any instance commits a new job."""
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen(wake))

    async def _listen(self, wake: Callable[[], None]) -> None:
        extra = {"password": self._password} if self._password is not None else {}
        failing = False
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT, **extra)
                gone = asyncio.Event()
                conn.add_termination_listener(lambda _conn: gone.set())
                await conn.add_listener(JOBS_CHANNEL, lambda *_: wake())
                if failing:
                    log.warning("listening for new jobs again")
                    failing = False
                wake()  # a job committed while nobody listened
                await gone.wait()
                problem = "the connection closed"
            except (asyncpg.PostgresError, *_CONNECTION_ERRORS) as exc:
                problem = _one_line(exc)
            finally:
                if conn is not None and not conn.is_closed():
                    conn.terminate()
            # Said once per outage; the workers poll meanwhile.
            if not failing:
                log.warning("not listening for new jobs (%s); trying again every second", problem)
                failing = True
            await asyncio.sleep(1.0)


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

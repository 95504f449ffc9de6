"""SQLite connections: one serialised writer and a few read-only readers.

WAL mode lets readers run beside the writer.  Every write goes through
``Database.transaction()``, which takes an asyncio lock and opens a
``BEGIN IMMEDIATE`` transaction on the single writer connection, so writes
are short, serialised and never interleaved.  sqlite3 runs in aiosqlite's
threads, never on the event loop.

A write that is a handful of statements runs as one plain function in the
writer's thread (``Database.write``, ``in_thread``): one trip to the thread
and back instead of one per statement, so the write lock is held for the
time the statements take rather than for as many turns of a busy event loop.
``Database.in_writer`` does the same for the store's ordinary async
functions: it runs them in the writer's thread over ``ThreadConnection``,
whose every await completes at once, so a write of dozens of statements (an
invitation to ten attendees: tokens, jobs, history) is still one trip.

One exception to "never on the event loop": ``Database.point_read`` runs a
lookup of one row by its key (the GET of one object) on the loop itself,
through a read-only connection of its own.  Such a read costs tens of
microseconds; the trip to a reader thread and back costs more than that in
thread wake-ups and in handing the interpreter lock back and forth.  WAL
readers do not wait for the writer; should one ever find the database busy
(a checkpoint resetting the log), it waits at most a few milliseconds and
then the read goes to a reader thread as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import itertools
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import aiosqlite
import asyncpg

from caldav_sched.store.errors import DatabaseUnavailable

Connection = aiosqlite.Connection

# A uniqueness violation, on either backend.
IntegrityError = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)
# The database does not answer (aiosqlite raises ValueError once closed).
DATABASE_ERRORS = (
    sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, DatabaseUnavailable, ValueError
)
T = TypeVar("T")


async def in_thread(conn: Connection, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``work(sqlite3_connection, *args, **kwargs)`` in ``conn``'s own thread.

    For store functions that run several statements: they go to the thread
    in one trip.  aiosqlite has no public call for this; its queue method
    ``_execute`` (present since its first releases, pinned in pyproject) is
    used here and nowhere else.  Already in the writer's thread (a
    ``ThreadConnection``), ``work`` runs at once.
    """
    if isinstance(conn, ThreadConnection):
        return work(conn.raw, *args, **kwargs)
    run_blocking = getattr(conn, "run_blocking", None)
    if run_blocking is not None:  # PostgreSQL (store.postgresql): in a greenlet on the loop
        return cast(T, await run_blocking(work, *args, **kwargs))
    return await conn._execute(_call, conn, work, args, kwargs)


def _call(conn: Connection, work: Callable[..., T], args: tuple, kwargs: dict) -> T:
    return work(conn._conn, *args, **kwargs)


class _Done:
    """An awaitable that is already complete, and an async context manager of its value."""

    __slots__ = ("_value",)

    def __init__(self, value: Any) -> None:
        self._value = value

    def __await__(self) -> Generator[Any, None, Any]:
        return self._value
        yield  # a generator that never suspends

    async def __aenter__(self) -> Any:
        return self._value

    async def __aexit__(self, *exc: object) -> None:
        self._value.close()


class _BlockingCursor(Protocol):
    """What ``ThreadCursor`` needs of a cursor: sqlite3's, or PostgreSQL's ``PgCursor``."""

    rowcount: int
    lastrowid: int | None

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def close(self) -> None: ...


class ThreadCursor:
    """aiosqlite's cursor interface over a cursor whose rows are already at hand.

    For ``ThreadConnection`` (a sqlite3 cursor in the writer's thread) and
    for PostgreSQL's connections (a result already fetched, ``store.postgresql``).
    """

    __slots__ = ("_cursor",)

    def __init__(self, cursor: _BlockingCursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchone(self) -> sqlite3.Row | None:
        return cast("sqlite3.Row | None", self._cursor.fetchone())

    async def fetchall(self) -> list[sqlite3.Row]:
        return self._cursor.fetchall()

    def close(self) -> None:
        self._cursor.close()


class ThreadConnection:
    """aiosqlite's connection interface over the writer's sqlite3 connection.

    For the store's async functions when ``Database.in_writer`` runs
    them in the writer's own thread: each call runs its statement at once
    and every await on it completes without suspending.
    """

    __slots__ = ("raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Done:
        return _Done(ThreadCursor(self.raw.execute(sql, tuple(parameters))))

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return self.raw.execute(sql, tuple(parameters)).fetchall()


def run_to_end(work: Callable[[Connection], Awaitable[T]], raw: sqlite3.Connection) -> T:
    """Run ``work`` over a ``ThreadConnection``; it must never suspend."""
    conn = raw if isinstance(raw, ThreadConnection) else ThreadConnection(raw)
    coroutine = cast("Generator[Any, None, T]", work(cast(Connection, conn)).__await__())
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise RuntimeError("a write run in the writer's thread waited for something else")


# How long a read on the event loop may wait for a busy database before it
# moves to a reader thread (milliseconds).
POINT_READ_BUSY_MS = 5


def _point_reader(path: str, cache_kib: int) -> sqlite3.Connection:
    raw = sqlite3.connect(path, isolation_level=None)
    raw.row_factory = sqlite3.Row
    raw.execute(f"PRAGMA busy_timeout = {POINT_READ_BUSY_MS}")
    raw.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
    raw.execute("PRAGMA query_only = ON")
    return raw


def _transaction(raw: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    raw.execute("BEGIN IMMEDIATE")
    try:
        result = work(raw)
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")
    return result


async def _connect(path: str, *, read_only: bool, cache_kib: int) -> Connection:
    try:
        conn = await aiosqlite.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(f"cannot open database {path}: {exc}") from exc
    conn.row_factory = aiosqlite.Row
    try:
        await conn.execute("PRAGMA busy_timeout = 10000")
        if not read_only:
            await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
        if read_only:
            # A second line of defence: a reader can never write by mistake.
            await conn.execute("PRAGMA query_only = ON")
    except sqlite3.Error as exc:
        await conn.close()
        raise DatabaseUnavailable(f"cannot use database {path}: {exc}") from exc
    return conn


class Database:
    """The connections to one SQLite file."""

    dialect = "sqlite"

    def __init__(self, path: str, *, readers: int = 2, cache_kib: int = 65536) -> None:
        self.path = path
        self._reader_count = readers
        self._cache_kib = cache_kib
        self._writer: Connection | None = None
        self._readers: list[Connection] = []
        self._point: sqlite3.Connection | None = None
        self._next_reader = itertools.cycle(range(readers))
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        if self.path != ":memory:":
            file = Path(self.path)
            if file.is_dir():
                raise DatabaseUnavailable(f"cannot open database {file}: it is a directory")
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(f"cannot create {file.parent}: {exc.strerror}") from exc
        try:
            self._writer = await _connect(self.path, read_only=False, cache_kib=self._cache_kib)
            for _ in range(self._reader_count):
                self._readers.append(
                    await _connect(self.path, read_only=True, cache_kib=self._cache_kib)
                )
            try:
                self._point = _point_reader(self.path, self._cache_kib)
            except sqlite3.Error as exc:
                raise DatabaseUnavailable(f"cannot use database {self.path}: {exc}") from exc
        except DatabaseUnavailable:
            await self.close()
            raise

    async def close(self) -> None:
        async with self._write_lock:
            if self._point is not None:
                self._point.close()
                self._point = None
            for conn in self._readers:
                await conn.close()
            self._readers.clear()
            if self._writer is not None:
                await self._writer.close()
                self._writer = None

    @property
    def writer(self) -> Connection:
        if self._writer is None:
            raise DatabaseUnavailable("the database is not open")
        return self._writer

    @asynccontextmanager
    async def transaction(
        self, *, collection: int | None = None, row_locked: bool = False
    ) -> AsyncIterator[Connection]:
        """One write transaction; commits on success, rolls back on any error.

        *collection* and *row_locked* say how little the write touches (see
        ``write``; PostgreSQL's ``transaction``): one writer takes them all here.
        """
        async with self._write_lock:
            conn = self.writer
            try:
                await conn.execute("BEGIN IMMEDIATE")
            except asyncio.CancelledError:
                # The statement was handed to the connection's thread and
                # runs all the same: end what it begins, or the next
                # transaction finds one open.
                with contextlib.suppress(sqlite3.Error):
                    await conn.execute("ROLLBACK")
                raise
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    async def write(
        self, work: Callable[[sqlite3.Connection], T], *, collection: int | None = None
    ) -> T:
        """Run ``work`` as one write transaction in the writer's thread.

        ``work`` is plain, blocking sqlite3 code (the store's ``*_blocking``
        functions) and must not touch the event loop; it commits when it
        returns and rolls back when it raises, and its result or exception
        comes back here.  *collection* says the write touches that
        collection's rows only (PostgreSQL lets such writes to different
        collections run side by side); here one writer takes every write.
        """
        async with self._write_lock:
            return await in_thread(self.writer, _transaction, work)

    async def in_writer(
        self, work: Callable[[Connection], Awaitable[T]], *, collection: int | None = None
    ) -> T:
        """Run the async store code ``work(conn)`` as one write transaction in the writer's thread.

        ``work`` awaits nothing but the connection it is given (store
        functions on it); those awaits complete at once there.  It commits
        when ``work`` returns and rolls back when it raises.  Anything else
        awaited (the loop, a reader) is a programming error: it rolls back
        and raises RuntimeError.
        """
        async with self._write_lock:
            return await in_thread(
                self.writer, _transaction, lambda raw: run_to_end(work, raw)
            )

    async def point_read(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``work(sqlite3_connection, *args, **kwargs)``, a lookup by key, on the loop.

        Only for reads of a row or two through an index (see the module
        docstring); anything that scans goes to ``reader()``.
        """
        if self._point is None:
            raise DatabaseUnavailable("the database is not open")
        try:
            return work(self._point, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
        return await in_thread(self.reader(), work, *args, **kwargs)

    def reader(self) -> Connection:
        """A read-only connection; each statement sees a committed snapshot."""
        if not self._readers:
            raise DatabaseUnavailable("the database is not open")
        return self._readers[next(self._next_reader)]

    async def run(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``work(sqlite3_connection, ...)`` on the writer outside a transaction."""
        async with self._write_lock:
            return await in_thread(self.writer, work, *args, **kwargs)

    def watch_jobs(self, wake: Callable[[], None]) -> None:
        """Nothing to watch: one SQLite file has writers in this process only.

        (``Services.job_listeners`` wakes the workers of the process that
        committed the job; PostgreSQL's ``watch_jobs`` wakes every instance.)
        """


@functools.cache
def _sqlite_library() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return None
    try:
        library = ctypes.CDLL(name)
        library.sqlite3_status64.argtypes = [
            ctypes.c_int, ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_int64),
            ctypes.c_int,
        ]
    except (OSError, AttributeError):
        return None
    return library


def sqlite_memory_bytes() -> int | None:
    """Heap memory SQLite holds in this process (its page caches above all).

    Read with ``sqlite3_status64(SQLITE_STATUS_MEMORY_USED)`` from the shared
    SQLite library Python's sqlite3 module uses.  None when that library
    cannot be found or says nothing (a Python built with SQLite inside).
    """
    library = _sqlite_library()
    if library is None:
        return None
    current, highest = ctypes.c_int64(0), ctypes.c_int64(0)
    if library.sqlite3_status64(0, ctypes.byref(current), ctypes.byref(highest), 0) != 0:
        return None
    return current.value or None


def where(**equal: object) -> tuple[str, list[object]]:
    """`` WHERE a = ? AND b = ?`` for the filters that are not None, and their values."""
    given = {name: value for name, value in equal.items() if value is not None}
    if not given:
        return "", []
    return " WHERE " + " AND ".join(f"{name} = ?" for name in given), list(given.values())

"""SQLite connections: one serialised writer and a few read-only readers.

WAL mode lets readers run beside the writer.  Every write goes through
``Database.transaction()``, which takes an asyncio lock and opens a
``BEGIN IMMEDIATE`` transaction on the single writer connection, so writes
are short, serialised and never interleaved.  sqlite3 runs in aiosqlite's
threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from caldav_sched.store.errors import DatabaseUnavailable

Connection = aiosqlite.Connection


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

    def __init__(self, path: str, *, readers: int = 2, cache_kib: int = 65536) -> None:
        self.path = path
        self._reader_count = readers
        self._cache_kib = cache_kib
        self._writer: Connection | None = None
        self._readers: list[Connection] = []
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
        except DatabaseUnavailable:
            await self.close()
            raise

    async def close(self) -> None:
        async with self._write_lock:
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
    async def transaction(self) -> AsyncIterator[Connection]:
        """One write transaction; commits on success, rolls back on any error."""
        async with self._write_lock:
            conn = self.writer
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            else:
                await conn.execute("COMMIT")

    def reader(self) -> Connection:
        """A read-only connection; each statement sees a committed snapshot."""
        if not self._readers:
            raise DatabaseUnavailable("the database is not open")
        return self._readers[next(self._next_reader)]


def where(**equal: object) -> tuple[str, list[object]]:
    """`` WHERE a = ? AND b = ?`` for the filters that are not None, and their values."""
    given = {name: value for name, value in equal.items() if value is not None}
    if not given:
        return "", []
    return " WHERE " + " AND ".join(f"{name} = ?" for name in given), list(given.values())

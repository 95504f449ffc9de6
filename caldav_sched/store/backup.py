"""A consistent copy of the database while the server runs.

SQLite's online backup API copies every page inside one read transaction,
so the copy is a snapshot of one committed state, whatever the server writes
meanwhile (WAL lets it go on writing).  The copy is written beside the
destination and renamed into place only when complete.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from caldav_sched.store.errors import DatabaseUnavailable, StoreError


class BackupFailed(StoreError):
    """The backup could not be written."""


def _copy(source: str, destination: Path) -> int:
    partial = destination.with_name(destination.name + ".partial")
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(f"cannot open database {source}: {exc}") from exc
    try:
        src.execute("PRAGMA busy_timeout = 10000")
        try:
            dst = sqlite3.connect(partial)
        except sqlite3.Error as exc:
            raise BackupFailed(f"cannot write {partial}: {exc}") from exc
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
            pages = dst.execute("PRAGMA page_count").fetchone()[0]
        except sqlite3.Error as exc:
            raise BackupFailed(f"backup of {source} failed: {exc}") from exc
        finally:
            dst.close()
    finally:
        src.close()
    try:
        os.replace(partial, destination)
    except OSError as exc:
        raise BackupFailed(f"cannot move the backup to {destination}: {exc.strerror}") from exc
    return int(pages)


async def backup(source: str, destination: str) -> int:
    """Copy the database at *source* to *destination*; the copy's page count."""
    target = Path(destination)
    if target.exists():
        raise BackupFailed(f"{destination} exists; name a new file")
    if not Path(source).is_file():
        raise DatabaseUnavailable(f"no database at {source}")
    return await asyncio.to_thread(_copy, source, target)

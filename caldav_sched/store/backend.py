"""The database a configuration names: SQLite by its path, or PostgreSQL by its URL.

Everything above the store opens its database here and talks to it through
the interface both backends share (``store.db.Database``,
``store.postgresql.PgDatabase``).
"""

from __future__ import annotations

from typing import Any

from caldav_sched.config import StorageSettings
from caldav_sched.store.db import Database
from caldav_sched.store.postgresql import PgDatabase


def make_database(storage: StorageSettings, *, readers: int = 2) -> Any:
    """An unopened database for the ``[storage]`` settings."""
    if storage.url:
        return PgDatabase(storage.url, readers=readers, password_command=storage.password_command)
    return Database(storage.path, readers=readers, cache_kib=storage.cache_size_kib)


def describe(storage: StorageSettings) -> str:
    """Where the data lives, for messages (a URL without its password)."""
    if storage.url:
        from caldav_sched.store.postgresql import redact

        return redact(storage.url)
    from pathlib import Path

    return str(Path(storage.path).absolute())

"""The store's own vocabulary of failures; callers translate them."""

from __future__ import annotations

from caldav_sched.errors import CaldavSchedError


class StoreError(CaldavSchedError):
    """The database could not do that."""


class DatabaseUnavailable(StoreError):
    """The database file cannot be opened."""


class UidConflict(StoreError):
    """Another resource in the collection already holds this UID."""

    def __init__(self, name: str) -> None:
        super().__init__(f"UID already used by {name}")
        self.name = name


class DuplicateName(StoreError):
    """A row with that name already exists."""

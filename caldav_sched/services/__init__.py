"""The application layer: one function per use case.

Services own transactions (a write and what it causes commit together),
speak the domain's language, and raise ``services.errors``; they never build
HTTP responses.  ``Services`` bundles what every use case needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

from caldav_sched.config import Settings
from caldav_sched.store.db import Database


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


@dataclass
class Services:
    db: Database
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    job_listeners: list[Callable[[], None]] = field(default_factory=list)
    # Called with a user name after that user's password or state changed
    # (the Authenticator drops its cached row).
    user_listeners: list[Callable[[str], None]] = field(default_factory=list)

    def timestamp(self) -> str:
        return self.clock.now().isoformat(timespec="seconds")

    def jobs_enqueued(self) -> None:
        """Tell the workers in this process that new jobs were committed."""
        for listener in self.job_listeners:
            listener()

    def user_changed(self, name: str) -> None:
        """Tell caches in this process that a user's row changed."""
        for listener in self.user_listeners:
            listener(name)

"""What every storm shares: a server with data stored before it, and a log watch.

``log_watch`` records every log record at ERROR or above, and any record that
carries a traceback, from the server's loggers and aiohttp's (which is where
an error that escaped the error middleware would show).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from tests.conftest import BACKENDS


class LogWatch(logging.Handler):
    """Collects the records a storm must never produce."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.bad: list[logging.LogRecord] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            with self._lock:
                self.bad.append(record)

    def take(self) -> list[str]:
        with self._lock:
            bad, self.bad = self.bad, []
        return [self._describe(r) for r in bad]

    def _describe(self, record: logging.LogRecord) -> str:
        text = f"{record.name} {record.levelname}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        return text


@pytest.fixture
def log_watch() -> Iterator[LogWatch]:
    watch = LogWatch()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(watch)
    # Records below the root's level would never reach the handler.
    root.setLevel(min(old_level, logging.WARNING) if old_level else logging.WARNING)
    try:
        yield watch
    finally:
        root.removeHandler(watch)
        root.setLevel(old_level)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every storm runs against both stores: PostgreSQL's driver checks the
    type of every value it is given, so odd input meets it too."""
    return str(request.param)

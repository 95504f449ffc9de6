"""Log output as ``[log]`` asks: readable text or one JSON object per line.

Everything goes to standard error (systemd's journal, or the terminal).
A record may carry ``fields`` (a dict, passed as ``extra={"fields": ...}``):
the request log does, and JSON output puts them under ``"http"``.  A value
that is not a JSON type is written as its ``str()`` (the request log's
``url`` is built only then).  The
handler installed here replaces an earlier one of ours and leaves any other
handler on the root logger alone (a test runner's capture, for example).

aiosmtpd logs each LMTP conversation line by line at INFO (loggers
``mail.log`` and ``mail.debug``); those loggers stay at WARNING unless
``[log] level`` is ``debug``.  Our own log says what each message became.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any

from caldav_sched.config import LogSettings

_OURS = "_caldav_sched_handler"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry["http"] = fields
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TextFormatter(logging.Formatter):
    """``TEXT_FORMAT``, with the date and time part of ``asctime`` made once a second.

    Same output as ``logging.Formatter``'s default time format; a request
    log line is written for every request, and ``strftime`` was a fifth of
    its cost.
    """

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._second: int | None = None
        self._second_text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime(self.default_time_format, self.converter(second))
            self._second = second
        return self.default_msec_format % (self._second_text, record.msecs)


def skip_unused_record_fields() -> None:
    """Stop making the parts of a log record that no format of ours shows.

    Python's logging HOWTO ("Optimization"): without these, every record
    looks up its caller's frame, thread and process.  For the daemon, whose
    only handler is ours; a library's own handler would see those fields
    empty.
    """
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    if hasattr(logging, "logAsyncioTasks"):  # Python 3.12 and later
        logging.logAsyncioTasks = False


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record.

    With ``batch_seconds`` > 0 (the daemon), records below WARNING are kept
    and written together at most that long after they were made: one write
    per HTTP request was a quarter of a small request's cost.  A WARNING or
    worse is written at once, after everything kept before it; ``flush()``
    (at exit too, through ``logging.shutdown``) writes what is kept.
    """

    def __init__(self, batch_seconds: float = 0.0) -> None:
        super().__init__()
        self._batch_seconds = batch_seconds
        self._kept: list[str] = []
        self._flusher: threading.Thread | None = None
        self._closed = False

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass

    def emit(self, record: logging.LogRecord) -> None:
        if self._batch_seconds <= 0 or record.levelno >= logging.WARNING:
            self._write_kept()
            super().emit(record)
            return
        try:
            self._kept.append(self.format(record) + self.terminator)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)
            return
        if len(self._kept) >= _MOST_KEPT:
            self._write_kept()
        elif self._flusher is None:
            self._flusher = threading.Thread(
                target=self._flush_now_and_then, name="log-flusher", daemon=True
            )
            self._flusher.start()

    def _write_kept(self) -> None:
        """Write the kept lines (the caller holds the handler's lock)."""
        if self._kept:
            text = "".join(self._kept)
            self._kept.clear()
            stream = self.stream
            stream.write(text)
            stream.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_kept()
        super().flush()

    def close(self) -> None:
        self._closed = True
        self.flush()
        super().close()

    def _flush_now_and_then(self) -> None:
        while not self._closed:
            time.sleep(self._batch_seconds)
            self.flush()


# Written at once when this many lines are kept, however young.
_MOST_KEPT = 512

# aiosmtpd's loggers: about sixteen INFO lines per LMTP conversation.
CHATTY_LIBRARY_LOGGERS = ("mail.log", "mail.debug")


def configure_logging(
    settings: LogSettings, *, stream: Any = None, batch_seconds: float = 0.0
) -> logging.Handler:
    """Install our handler on the root logger (replacing an earlier one of ours).

    ``batch_seconds`` lets INFO lines wait that long to be written together
    (the daemon passes ``[log] batch_seconds``; commands write at once).
    """
    handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler(batch_seconds)
    )
    if settings.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    setattr(handler, _OURS, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(settings.level.upper())
    library_level = logging.NOTSET if settings.level == "debug" else logging.WARNING
    for name in CHATTY_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(library_level)
    return handler

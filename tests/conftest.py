"""Shared fixtures: a real server on a loopback socket, users, HTTP clients.

The server runs the real aiohttp application in a thread of its own (so both
the synchronous ``caldav`` client library and async aiohttp clients can talk
to it over TCP), on a fresh SQLite file per test.

The store, queue, inbound and DAV tiers run against both backends: their
conftest overrides ``backend`` with ``BACKENDS``, and each of their tests
then runs once on SQLite and once on a fresh PostgreSQL database of its own
(tests/postgres.py starts the cluster once per session).  ``make_settings``,
the ``settings`` and the ``db`` fixtures all follow the backend under test.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import email
import email.policy
import time
import functools
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import argon2
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from multidict import CIMultiDict

from caldav_sched.config import Settings, settings_from_dict
from caldav_sched.dav.app import SERVICES, make_app
from caldav_sched.services import users as user_service
from caldav_sched.store.db import Database
from caldav_sched.store.migrate import migrate
from caldav_sched.store.postgresql import PgDatabase
from tests.postgres import Cluster, needs_postgresql

PASSWORD = "correct horse battery staple"
USERS = {
    "alice": "alice@example.com",
    "bob": "bob@example.com",
    "carol": "carol@example.com",
}


@functools.cache
def _default_hash() -> str:
    return argon2.PasswordHasher().hash(PASSWORD)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Both backends, for the tiers that run against each (their conftest.py).
BACKENDS = ["sqlite", pytest.param("postgresql", marks=needs_postgresql)]

# The [storage] table of the backend under test: empty for SQLite, the URL of
# the test's own PostgreSQL database otherwise (set by ``_backend_storage``).
_BACKEND_STORAGE: dict[str, str] = {}


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One PostgreSQL server for the whole session, started on first use."""
    cluster = Cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def backend() -> str:
    """The store under test: SQLite, unless a tier's conftest asks for both."""
    return "sqlite"


@pytest.fixture(autouse=True)
def _backend_storage(request: pytest.FixtureRequest, backend: str) -> Iterator[None]:
    if backend == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        _BACKEND_STORAGE["url"] = cluster.new_database()
    yield
    _BACKEND_STORAGE.clear()


def make_settings(tmp_path: Path, **tables: dict[str, Any]) -> Settings:
    data: dict[str, dict[str, Any]] = {
        "server": {"host": "127.0.0.1", "port": free_port()},
        "storage": {"path": str(tmp_path / "db.sqlite3"), **_BACKEND_STORAGE},
        "mail": {"transport": "file", "file_dir": str(tmp_path / "mail")},
    }
    for name, values in tables.items():
        data.setdefault(name, {}).update(values)
    return settings_from_dict(data)


class ServerThread:
    """The real application on a real socket, in a background event loop."""

    def __init__(self, settings: Settings, clock: Any = None) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.app = make_app(settings, clock=clock)
        self.runner = web.AppRunner(self.app, access_log=None)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        s = self.settings.server
        return f"http://{s.host}:{s.port}{s.base_path}/"

    def call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=60)

    def start(self) -> None:
        self._thread.start()

        async def up() -> None:
            await self.runner.setup()
            site = web.TCPSite(
                self.runner, self.settings.server.host, self.settings.server.port
            )
            await site.start()

        self.call(up())

    def stop(self) -> None:
        self.call(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def add_user(self, name: str, email: str, password: str | None = PASSWORD) -> None:
        # Hashing is slow by design; the default password is hashed once per run.
        password_hash = _default_hash() if password == PASSWORD else None
        self.call(
            user_service.add_user(
                self.app[SERVICES], name, email, password, password_hash=password_hash
            )
        )

    @property
    def services(self) -> Any:
        return self.app[SERVICES]


class ShiftedClock:
    """Real time, moved to start at a given instant (dated scenarios)."""

    def __init__(self, start: datetime) -> None:
        self.offset = start - datetime.now(timezone.utc)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


@dataclasses.dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a loopback port that records what arrives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[Received] = []
        self.refuse: set[str] = set()  # recipients answered with a 550
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until *count* messages arrived (or fail after *timeout* seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} message(s), got {len(self.received)}")


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(free_port())
    sink.start()
    yield sink
    sink.stop()


def smtp_settings(tmp_path: Path, sink: SmtpSink, **tables: dict[str, Any]) -> Settings:
    """Mail through the sink, and retries quick enough for a test."""
    return make_settings(
        tmp_path,
        mail={"transport": "smtp", "from_address": "calendar@cal.example.com", **tables.pop("mail", {})},
        smtp={"host": "127.0.0.1", "port": sink.port, "timeout": 5.0},
        queue={"backoff_base": 0.2, "backoff_max": 1.0, "poll_interval": 0.05, **tables.pop("queue", {})},
        **tables,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def db(tmp_path: Path, backend: str) -> AsyncIterator[Database]:
    """A migrated database of its own (of the backend under test), without a server."""
    database: Any
    if backend == "postgresql":
        database = PgDatabase(_BACKEND_STORAGE["url"], readers=1)
    else:
        database = Database(str(tmp_path / "db.sqlite3"), readers=1)
    await database.open()
    await migrate(database)
    yield database
    await database.close()


@pytest.fixture
def server(settings: Settings) -> Iterator[ServerThread]:
    running = ServerThread(settings)
    running.start()
    for name, email in USERS.items():
        running.add_user(name, email)
    yield running
    running.stop()


def basic(user: str, password: str = PASSWORD) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {token}"


@dataclasses.dataclass
class Http:
    """A small async HTTP client bound to the server and one user."""

    session: aiohttp.ClientSession
    base: str
    user: str

    def url(self, path: str) -> str:
        return self.base.rstrip("/") + path

    async def request(
        self,
        method: str,
        path: str,
        body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        auth: str | None = "default",
    ) -> tuple[int, CIMultiDict[str], bytes]:
        all_headers = dict(headers or {})
        if auth == "default":
            all_headers["Authorization"] = basic(self.user)
        elif auth is not None:
            all_headers["Authorization"] = auth
        data = body.encode() if isinstance(body, str) else body
        async with self.session.request(
            method, self.url(path), data=data, headers=all_headers, allow_redirects=False
        ) as resp:
            return resp.status, CIMultiDict(resp.headers), await resp.read()


@pytest.fixture
async def http(server: ServerThread) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(session, server.url.rstrip("/"), "alice")

"""Shared fixtures: a real server on a loopback socket, users, HTTP clients.

The server runs the real aiohttp application in a thread of its own (so both
the synchronous ``caldav`` client library and async aiohttp clients can talk
to it over TCP), on a fresh SQLite file per test.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import aiohttp
import argon2
import pytest
from aiohttp import web
from multidict import CIMultiDict

from caldav_sched.config import Settings, settings_from_dict
from caldav_sched.dav.app import SERVICES, make_app
from caldav_sched.services import users as user_service

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


def make_settings(tmp_path: Path, **tables: dict[str, Any]) -> Settings:
    data: dict[str, dict[str, Any]] = {
        "server": {"host": "127.0.0.1", "port": free_port()},
        "storage": {"path": str(tmp_path / "db.sqlite3")},
        "mail": {"transport": "file", "file_dir": str(tmp_path / "mail")},
    }
    for name, values in tables.items():
        data.setdefault(name, {}).update(values)
    return settings_from_dict(data)


class ServerThread:
    """The real application on a real socket, in a background event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.app = make_app(settings)
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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


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

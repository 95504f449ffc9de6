"""OAuth2 (SASL XOAUTH2) with the token from ``password_command``, as for
Microsoft 365 and Google: Dovecot checks each bearer token by RFC 7662
introspection against a small token endpoint run by the test."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import ServerThread, free_port, make_settings
from tests.imap.conftest import FAILED, MailboxView, imap_table
from tests.imap.dovecot import DOVECOT, USER, Dovecot, make_dovecot
from tests.imap.helpers import eventually, healthz, imap_check, newsletter

GOOD = "ya29.a-current-access-token"


class TokenEndpoint:
    """Answers Dovecot's introspection requests: GOOD is active, anything else is not."""

    def __init__(self) -> None:
        self.port = free_port()
        self.asked: list[str] = []
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def introspect(self, request: web.Request) -> web.Response:
        token = (await request.post()).get("token", "")
        self.asked.append(str(token))
        if token == GOOD:
            return web.json_response({"active": True, "username": USER})
        return web.json_response({"active": False})

    def start(self) -> None:
        app = web.Application()
        app.router.add_post("/introspect", self.introspect)
        self.runner = web.AppRunner(app)
        self._thread.start()

        async def up() -> None:
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

        asyncio.run_coroutine_threadsafe(up(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


@pytest.fixture
def oauth_dovecot() -> Iterator[tuple[Dovecot, TokenEndpoint]]:
    if DOVECOT is None:
        pytest.skip("Dovecot is needed (apt-get install dovecot-imapd; .ci/run installs it)")
    endpoint = TokenEndpoint()
    endpoint.start()
    directory = Path(tempfile.mkdtemp(prefix="caldav-sched-dovecot-"))
    server = make_dovecot(
        directory, introspection_url=f"http://127.0.0.1:{endpoint.port}/introspect"
    )
    server.start()
    try:
        yield server, endpoint
    finally:
        server.stop()
        endpoint.stop()
        shutil.rmtree(directory, ignore_errors=True)


def oauth_table(server: Dovecot, tmp_path: Path, token: str) -> dict:
    script = tmp_path / "token"
    script.write_text(f"#!/bin/sh\necho {token}\n")
    script.chmod(0o700)
    return imap_table(server, auth="xoauth2", password="", password_command=str(script))


def test_the_consumer_logs_in_with_a_token_from_the_command(tmp_path, oauth_dovecot):
    dovecot, endpoint = oauth_dovecot
    server = ServerThread(make_settings(tmp_path, imap=oauth_table(dovecot, tmp_path, GOOD)))
    server.start()
    try:
        MailboxView(dovecot).append(newsletter())
        MailboxView(dovecot).wait_for(FAILED, 1)
        assert healthz(server.url)["imap"]["connected"] is True
    finally:
        server.stop()
    assert GOOD in endpoint.asked


def test_a_refused_token_is_a_clear_login_problem(tmp_path, oauth_dovecot):
    dovecot, endpoint = oauth_dovecot
    table = oauth_table(dovecot, tmp_path, "expired-token")
    done = imap_check(tmp_path, table)
    assert done.returncode == 1
    assert "IMAP login problem" in done.stderr and "OAuth2 access token" in done.stderr
    assert "Traceback" not in done.stderr
    server = ServerThread(make_settings(tmp_path, imap=table))
    server.start()
    try:
        problem = eventually(lambda: healthz(server.url)["imap"]["problem"], what="a problem")
        assert "refused the login" in problem
    finally:
        server.stop()

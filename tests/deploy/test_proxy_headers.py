"""Trusting a proxy: the client address, and the proxy's user header."""

from __future__ import annotations

import aiohttp
import pytest

from caldav_sched.config import ServerSettings
from caldav_sched.dav.proxy import ProxyTrust
from tests.conftest import ServerThread, basic, make_settings

PROPFIND = {"Depth": "0"}


@pytest.mark.parametrize(
    "peer, forwarded_for, client",
    [
        ("127.0.0.1", ["198.51.100.4"], "198.51.100.4"),
        # The client wrote the left entry itself; the proxy appended the right one.
        ("127.0.0.1", ["203.0.113.7", "198.51.100.4"], "198.51.100.4"),
        # A chain of trusted proxies is walked through.
        ("127.0.0.1", ["198.51.100.4", "10.0.0.5"], "198.51.100.4"),
        ("127.0.0.1", ["10.0.0.6", "10.0.0.5"], "10.0.0.6"),
        # Garbage stops the walk at the last address vouched for.
        ("127.0.0.1", ["198.51.100.4", "not-an-address"], "127.0.0.1"),
        ("127.0.0.1", ["[2001:db8::1]:4711"], "2001:db8::1"),
        ("127.0.0.1", [], "127.0.0.1"),
        # An untrusted peer is the client, whatever it says.
        ("192.0.2.9", ["198.51.100.4"], "192.0.2.9"),
    ],
)
def test_the_client_is_the_rightmost_address_no_trusted_proxy_vouches_for(peer, forwarded_for, client):
    trust = ProxyTrust(ServerSettings(trusted_proxies=("127.0.0.1", "10.0.0.0/8")))
    assert trust.client_address(peer, forwarded_for) == client


@pytest.fixture
def behind_proxy(tmp_path):
    server = ServerThread(make_settings(
        tmp_path,
        server={"trusted_proxies": ["127.0.0.1"], "proxy_user_header": "X-Remote-User"},
    ))
    server.start()
    server.add_user("alice", "alice@example.com")
    server.add_user("dora", "dora@example.com")
    from caldav_sched.services import users as user_service

    server.call(user_service.set_disabled(server.services, "dora", True))
    yield server
    server.stop()


async def propfind(server, headers, source="127.0.0.1") -> int:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.request(
            "PROPFIND", server.url + "home/alice/", headers={**PROPFIND, **headers}
        ) as resp:
            return resp.status


async def test_a_trusted_proxy_may_name_the_user(behind_proxy):
    assert await propfind(behind_proxy, {"X-Remote-User": "alice"}) == 207


async def test_the_user_header_from_anyone_else_is_ignored(behind_proxy):
    assert await propfind(behind_proxy, {"X-Remote-User": "alice"}, source="127.0.0.2") == 401
    # Basic still works from there.
    assert await propfind(behind_proxy, {"Authorization": basic("alice")}, source="127.0.0.2") == 207


@pytest.mark.parametrize("user", ["ghost", "dora"])
async def test_an_unknown_or_disabled_user_named_by_the_proxy_is_refused(behind_proxy, user):
    assert await propfind(behind_proxy, {"X-Remote-User": user}) == 403


async def test_without_the_header_the_proxy_falls_back_to_basic(behind_proxy):
    assert await propfind(behind_proxy, {}) == 401
    assert await propfind(behind_proxy, {"Authorization": basic("alice")}) == 207


async def test_the_user_header_means_nothing_unless_configured(tmp_path):
    server = ServerThread(make_settings(tmp_path, server={"trusted_proxies": ["127.0.0.1"]}))
    server.start()
    server.add_user("alice", "alice@example.com")
    try:
        assert await propfind(server, {"X-Remote-User": "alice"}) == 401
    finally:
        server.stop()

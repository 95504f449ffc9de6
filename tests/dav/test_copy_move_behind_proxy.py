"""MOVE's Destination under a base path and behind a trusted proxy (RFC 4918 10.3, 9.9.4).

The Destination names this server when its scheme and host are the ones
the client reached (a trusted proxy's X-Forwarded-Proto / -Host, else the
request's own) and its path lies under ``server.base_path``; anything else
is another server's resource (502).
"""

from __future__ import annotations

import aiohttp
import pytest

from tests.conftest import ServerThread, basic, make_settings
from tests.dav.helpers import ICS, event

CAL = "/dav/home/alice/calendar/event/"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "cal.example.com"}


@pytest.fixture
def proxied(tmp_path):
    server = ServerThread(make_settings(
        tmp_path, server={"base_path": "/dav", "trusted_proxies": ["127.0.0.1"]},
    ))
    server.start()
    server.add_user("alice", "alice@example.com")
    yield server
    server.stop()


async def send(server, method, path, body=None, source="127.0.0.1", **headers):
    root = f"http://127.0.0.1:{server.settings.server.port}"
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.request(
            method, root + path, data=body,
            headers={"Authorization": basic("alice"), **headers},
        ) as resp:
            return resp.status


async def test_destinations_under_the_base_path(proxied):
    assert await send(proxied, "PUT", CAL + "a.ics", event(), **ICS) == 201
    # Outside the prefix: not a resource of this server.
    assert await send(proxied, "MOVE", CAL + "a.ics", Destination="/home/alice/calendar/event/b.ics") == 502
    assert await send(proxied, "MOVE", CAL + "a.ics", Destination=CAL + "b.ics") == 201
    assert await send(proxied, "GET", CAL + "b.ics") == 200


async def test_a_trusted_proxys_scheme_and_host_name_this_server(proxied):
    assert await send(proxied, "PUT", CAL + "a.ics", event(), **ICS) == 201
    public = "https://cal.example.com" + CAL + "b.ics"
    # The proxy's own view of the URL is not the public one.
    assert await send(proxied, "MOVE", CAL + "a.ics", Destination=public) == 502
    assert await send(proxied, "MOVE", CAL + "a.ics", Destination=public, **FORWARDED) == 201
    assert await send(proxied, "GET", CAL + "b.ics") == 200


async def test_forwarded_headers_from_anyone_else_are_ignored(proxied):
    assert await send(proxied, "PUT", CAL + "a.ics", event(), **ICS) == 201
    public = "https://cal.example.com" + CAL + "b.ics"
    status = await send(
        proxied, "MOVE", CAL + "a.ics", source="127.0.0.2", Destination=public, **FORWARDED
    )
    assert status == 502
    assert await send(proxied, "GET", CAL + "a.ics") == 200

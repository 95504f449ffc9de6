"""The documented nginx configuration in front of the server, under /caldav/.

A calendar client works through the proxy with every href under the prefix;
X-Forwarded-For/-Proto/-Host are believed from nginx (a trusted proxy) and
from nobody else; /metrics is closed to clients that come through the proxy.
"""

from __future__ import annotations

import logging
import re
import ssl

import aiohttp
import caldav
import pytest

from tests.conftest import PASSWORD, ServerThread, basic, free_port, make_settings
from tests.deploy.nginx import needs_nginx, start_nginx
from tests.dav.test_client_library import (
    test_an_app_discovers_stores_searches_and_syncs as client_flow,
)

pytestmark = needs_nginx

# A second loopback address, not a trusted proxy: the "internet" client.
OUTSIDE = "127.0.0.2"


@pytest.fixture
def proxied(tmp_path):
    settings = make_settings(
        tmp_path, server={"base_path": "/caldav", "trusted_proxies": ["127.0.0.1"]}
    )
    server = ServerThread(settings)
    server.start()
    server.add_user("alice", "alice@example.com")
    nginx = start_nginx(tmp_path / "nginx", settings.server.port, free_port())
    yield server, nginx
    nginx.stop()
    server.stop()


def access_records(caplog, path: str) -> list[dict]:
    """The access log's fields as a JSON log line would show them (values as text)."""
    return [
        {k: v if v is None or isinstance(v, (int, float)) else str(v) for k, v in r.fields.items()}
        for r in caplog.records
        if r.name == "caldav_sched.access" and r.fields["path"] == path
    ]


def test_a_calendar_client_works_through_nginx_under_the_prefix(proxied):
    server, nginx = proxied
    with caldav.DAVClient(
        url=nginx.url + "/caldav/", username="alice", password=PASSWORD,
        ssl_verify_cert=str(nginx.cert),
    ) as client:
        client_flow(client, server)
        principal = client.principal()
        assert principal.url.path == "/caldav/home/alice/"
        assert all(c.url.path.startswith("/caldav/home/alice/calendar/") for c in principal.calendars())


async def test_hrefs_carry_the_prefix_and_well_known_points_inside(proxied):
    server, nginx = proxied
    context = ssl.create_default_context(cafile=str(nginx.cert))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
        async with session.request(
            "PROPFIND", nginx.url + "/caldav/home/alice/calendar/",
            headers={"Authorization": basic("alice"), "Depth": "1"},
        ) as resp:
            assert resp.status == 207
            body = await resp.text()
        hrefs = re.findall(r"<(?:\w+:)?href>([^<]*)</", body)
        assert hrefs and all(h.startswith("/caldav/") for h in hrefs), hrefs
        async with session.get(nginx.url + "/.well-known/caldav", allow_redirects=False) as resp:
            assert resp.status == 301 and resp.headers["Location"] == "/caldav/"


async def test_forwarded_headers_are_believed_only_from_the_trusted_proxy(proxied, caplog):
    server, nginx = proxied
    caplog.set_level(logging.INFO, logger="caldav_sched.access")
    context = ssl.create_default_context(cafile=str(nginx.cert))
    spoof = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "gopher",
             "X-Forwarded-Host": "evil.example", "Authorization": basic("alice")}

    # Through nginx from an outside address, with made-up headers: nginx
    # appends the real address, and the server takes it.
    outside = aiohttp.TCPConnector(ssl=context, local_addr=(OUTSIDE, 0))
    async with aiohttp.ClientSession(connector=outside) as session:
        async with session.get(
            nginx.url + "/caldav/home/alice/calendar/event/via-proxy.ics",
            headers={**spoof, "Host": "cal.example.com"},
        ) as resp:
            assert resp.status == 404
        # Monitoring is for local clients; through the proxy it is closed.
        async with session.get(nginx.url + "/caldav/metrics") as resp:
            assert resp.status == 403
        async with session.get(nginx.url + "/caldav/healthz") as resp:
            assert resp.status == 403

    # Straight to the server from the same outside address: the headers are
    # ignored, since that peer is no trusted proxy.
    direct = aiohttp.TCPConnector(local_addr=(OUTSIDE, 0))
    port = server.settings.server.port
    async with aiohttp.ClientSession(connector=direct) as session:
        async with session.get(
            f"http://127.0.0.1:{port}/caldav/home/alice/calendar/event/direct.ics", headers=spoof
        ) as resp:
            assert resp.status == 404
        async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 403

    [via_proxy] = access_records(caplog, "/caldav/home/alice/calendar/event/via-proxy.ics")
    assert via_proxy["client"] == OUTSIDE
    assert via_proxy["url"].startswith("https://cal.example.com/caldav/"), via_proxy["url"]
    assert via_proxy["user"] == "alice"
    [direct_record] = access_records(caplog, "/caldav/home/alice/calendar/event/direct.ics")
    assert direct_record["client"] == OUTSIDE
    assert direct_record["url"].startswith(f"http://127.0.0.1:{port}/"), direct_record["url"]

    # The requests were counted; the local scraper may read the numbers.
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 200
            text = await resp.text()
    assert re.search(r'caldav_sched_http_requests_total\{method="GET",status="404"\} [2-9]', text)
    assert 'caldav_sched_http_requests_total{method="GET",status="403"} 3' in text

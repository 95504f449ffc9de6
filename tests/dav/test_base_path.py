"""The whole tree under server.base_path, hrefs in every response included."""

from __future__ import annotations

from datetime import datetime, timezone

import aiohttp
import caldav
import pytest

from tests.conftest import PASSWORD, ServerThread, basic, make_settings


@pytest.fixture
def prefixed(tmp_path):
    running = ServerThread(make_settings(tmp_path, server={"base_path": "/dav/"}))
    running.start()
    running.add_user("alice", "alice@example.com")
    yield running
    running.stop()


def test_a_client_works_under_the_prefix(prefixed):
    assert prefixed.url.endswith("/dav/")
    with caldav.DAVClient(url=prefixed.url, username="alice", password=PASSWORD) as client:
        principal = client.principal()
        assert principal.url.path == "/dav/home/alice/"
        [calendar] = principal.calendars()
        assert calendar.url.path == "/dav/home/alice/calendar/event/"
        start = datetime(2026, 4, 1, 9, tzinfo=timezone.utc)
        saved = calendar.save_event(dtstart=start, dtend=start.replace(hour=10), summary="Prefixed")
        assert saved.url.path.startswith("/dav/home/alice/calendar/event/")
        found = calendar.search(start=start.replace(hour=0), end=start.replace(hour=23), event=True)
        assert [str(o.icalendar_component["SUMMARY"]) for o in found] == ["Prefixed"]


async def test_outside_the_prefix_is_not_found_and_well_known_points_inside(prefixed):
    root = f"http://127.0.0.1:{prefixed.settings.server.port}"
    async with aiohttp.ClientSession(headers={"Authorization": basic("alice")}) as session:
        async with session.request("PROPFIND", root + "/home/alice/", headers={"Depth": "0"}) as resp:
            assert resp.status == 404
        async with session.get(root + "/.well-known/caldav", allow_redirects=False) as resp:
            assert resp.status == 301 and resp.headers["Location"] == "/dav/"

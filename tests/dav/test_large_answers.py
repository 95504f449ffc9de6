"""A big calendar's answers are written in chunks as they are rendered, and are complete."""

from __future__ import annotations

import asyncio

from lxml import etree

from caldav_sched.dav.handlers.properties import STREAM_AFTER
from tests.dav.helpers import CAL, ICS, event

PROPFIND_ETAGS = (
    '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontenttype/></D:prop></D:propfind>'
)
SYNC_ETAGS = (
    '<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level>'
    "<D:prop><D:getetag/></D:prop></D:sync-collection>"
)


async def fill(http, count: int) -> dict[str, str]:
    """PUT ``count`` events, 16 at a time; their ETags by href."""
    etags: dict[str, str] = {}
    gate = asyncio.Semaphore(16)

    async def put(i: int) -> None:
        async with gate:
            status, headers, _ = await http.request(
                "PUT", f"{CAL}e{i:04d}.ics", event(uid=f"uid-{i}", summary=f"Meeting {i}"),
                headers={**ICS, "If-None-Match": "*"},
            )
            assert status == 201
            etags[f"{CAL}e{i:04d}.ics"] = headers["ETag"]

    await asyncio.gather(*(put(i) for i in range(count)))
    return etags


def etags_in(body: bytes) -> dict[str, str]:
    """The objects' ETags by href (the collection's own response left out)."""
    root = etree.fromstring(body)
    return {
        r.findtext("{DAV:}href"): r.findtext(".//{DAV:}getetag")
        for r in root.iter("{DAV:}response")
        if not r.findtext("{DAV:}href").endswith("/")
    }


async def test_propfind_and_sync_of_a_big_calendar_are_streamed_and_complete(http):
    etags = await fill(http, STREAM_AFTER + 20)

    status, headers, body = await http.request(
        "PROPFIND", CAL, PROPFIND_ETAGS, headers={"Depth": "1", "Content-Type": "application/xml"}
    )
    assert status == 207
    assert headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in headers
    assert headers["Content-Type"].startswith("application/xml")
    assert etags_in(body) == etags
    assert b"text/calendar; charset=utf-8; component=vevent" in body

    status, headers, body = await http.request(
        "REPORT", CAL, SYNC_ETAGS, headers={"Content-Type": "application/xml"}
    )
    assert status == 207 and headers.get("Transfer-Encoding") == "chunked"
    assert etags_in(body) == etags
    assert etree.fromstring(body).findtext("{DAV:}sync-token")


async def test_a_small_calendar_answer_keeps_its_content_length(http):
    etags = await fill(http, 3)
    status, headers, body = await http.request(
        "PROPFIND", CAL, PROPFIND_ETAGS, headers={"Depth": "1", "Content-Type": "application/xml"}
    )
    assert status == 207 and int(headers["Content-Length"]) == len(body)
    assert etags_in(body) == etags

"""The error middleware is the last line: whatever escapes a handler is one
logged error with a request id and a plain 500, never aiohttp's own page;
an error in the middle of a streamed answer cuts the connection.

The server's own data is damaged by hand here (a ``modified_at`` that is no
time stamp, as a hand edit of the database might leave), which is the one
way left to make a real handler fail unexpectedly.
"""

from __future__ import annotations

import logging

import aiohttp
import pytest

from caldav_sched.dav.handlers.properties import STREAM_AFTER
from tests.dav.helpers import CAL, ICS, event
from tests.dav.test_large_answers import PROPFIND_ETAGS, fill

PROPFIND_MODIFIED = (
    '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getlastmodified/></D:prop></D:propfind>'
)


def damage(server, name: str) -> None:
    async def run() -> None:
        async with server.services.db.transaction() as conn:
            await conn.execute("UPDATE objects SET modified_at = 'not a time' WHERE name = ?", (name,))

    server.call(run())


@pytest.fixture
def errors(caplog):
    caplog.set_level(logging.WARNING)
    return lambda: [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_an_unexpected_error_is_a_plain_500_naming_a_logged_request_id(server, http, errors):
    status, _, _ = await http.request("PUT", CAL + "a.ics", event(), headers=ICS)
    assert status == 201
    damage(server, "a.ics")

    status, headers, body = await http.request(
        "PROPFIND", CAL + "a.ics", PROPFIND_MODIFIED, headers={"Depth": "0"}
    )

    assert status == 500
    rid = headers["X-Request-ID"]
    assert body == f"internal server error (request id {rid})\n".encode()
    assert b"Server got itself in trouble" not in body
    (record,) = errors()
    assert record.name == "caldav_sched.dav" and rid in record.getMessage()
    # The server goes on answering.
    status, _, _ = await http.request("PROPFIND", CAL, PROPFIND_ETAGS, headers={"Depth": "1"})
    assert status == 207


async def test_an_error_in_the_middle_of_a_streamed_multistatus_cuts_the_answer(
    server, http, errors
):
    await fill(http, STREAM_AFTER + 100)
    damage(server, f"e{STREAM_AFTER:04d}.ics")  # well after the first chunk went out

    with pytest.raises(aiohttp.ClientPayloadError):
        await http.request("PROPFIND", CAL, PROPFIND_MODIFIED, headers={"Depth": "1"})

    (record,) = errors()
    assert record.name == "caldav_sched.dav" and "request id" in record.getMessage()
    assert not any(r.name.startswith("aiohttp") for r in errors())
    status, _, _ = await http.request("PROPFIND", CAL, PROPFIND_ETAGS, headers={"Depth": "1"})
    assert status == 207

"""Every write of an object keeps its time index, not only the client's PUT.

Scheduling rewrites objects behind the client's back: SCHEDULE-STATUS after
an invitation is mailed, PARTSTAT when a reply arrives, the attendee's own
copy delivered on this server.  Each of those writes stores the object's
span and instances again, so a calendar-query still decides the event from
the index instead of parsing it.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timezone

import aiohttp
import pytest

from tests.conftest import ServerThread, ShiftedClock, basic, free_port, smtp_settings
from tests.mail.helpers import by_recipient
from tests.replies.helpers import deliver_lmtp, reply_mail

START = datetime(2018, 7, 10, 13, 0, tzinfo=timezone.utc)
EVENT = "/home/A/calendar/event/identifier.ics"
WEEKLY = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n"
    "UID:identifier\r\nDTSTAMP:20180710T130000Z\r\nDTSTART:20180710T180000Z\r\n"
    "DTEND:20180710T200000Z\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\nSUMMARY:Main Event\r\n"
    "ORGANIZER:mailto:a@example.com\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@example.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:b@example.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:d@example.com\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
FOUR_TUESDAYS = [
    (int(datetime(2018, 7, day, 18, tzinfo=timezone.utc).timestamp()),
     int(datetime(2018, 7, day, 20, tzinfo=timezone.utc).timestamp()))
    for day in (10, 17, 24, 31)
]


@pytest.fixture
def site(tmp_path, smtp_sink):
    lmtp = free_port()
    server = ServerThread(
        smtp_settings(tmp_path, smtp_sink, inbound={"lmtp_host": "127.0.0.1", "lmtp_port": lmtp}),
        clock=ShiftedClock(START),
    )
    server.start()
    server.add_user("A", "a@example.com")
    server.add_user("D", "d@example.com")
    yield server, smtp_sink, lmtp
    server.stop()


def stored(server: ServerThread, owner: str) -> tuple[bytes, list[tuple[int, int]] | None]:
    """(data, instances in the time table) of *owner*'s copy of the event, as the store holds it."""
    with sqlite3.connect(server.settings.storage.path) as db:
        object_id, data = db.execute(
            "SELECT o.id, o.data FROM objects o JOIN collections c ON c.id = o.collection_id"
            " JOIN users u ON u.id = c.owner_id"
            " WHERE u.name = ? AND o.uid = 'identifier' AND c.kind = 'calendar'",
            (owner,),
        ).fetchone()
        rows = db.execute(
            "SELECT starts_at, ends_at FROM object_instances WHERE object_id = ? ORDER BY starts_at",
            (object_id,),
        ).fetchall()
    return data, [tuple(row) for row in rows] or None


def attendee_line(data: bytes, address: str) -> str:
    unfolded = data.decode().replace("\r\n ", "")
    return next(line for line in unfolded.split("\r\n")
                if line.startswith("ATTENDEE") and line.endswith(address))


def wait_until(server: ServerThread, owner: str, address: str, param: str) -> None:
    """Until *owner*'s copy shows *param* on the ATTENDEE line of *address*."""
    deadline = time.monotonic() + 10
    while param not in (line := attendee_line(stored(server, owner)[0], address)):
        assert time.monotonic() < deadline, line
        time.sleep(0.05)


async def test_mail_status_replies_and_local_copies_keep_the_index(site):
    server, sink, lmtp = site
    async with aiohttp.ClientSession() as session:
        async with session.put(server.url.rstrip("/") + EVENT, data=WEEKLY.encode(), headers={
            "Authorization": basic("A"), "Content-Type": "text/calendar",
        }) as resp:
            assert resp.status == 201
    assert stored(server, "A")[1] == FOUR_TUESDAYS

    # The invitation to B is mailed: SCHEDULE-STATUS 1.1 is written into A's copy.
    [mail] = sink.wait_for(1)
    wait_until(server, "A", "mailto:b@example.com", "SCHEDULE-STATUS=1.1")
    assert stored(server, "A")[1] == FOUR_TUESDAYS

    # D, a user here, got her copy by local delivery.
    assert stored(server, "D")[1] == FOUR_TUESDAYS

    # B accepts by mail: PARTSTAT is written into A's copy.
    token = by_recipient([mail])["b@example.com"].organizer
    assert deliver_lmtp(lmtp, token, reply_mail(to=token, attendee="b@example.com",
                                                partstat="ACCEPTED")) == {}
    wait_until(server, "A", "mailto:b@example.com", "PARTSTAT=ACCEPTED")
    assert stored(server, "A")[1] == FOUR_TUESDAYS

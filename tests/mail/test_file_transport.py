"""The file transport says what it did: written to a file, sent to nobody.

RFC 6638 3.2.9 has no code for "kept in a file"; 1.1 would claim the
message was handed to a mail system.  5.2 ("not able to find a way to
deliver the message") is what is true, and an answer from the attendee,
however the invitation reached them, proves delivery (1.2).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import aiohttp
import pytest

from caldav_sched.services import inbound as inbound_service
from tests.conftest import ServerThread, basic, make_settings
from tests.replies.helpers import reply_mail

EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n"
    "UID:identifier\r\nDTSTAMP:20261201T000000Z\r\n"
    "DTSTART:20350610T180000Z\r\nDTEND:20350610T200000Z\r\nSUMMARY:Main Event\r\n"
    "ORGANIZER:mailto:alice@example.com\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.com\r\n"
    "ATTENDEE;RSVP=TRUE:mailto:bob@example.org\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
PATH = "home/alice/calendar/event/main.ics"


@pytest.fixture
def organizer(tmp_path):
    server = ServerThread(make_settings(tmp_path))  # transport "file", as embedded
    server.start()
    server.add_user("alice", "alice@example.com")
    yield server
    server.stop()


def stored(server: ServerThread) -> str:
    async def get() -> str:
        async with aiohttp.ClientSession(headers={"Authorization": basic("alice")}) as session:
            async with session.get(server.url + PATH) as resp:
                assert resp.status == 200
                return (await resp.text()).replace("\r\n ", "")

    return server.call(get())


def bob_line(server: ServerThread, wanted: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        [line] = [l for l in stored(server).splitlines() if "mailto:bob@example.org" in l]
        if wanted in line:
            return line
        assert time.monotonic() < deadline, line
        time.sleep(0.05)


def test_an_invitation_written_to_a_file_is_marked_5_2_until_the_attendee_answers(organizer):
    async def put() -> int:
        async with aiohttp.ClientSession(headers={"Authorization": basic("alice")}) as session:
            async with session.put(organizer.url + PATH, data=EVENT.encode()) as resp:
                return resp.status

    assert organizer.call(put()) == 201
    line = bob_line(organizer, "SCHEDULE-STATUS=5.2")
    assert "PARTSTAT=NEEDS-ACTION" in line

    folder = organizer.settings.mail.file_dir
    [invitation] = list(Path(folder).glob("*.eml"))
    token_address = re.search(rb"calendar\+[a-z0-9]+@localhost", invitation.read_bytes())
    assert token_address is not None

    raw = reply_mail(to=token_address.group().decode(), attendee="bob@example.org",
                     partstat="ACCEPTED", dtstamp="20261201T010000Z")
    _, verdict = organizer.call(inbound_service.ingest(organizer.services, raw, worker="test"))
    assert verdict.state == "applied", verdict.reason

    line = bob_line(organizer, "PARTSTAT=ACCEPTED")
    assert "SCHEDULE-STATUS=1.2" in line, "an answer proves the invitation arrived"

"""Invitations by mail: what the attendees of the seed scenario receive.

A real SMTP server (aiosmtpd) on a loopback port records every message;
each one is parsed back and checked for recipient, METHOD, SEQUENCE,
PARTSTAT and the per-attendee token address.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import aiohttp
import pytest

from tests.conftest import ServerThread, ShiftedClock, basic, smtp_settings
from tests.dav.helpers import WALKTHROUGH_PUT
from tests.mail.helpers import by_recipient

EVENT = "/home/A/calendar/event/uniqueEventIdentifier.ics"
# The walkthrough's Date header: the scenario happens on 10 July 2018.
SCENARIO_START = datetime(2018, 7, 10, 13, 0, tzinfo=timezone.utc)


@pytest.fixture
def scenario(tmp_path, smtp_sink):
    running = ServerThread(smtp_settings(tmp_path, smtp_sink), clock=ShiftedClock(SCENARIO_START))
    running.start()
    running.add_user("A", "a@example.com")
    yield running, smtp_sink
    running.stop()


async def request(server, method, path, body=None, headers=None):
    async with aiohttp.ClientSession() as session:
        async with session.request(
            method,
            server.url.rstrip("/") + path,
            data=body.encode() if isinstance(body, str) else body,
            headers={"Authorization": basic("A"), **(headers or {})},
        ) as resp:
            return resp.status, resp.headers.copy(), await resp.read()


async def wait_for_status(server, path, *statuses: str, timeout: float = 10.0) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        _, _, body = await request(server, "GET", path)
        if all(s in body.decode().replace("\r\n ", "") for s in statuses):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"{statuses} never appeared in:\n{body.decode()}")
        time.sleep(0.05)


async def test_scenario_steps_1_to_3_and_11(scenario):
    server, sink = scenario

    # 1-2: A creates the event with the walkthrough's own body.
    status, headers, _ = await request(
        server, "PUT", EVENT, WALKTHROUGH_PUT,
        {"If-None-Match": "*", "Content-Type": "text/calendar"},
    )
    assert status == 201
    created_etag = headers["ETag"]

    # 3: B and C each get one REQUEST; A, the organizer, gets nothing.
    mails = by_recipient(sink.wait_for(2))
    assert set(mails) == {"b@example.com", "c@example.com"}
    tokens = set()
    for address, mail in mails.items():
        assert mail.method == "REQUEST" and mail.content_type_method.upper() == "REQUEST"
        assert mail.sequence == 0
        assert mail.partstat[address] == "NEEDS-ACTION"
        local, _, domain = mail.organizer.partition("@")
        assert domain == "cal.example.com" and local.startswith("calendar+")
        assert mail.organizer in mail.reply_to.lower()
        assert "calendar@cal.example.com" in mail.from_header
        assert "a@example.com" not in mail.from_header
        assert "Main Event" in mail.subject
        tokens.add(local)
    assert len(tokens) == 2, "each attendee has a token of their own"

    # The organizer's copy keeps the real ORGANIZER and records the delivery
    # (SCHEDULE-STATUS 1.1), which gives it a new ETag.
    body = await wait_for_status(
        server, EVENT, "SCHEDULE-STATUS=1.1:mailto:b@", "SCHEDULE-STATUS=1.1:mailto:c@"
    )
    text = body.decode().replace("\r\n ", "")
    assert "ORGANIZER:mailto:a@example.com" in text or "ORGANIZER;" in text
    _, headers, _ = await request(server, "GET", EVENT)
    current_etag = headers["ETag"]
    assert current_etag != created_etag
    status, _, _ = await request(
        server, "PUT", EVENT, WALKTHROUGH_PUT, {"If-Match": created_etag, "Content-Type": "text/calendar"}
    )
    assert status == 412

    # 11: A moves the event: 204, SEQUENCE raised, B and C invited again.
    moved = body.decode().replace("20180710T180000Z", "20180711T180000Z").replace(
        "20180710T200000Z", "20180711T200000Z"
    )
    status, headers, _ = await request(
        server, "PUT", EVENT, moved, {"If-Match": current_etag, "Content-Type": "text/calendar"}
    )
    assert status == 204
    assert headers["ETag"] != current_etag
    second = by_recipient(sink.wait_for(4)[2:])
    assert set(second) == {"b@example.com", "c@example.com"}
    for address, mail in second.items():
        assert mail.method == "REQUEST"
        assert mail.sequence == 1
        assert mail.partstat[address] == "NEEDS-ACTION"
        event = next(iter(mail.calendar.walk("VEVENT")))
        assert event["DTSTART"].dt == datetime(2018, 7, 11, 18, tzinfo=timezone.utc)
    _, _, stored = await request(server, "GET", EVENT)
    assert "SEQUENCE:1" in stored.decode()
    time.sleep(0.3)
    assert len(sink.received) == 4, "nothing else was sent"


async def test_removing_an_attendee_and_deleting_the_event_send_cancels(scenario):
    server, sink = scenario
    await request(server, "PUT", EVENT, WALKTHROUGH_PUT, {"Content-Type": "text/calendar"})
    sink.wait_for(2)
    body = (await wait_for_status(
        server, EVENT, "SCHEDULE-STATUS=1.1:mailto:b@", "SCHEDULE-STATUS=1.1:mailto:c@"
    ))
    lines = body.decode().replace("\r\n ", "").split("\r\n")
    without_c = "\r\n".join(l for l in lines if "c@example.com" not in l)
    _, headers, _ = await request(server, "GET", EVENT)
    status, _, _ = await request(
        server, "PUT", EVENT, without_c, {"If-Match": headers["ETag"], "Content-Type": "text/calendar"}
    )
    assert status == 204
    [cancel] = [m for m in by_recipient(sink.wait_for(3)[2:]).values()]
    assert cancel.to == "c@example.com" and cancel.method == "CANCEL"

    status, _, _ = await request(server, "DELETE", EVENT)
    assert status == 204
    [last] = by_recipient(sink.wait_for(4)[3:]).values()
    assert last.to == "b@example.com" and last.method == "CANCEL"
    assert last.sequence >= 1
    time.sleep(0.3)
    assert len(sink.received) == 4


async def test_an_event_wholly_in_the_past_sends_no_mail(scenario):
    server, sink = scenario
    past = WALKTHROUGH_PUT.replace("20180710", "20170710")
    status, _, _ = await request(server, "PUT", EVENT, past, {"Content-Type": "text/calendar"})
    assert status == 201
    time.sleep(0.5)
    assert sink.received == []


async def test_attendees_without_organizer_or_owner_are_plain_data(scenario):
    """An imported event (no ORGANIZER, owner not invited) is stored, not scheduled."""
    server, sink = scenario
    imported = WALKTHROUGH_PUT.replace(
        'ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ATTENDING;CN="A.user":mailto:a@example.com\n', ""
    )
    status, headers, _ = await request(server, "PUT", EVENT, imported, {"Content-Type": "text/calendar"})
    assert status == 201
    time.sleep(0.5)
    assert sink.received == []
    _, again, body = await request(server, "GET", EVENT)
    assert again["ETag"] == headers["ETag"]
    assert "ORGANIZER" not in body.decode()

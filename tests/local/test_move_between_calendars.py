"""An Apple-style MOVE of a scheduled event to another calendar (RFC 4918 9.9, RFC 6638 3.2).

macOS and iOS Calendar move an event to another calendar with MOVE, an
absolute Destination URL and ``Overwrite: F``.  It is the same event in
another calendar: nobody is mailed, nothing is queued, the answers already
received stay, and scheduling carries on from the new place.
"""

from __future__ import annotations

import time

import pytest

from caldav_sched.services import queue_admin
from tests.conftest import ServerThread, ShiftedClock, smtp_settings
from tests.local.test_scheduling_details import START, Client, event, partstat
from tests.mail.helpers import read

HOME_CAL = "/home/A/calendar/event/meeting.ics"
WORK_CAL = "/home/A/calendar/work/"


@pytest.fixture
def office(tmp_path, smtp_sink):
    server = ServerThread(smtp_settings(tmp_path, smtp_sink), clock=ShiftedClock(START))
    server.start()
    for name in "AB":
        server.add_user(name, f"{name.lower()}@example.com")
    yield server, smtp_sink
    server.stop()


def jobs(server: ServerThread) -> int:
    return len(server.call(queue_admin.list_jobs(server.services)))


async def test_moving_a_scheduled_event_keeps_answers_and_sends_nothing(office):
    server, sink = office
    a, b = Client(server, "A"), Client(server, "B")
    # A invites B (a colleague on this server) and Dan (outside, by mail).
    assert (await a("PUT", HOME_CAL, event("b@example.com", "dan@elsewhere.example")))[0] == 201
    [invitation] = sink.wait_for(1)
    assert invitation.recipients == ["dan@elsewhere.example"]
    # B accepts in his own calendar; A's copy records it.
    href, b_headers, copy = await b.copy_of("meeting")
    accepted = copy.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED")
    assert (await b("PUT", href, accepted, If_Schedule_Tag_Match=b_headers["Schedule-Tag"]))[0] == 204
    status, before, body = await a("GET", HOME_CAL)
    assert partstat(body, "b@example.com") == "ACCEPTED"
    queued = jobs(server)
    _, b_before, _ = await b.copy_of("meeting")

    assert (await a("MKCALENDAR", WORK_CAL))[0] == 201
    status, _, _ = await a(
        "MOVE", HOME_CAL,
        Destination=server.url.rstrip("/") + WORK_CAL + "meeting.ics",
        Overwrite="F",
        If_Match=before["ETag"],
    )
    assert status == 201

    assert (await a("GET", HOME_CAL))[0] == 404
    status, after, moved = await a("GET", WORK_CAL + "meeting.ics")
    assert status == 200
    assert moved == body, "the event is the same, answers and SEQUENCE included"
    assert after["ETag"] == before["ETag"] and after["Schedule-Tag"] == before["Schedule-Tag"]
    assert partstat(moved, "b@example.com") == "ACCEPTED"
    # Nothing queued, nothing mailed, B's copy untouched.
    assert jobs(server) == queued
    time.sleep(0.5)
    assert len(sink.received) == 1, "a MOVE mails nobody"
    _, b_after, b_copy = await b.copy_of("meeting")
    assert b_after["ETag"] == b_before["ETag"]
    assert "STATUS:CANCELLED" not in b_copy

    # Scheduling carries on from the new place: a new time goes to Dan and B.
    rescheduled = event("b@example.com", "dan@elsewhere.example",
                        start="20180711T180000Z", end="20180711T200000Z")
    assert (await a("PUT", WORK_CAL + "meeting.ics", rescheduled,
                    If_Schedule_Tag_Match=after["Schedule-Tag"]))[0] == 204
    update = sink.wait_for(2)[1]
    assert update.recipients == ["dan@elsewhere.example"]
    assert read(update).method == "REQUEST" and read(update).sequence == 1
    _, _, b_copy = await b.copy_of("meeting")
    assert "20180711T180000Z" in b_copy


def schedule_status(body: str, address: str) -> str | None:
    line = next(l for l in body.split("\r\n") if l.startswith("ATTENDEE") and address in l)
    return line.split("SCHEDULE-STATUS=")[1].split(";")[0].split(":")[0] if "SCHEDULE-STATUS=" in line else None


async def test_delivery_status_reaches_an_event_moved_while_its_mail_waited(office):
    """SCHEDULE-STATUS (RFC 6638 3.2.9) lands on the organizer's copy wherever it went."""
    server, sink = office
    a = Client(server, "A")
    sink.stop()  # the mail system is down: the invitation waits in the queue
    assert (await a("PUT", HOME_CAL, event("dan@elsewhere.example")))[0] == 201
    assert (await a("MKCALENDAR", WORK_CAL))[0] == 201
    assert (await a("MOVE", HOME_CAL, Destination=WORK_CAL + "meeting.ics"))[0] == 201
    sink.start()
    [invitation] = sink.wait_for(1, timeout=20)
    assert invitation.recipients == ["dan@elsewhere.example"]
    deadline = time.monotonic() + 10
    while True:
        _, _, body = await a("GET", WORK_CAL + "meeting.ics")
        if schedule_status(body, "dan@elsewhere.example") == "1.1":
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.05)

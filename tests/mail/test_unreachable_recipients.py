"""An attendee whose address can never be mailed: the job fails at once with 3.7.

Not after ``[queue] max_attempts``, and without a traceback in the log: an
address that the SMTP envelope cannot carry is bad data in the event, a
known failure.  The other attendees are mailed as usual.
"""

from __future__ import annotations

import logging

import pytest

from caldav_sched.mail.outbound import envelope_address
from caldav_sched.services.mailer import UnreachableRecipient
from caldav_sched.store import jobs as job_store
from tests.conftest import ServerThread, smtp_settings
from tests.mail.test_invitations import request, wait_for_status

EVENT = "/home/A/calendar/event/budget.ics"
BODY = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n"
    "UID:budget\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20300105T100000Z\r\n"
    "DTEND:20300105T110000Z\r\nSUMMARY:Budget\r\nORGANIZER:mailto:a@example.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:dan@elsewhere.example\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob(home)@elsewhere.example\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def organizer(tmp_path, smtp_sink):
    running = ServerThread(smtp_settings(tmp_path, smtp_sink, queue={"max_attempts": 5}))
    running.start()
    running.add_user("A", "a@example.com")
    yield running, smtp_sink
    running.stop()


async def test_an_address_the_envelope_cannot_carry_fails_at_once_with_3_7(organizer, caplog):
    caplog.set_level(logging.INFO)
    server, sink = organizer

    status, _, _ = await request(server, "PUT", EVENT, BODY, {"Content-Type": "text/calendar"})
    assert status == 201

    await wait_for_status(
        server, EVENT,
        "SCHEDULE-STATUS=3.7:mailto:bob(home)@elsewhere.example",
        "SCHEDULE-STATUS=1.1:mailto:dan@elsewhere.example",
    )
    assert [r.recipients for r in sink.received] == [["dan@elsewhere.example"]]
    jobs = server.call(job_store.list_jobs(server.services.db.reader()))
    (failed,) = [j for j in jobs if j.state == "failed"]
    assert failed.attempts == 1 and "not a mailable address" in failed.last_error
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("address", [
    "bob\r\nRCPT TO:<x@y>@example.com", "bob\x00@example.com", "bob @example.com",
    "<bob>@example.com", "bob@exa\nmple.com", "bob", "@example.com", "bob@", "jürgen@example.com",
])
def test_the_smtp_boundary_refuses_what_would_break_a_command(address):
    with pytest.raises(UnreachableRecipient):
        envelope_address(address)


def test_the_smtp_boundary_takes_plain_and_international_domains():
    assert envelope_address("mailto:bob+tag@example.com") == "bob+tag@example.com"
    assert envelope_address("bob@bücher.example") == "bob@xn--bcher-kva.example"

"""The seed scenario with the replies read from a hosted mailbox over IMAP.

Invitations go out by SMTP as before; B's and C's replies are appended to
the service's mailbox on a real Dovecot (as the provider would deliver
them), read by the IMAP consumer inside the server, and filed in the
processed folder once stored.  The rest of scenario.md holds unchanged.
"""

from __future__ import annotations

import time

import pytest

from caldav_sched.services import inbound as inbound_service
from tests.conftest import ServerThread, ShiftedClock, smtp_settings
from tests.imap.conftest import FAILED, PROCESSED, MailboxView, imap_table
from tests.replies.helpers import reply_mail
from tests.replies.test_seed_scenario import SCENARIO_START, Organizer, invite, partstat


def scenario_server(tmp_path, smtp_sink, dovecot, **imap) -> ServerThread:
    settings = smtp_settings(tmp_path, smtp_sink, imap=imap_table(dovecot, **imap))
    server = ServerThread(settings, clock=ShiftedClock(SCENARIO_START))
    server.start()
    server.add_user("A", "a@example.com")
    return server


@pytest.fixture
def over_imap(tmp_path, smtp_sink, dovecot):
    server = scenario_server(tmp_path, smtp_sink, dovecot)
    yield Organizer(server), smtp_sink, MailboxView(dovecot)
    server.stop()


async def test_the_seed_scenario_with_replies_from_the_mailbox(over_imap):
    a, sink, mailbox = over_imap

    # 1-3: A creates the event; B and C get an invitation each.
    mails, etag_500 = await invite(a, sink)
    b_address = mails["b@example.com"].organizer
    c_address = mails["c@example.com"].organizer

    # 4-8: B's acceptance lands in the service's mailbox; IDLE wakes the
    # consumer, which stores it, and the reply is applied within seconds.
    started = time.monotonic()
    mailbox.append(reply_mail(to=b_address, attendee="b@example.com", partstat="ACCEPTED"))
    etag_501, body = await a.wait_for(b="ACCEPTED", timeout=10)
    took = time.monotonic() - started
    print(f"\nAPPEND to the new ETag through IDLE: {took * 1000:.0f} ms (shared machine)")
    assert took < 10
    assert etag_501 != etag_500
    assert partstat(body, "c@example.com") == "NEEDS-ACTION"
    status, _, _ = await a.request("PUT", body, {"If-Match": etag_500})
    assert status == 412
    mailbox.wait_for(PROCESSED, 1)
    assert mailbox.count("INBOX") == 0

    # 9-10: C declines, the same way.
    mailbox.append(reply_mail(to=c_address, attendee="c@example.com", partstat="DECLINED"))
    etag_502, body = await a.wait_for(c="DECLINED", timeout=10)
    assert etag_502 != etag_501
    assert partstat(body, "b@example.com") == "ACCEPTED"
    mailbox.wait_for(PROCESSED, 2)
    assert mailbox.count("INBOX") == 0 and mailbox.count(FAILED) == 0

    # 11: A moves the event: both are asked again with the new SEQUENCE.
    moved = body.replace("20180710T180000Z", "20180711T180000Z").replace(
        "20180710T200000Z", "20180711T200000Z"
    )
    status, etag_503, _ = await a.request("PUT", moved, {"If-Match": etag_502})
    assert status == 204 and etag_503 != etag_502
    _, body = await a.copy()
    assert "SEQUENCE:1" in body
    assert partstat(body, "b@example.com") == "NEEDS-ACTION"
    assert partstat(body, "c@example.com") == "NEEDS-ACTION"
    assert len(sink.wait_for(4)) == 4

    # The operator's view: both came in over IMAP, both applied.
    messages = a.server.call(inbound_service.list_messages(a.server.services))
    assert [(m.via, m.state) for m in messages] == [("imap", "applied"), ("imap", "applied")]

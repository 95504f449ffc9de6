"""The IMAP consumer against a real Dovecot: what it files where, and how it waits.

Each test runs the real server (HTTP, workers, consumer) on a fresh
database, with the service's mailbox on a Dovecot of its own.
"""

from __future__ import annotations

import logging
import time

import pytest

from caldav_sched.services import inbound as inbound_service
from tests.conftest import ServerThread, ShiftedClock, smtp_settings
from tests.imap.conftest import FAILED, PROCESSED, MailboxView, imap_table
from tests.imap.helpers import eventually, healthz, newsletter
from tests.replies.helpers import reply_mail
from tests.replies.test_seed_scenario import SCENARIO_START, Organizer, invite


@pytest.fixture
def start(tmp_path, smtp_sink, dovecot):
    """Start the server with an [imap] table for the test's Dovecot."""
    running: list[ServerThread] = []

    def starter(**imap) -> tuple[Organizer, MailboxView]:
        settings = smtp_settings(tmp_path, smtp_sink, imap=imap_table(dovecot, **imap))
        server = ServerThread(settings, clock=ShiftedClock(SCENARIO_START))
        server.start()
        server.add_user("A", "a@example.com")
        running.append(server)
        return Organizer(server), MailboxView(dovecot)

    yield starter
    for server in running:
        server.stop()


def inbound(server: ServerThread):
    return server.call(inbound_service.list_messages(server.services))


async def test_polling_when_idle_is_switched_off(start, smtp_sink):
    a, mailbox = start(idle=False, poll_interval=0.5)
    mails, _ = await invite(a, smtp_sink)
    b_address = mails["b@example.com"].organizer
    eventually(lambda: healthz(a.server.url)["imap"]["mode"] == "polling", what="polling")
    mailbox.append(reply_mail(to=b_address, attendee="b@example.com", partstat="TENTATIVE"))
    await a.wait_for(b="TENTATIVE", timeout=10)
    mailbox.wait_for(PROCESSED, 1)
    state = healthz(a.server.url)["imap"]
    assert state["mode"] == "polling" and state["connected"] is True
    assert state["messages"] == {"fetched": 1, "stored": 1, "moved": 1, "failed": 0, "duplicates": 0}


async def test_a_forged_reply_and_a_newsletter_change_nothing(start, smtp_sink):
    a, mailbox = start()
    mails, _ = await invite(a, smtp_sink)
    b_address = mails["b@example.com"].organizer
    etag, before = await a.copy()
    forged = "calendar+" + "a" * 32 + "@cal.example.com"
    mailbox.append(
        reply_mail(to=forged, attendee="b@example.com", partstat="DECLINED"),
        newsletter(),
    )
    # The forged reply is service mail (to a token address): processed, refused.
    # The newsletter is not: kept in the failed folder, and listed as refused.
    mailbox.wait_for(PROCESSED, 1)
    mailbox.wait_for(FAILED, 1)
    assert mailbox.count("INBOX") == 0
    [filed] = mailbox.messages(FAILED)
    assert b"Our offers of the week" in filed
    messages = eventually(
        lambda: [m for m in inbound(a.server) if m.state != "received"] if all(
            m.state != "received" for m in inbound(a.server)) else None,
        what="both messages processed",
    )
    assert sorted((m.via, m.state) for m in messages) == [("imap", "refused"), ("imap", "refused")]
    reasons = " | ".join(m.reason for m in messages)
    assert "unknown reply token" in reasons and "no reply token" in reasons
    assert await a.copy() == (etag, before)
    assert b_address  # the real token was never used


async def test_a_message_over_the_size_limit_is_filed_unread(tmp_path, smtp_sink, dovecot):
    settings = smtp_settings(tmp_path, smtp_sink, imap=imap_table(dovecot),
                             limits={"max_mail_size": 20_000})
    server = ServerThread(settings)
    server.start()
    try:
        mailbox = MailboxView(dovecot)
        mailbox.append(newsletter(1) + b"x" * 30_000 + b"\r\n")
        mailbox.wait_for(FAILED, 1)
        assert inbound(server) == []
        state = healthz(server.url)["imap"]
        assert state["messages"]["fetched"] == 0 and state["messages"]["failed"] == 1
    finally:
        server.stop()


async def test_a_missing_mailbox_is_reported_and_picked_up_once_it_exists(start, caplog):
    caplog.set_level(logging.INFO, logger="caldav_sched.imap")
    a, mailbox = start(mailbox="Replies")
    state = eventually(lambda: healthz(a.server.url).get("imap", {}).get("problem"),
                       what="a problem reported")
    assert "'Replies' does not exist" in state and "check [imap] mailbox" in state
    assert healthz(a.server.url)["status"] == "degraded"
    import imaplib

    from tests.imap.dovecot import PASSWORD, USER

    client = imaplib.IMAP4("127.0.0.1", mailbox.server.port)
    client.login(USER, PASSWORD)
    client.create("Replies")
    client.logout()
    mailbox.append(newsletter(), mailbox="Replies")
    mailbox.wait_for(FAILED, 1, timeout=20)
    health = healthz(a.server.url)
    assert health["status"] == "ok" and health["imap"]["problem"] is None
    errors = [r for r in caplog.records if r.name == "caldav_sched.imap" and r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]  # once per change of state


async def test_the_lease_lets_one_process_read(start, dovecot):
    from caldav_sched.services import leases

    a, mailbox = start()
    services = a.server.services
    eventually(lambda: healthz(a.server.url)["imap"]["status"] == "idle", what="idle")
    # Another live process takes the lease over once this one's lapses.
    a.server.call(leases.release(services, "imap", holder_of(a.server)))
    taken = a.server.call(leases.hold(services, "imap", "other-host:1", 3600))
    assert taken == "other-host:1"
    mailbox.append(newsletter())
    eventually(lambda: healthz(a.server.url)["imap"]["status"] == "standby", timeout=20,
               what="standby")
    time.sleep(1.5)
    assert mailbox.count("INBOX") == 1  # the other process reads, not this one
    a.server.call(leases.release(services, "imap", "other-host:1"))
    mailbox.wait_for(FAILED, 1, timeout=20)


def holder_of(server: ServerThread) -> str:
    from caldav_sched.dav.keys import IMAP_CONSUMER

    return server.app[IMAP_CONSUMER].holder

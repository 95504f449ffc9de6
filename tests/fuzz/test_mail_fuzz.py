"""Mutated reply mails through LMTP, ``ingest`` and an IMAP mailbox: never a traceback, nothing lost.

One storm per line of ``strategies.MAIL_TARGETS``.  The mails are the
inbound corpus (Gmail, Outlook, Apple Mail, Thunderbird, bounces, ...) with
their headers, MIME structure, encodings and calendar lines mutated, all
addressed with a token that is bound to an attendee of a stored event, so
they reach the reply rules.  Each message is taken (stored, then applied or
refused with a record) or refused at the door; nothing is logged at ERROR or
with a traceback, not by the listener and not by the queue's workers; after
the storm the listener still answers, the queue is drained, the organizer's
copy is still valid, and an object stored before the storm reads back octet
for octet.  Through IMAP, the mails are appended to a real Dovecot mailbox
as they come, and every one the server stored must leave it, filed as
processed or failed.
"""

from __future__ import annotations

import imaplib
import smtplib
import time

import pytest
from hypothesis import given

from caldav_sched.domain.conditions import Preconditions
from caldav_sched.domain.ical import parse_calendar
from caldav_sched.services import inbound as inbound_service
from caldav_sched.services import objects as object_service
from caldav_sched.services.errors import InvalidInput
from caldav_sched.store import collections as collection_store
from caldav_sched.store import jobs as job_store
from caldav_sched.store import objects as object_store
from caldav_sched.store import users as user_store
from tests.conftest import ServerThread, free_port, make_settings
from tests.fuzz.strategies import EVENT, MAIL_TARGETS, REPLY_TOKEN, MailTarget, case, storm_settings
from tests.imap.conftest import FAILED, PROCESSED, MailboxView, dovecot, imap_table  # noqa: F401
from tests.imap.dovecot import PASSWORD, USER
from tests.imap.helpers import eventually
from tests.replies.test_corpus_outcomes import ORGANIZER_COPY

TOKEN_ADDRESS = f"calendar+{REPLY_TOKEN}@cal.example.com"
UNTOUCHED = EVENT.replace("fuzz-event", "untouched").encode()


@pytest.fixture
def mail_server(request, tmp_path):
    lmtp_port = free_port()
    mailbox, tables = None, {}
    if request.node.callspec.params["target"].via == "imap":
        server = request.getfixturevalue("dovecot")
        mailbox, tables = MailboxView(server), {"imap": imap_table(server)}
    server = ServerThread(make_settings(
        tmp_path,
        mail={"from_address": "calendar@cal.example.com"},
        inbound={"lmtp_host": "127.0.0.1", "lmtp_port": lmtp_port},
        queue={"poll_interval": 0.05, "workers": 1},
        **tables,
    ))
    server.start()
    server.add_user("A", "a@example.com")
    server.call(_store(server.services))
    yield server, lmtp_port, mailbox
    server.stop()


async def _store(services) -> None:
    reader = services.db.reader()
    user = await user_store.get_user(reader, "A")
    calendar = await collection_store.get_collection(reader, "A", "event")
    for name, body in (("event.ics", ORGANIZER_COPY.encode()), ("untouched.ics", UNTOUCHED)):
        await object_service.put_object(services, user, calendar, name, body, Preconditions())
    async with services.db.transaction() as conn:
        # The corpus is addressed with one fixed token: bind it to attendee B.
        await conn.execute(
            "UPDATE imip_tokens SET token = ? WHERE attendee = ?", (REPLY_TOKEN, "mailto:b@example.com")
        )


async def _object(services, name: str) -> bytes:
    reader = services.db.reader()
    calendar = await collection_store.get_collection(reader, "A", "event")
    row = await object_store.get_object(reader, calendar.id, name)
    assert row is not None and row.data is not None
    return row.data


async def _unfinished_jobs(services) -> int:
    counts = await job_store.count_by_state(services.db.reader())
    return sum(counts.get(state, 0) for state in ("pending", "running", "retrying"))


def deliver(port: int, raw: bytes) -> None:
    """Hand one message to the LMTP listener; a 5xx refusal is an answer, a 4xx is not."""
    with smtplib.LMTP("127.0.0.1", port) as client:
        try:
            refused = client.sendmail("bounce@client.example", [TOKEN_ADDRESS], raw)
        except smtplib.SMTPResponseException as exc:
            assert exc.smtp_code >= 500, (exc.smtp_code, exc.smtp_error)
            return
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            assert all(code >= 500 for code in codes), exc.recipients
            return
        assert all(code >= 500 for code, _ in refused.values()), refused


class Appender:
    """One IMAP connection that appends to the mailbox, counting what the server took."""

    def __init__(self, mailbox: MailboxView) -> None:
        self.client = imaplib.IMAP4("127.0.0.1", mailbox.server.port)
        self.client.login(USER, PASSWORD)
        self.taken = 0

    def append(self, raw: bytes) -> None:
        status, _ = self.client.append("INBOX", None, None, raw)
        self.taken += status == "OK"  # else the IMAP server would not store these bytes


def run_storm(mail_server, log_watch, target: MailTarget) -> None:
    server, lmtp_port, mailbox = mail_server
    services = server.services
    untouched = server.call(_object(services, "untouched.ics"))
    log_watch.take()
    appender = Appender(mailbox) if mailbox is not None else None

    @storm_settings(target.share)
    @given(raw=case(target.seeds, target.mutation))
    def one_case(raw: bytes) -> None:
        if target.via == "lmtp":
            deliver(lmtp_port, raw)
        elif target.via == "imap":
            assert appender is not None
            appender.append(raw)
        else:
            try:
                _, verdict = server.call(inbound_service.ingest(services, raw, worker="fuzz"))
            except InvalidInput:
                pass  # `ingest` exits 65: not mail at all, the mail system bounces it
            else:
                assert verdict.state in ("applied", "refused"), verdict
        assert log_watch.take() == []

    one_case()
    if mailbox is not None and appender is not None:
        appender.client.logout()
        eventually(lambda: mailbox.count("INBOX") == 0, timeout=60, what="every message filed")
        assert mailbox.count(PROCESSED) + mailbox.count(FAILED) == appender.taken
    deadline = time.monotonic() + 60
    while server.call(_unfinished_jobs(services)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.call(_unfinished_jobs(services)) == 0, "the queue did not drain"
    assert log_watch.take() == []
    with smtplib.LMTP("127.0.0.1", lmtp_port) as client:
        assert client.noop()[0] == 250, "the listener no longer answers"
    parse_calendar(server.call(_object(services, "event.ics")))  # still valid
    assert server.call(_object(services, "untouched.ics")) == untouched


@pytest.mark.parametrize("target", MAIL_TARGETS, ids=[t.name for t in MAIL_TARGETS])
def test_storm(mail_server, log_watch, target):
    run_storm(mail_server, log_watch, target)

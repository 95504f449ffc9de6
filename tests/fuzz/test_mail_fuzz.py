"""Mutated reply mails through LMTP and ``ingest``: never a traceback, nothing lost.

One storm per line of ``strategies.MAIL_TARGETS``.  The mails are the
inbound corpus (Gmail, Outlook, Apple Mail, Thunderbird, bounces, ...) with
their headers, MIME structure, encodings and calendar lines mutated, all
addressed with a token that is bound to an attendee of a stored event, so
they reach the reply rules.  Each message is taken (stored, then applied or
refused with a record) or refused at the door; nothing is logged at ERROR or
with a traceback, not by the listener and not by the queue's workers; after
the storm the listener still answers, the queue is drained, the organizer's
copy is still valid, and an object stored before the storm reads back octet
for octet.
"""

from __future__ import annotations

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
from tests.replies.test_corpus_outcomes import ORGANIZER_COPY

TOKEN_ADDRESS = f"calendar+{REPLY_TOKEN}@cal.example.com"
UNTOUCHED = EVENT.replace("fuzz-event", "untouched").encode()


@pytest.fixture
def mail_server(tmp_path):
    lmtp_port = free_port()
    server = ServerThread(make_settings(
        tmp_path,
        mail={"from_address": "calendar@cal.example.com"},
        inbound={"lmtp_host": "127.0.0.1", "lmtp_port": lmtp_port},
        queue={"poll_interval": 0.05, "workers": 1},
    ))
    server.start()
    server.add_user("A", "a@example.com")
    server.call(_store(server.services))
    yield server, lmtp_port
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


def run_storm(mail_server, log_watch, target: MailTarget) -> None:
    server, lmtp_port = mail_server
    services = server.services
    untouched = server.call(_object(services, "untouched.ics"))
    log_watch.take()

    @storm_settings(target.share)
    @given(raw=case(target.seeds, target.mutation))
    def one_case(raw: bytes) -> None:
        if target.via == "lmtp":
            deliver(lmtp_port, raw)
        else:
            try:
                _, verdict = server.call(inbound_service.ingest(services, raw, worker="fuzz"))
            except InvalidInput:
                pass  # `ingest` exits 65: not mail at all, the mail system bounces it
            else:
                assert verdict.state in ("applied", "refused"), verdict
        assert log_watch.take() == []

    one_case()
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

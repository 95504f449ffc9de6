"""Odd mail through the IMAP path: filed, never a traceback, nothing lost.

The sorting that decides between the processed and the failed folder is
fuzzed on its own (arbitrary bytes, mutated real messages), and mutated
messages are appended to a real Dovecot mailbox for the consumer to take:
each ends up in one of the two folders, stored or refused, and the
consumer stays connected.
"""

from __future__ import annotations

import logging

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caldav_sched.domain.imip.inbound.sorting import Sorting, sort_message
from tests.conftest import ServerThread, make_settings
from tests.imap.conftest import FAILED, PROCESSED, MailboxView, imap_table
from tests.imap.helpers import eventually, healthz
from tests.inbound.test_fuzz import SETTINGS, mutated


def sort(raw: bytes) -> Sorting:
    return sort_message(raw, from_address="calendar@cal.example.com", max_calendar_size=4096)


@SETTINGS
@given(st.binary(max_size=3000))
def test_sorting_arbitrary_bytes(raw: bytes):
    assert isinstance(sort(raw), Sorting)


@SETTINGS
@given(mutated())
def test_sorting_mutated_messages(raw: bytes):
    assert isinstance(sort(raw), Sorting)


@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=5, max_size=15))
def test_mutated_messages_in_the_mailbox_are_all_filed(tmp_path_factory, dovecot, caplog, batch):
    caplog.set_level(logging.WARNING, logger="caldav_sched.imap")
    mailbox = MailboxView(dovecot)
    before = mailbox.count(PROCESSED) + mailbox.count(FAILED)
    appended = 0
    for raw in batch:
        # A server may refuse to store some byte sequences at all (NUL bytes):
        # what it takes is what the consumer must cope with.
        try:
            mailbox.append(raw)
            appended += 1
        except AssertionError:
            continue
    server = ServerThread(make_settings(tmp_path_factory.mktemp("fuzz"), imap=imap_table(dovecot)))
    server.start()
    try:
        eventually(lambda: mailbox.count("INBOX") == 0, timeout=30, what="the mailbox emptied")
        assert mailbox.count(PROCESSED) + mailbox.count(FAILED) == before + appended
        health = healthz(server.url)
        assert health["imap"]["connected"] and health["imap"]["problem"] is None
    finally:
        server.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text

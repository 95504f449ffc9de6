"""Fixtures for reading replies from a real Dovecot mailbox."""

from __future__ import annotations

import imaplib
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.imap.dovecot import DOVECOT, PASSWORD, USER, Dovecot, make_dovecot

PROCESSED = "caldav-sched-processed"
FAILED = "caldav-sched-failed"


def _dovecot(tls: bool) -> Iterator[Dovecot]:
    if DOVECOT is None:
        pytest.skip("Dovecot is needed (apt-get install dovecot-imapd; .ci/run installs it)")
    directory = Path(tempfile.mkdtemp(prefix="caldav-sched-dovecot-"))
    server = make_dovecot(directory, tls=tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A Dovecot with the service's mailbox, plain IMAP on a loopback port."""
    yield from _dovecot(tls=False)


@pytest.fixture
def dovecot_tls() -> Iterator[Dovecot]:
    """The same, with implicit TLS and STARTTLS on a self-signed certificate."""
    yield from _dovecot(tls=True)


def imap_table(server: Dovecot, **overrides: Any) -> dict[str, Any]:
    """The [imap] table for *server*, quick enough for tests."""
    return {
        "host": "127.0.0.1",
        "port": server.port,
        "security": "none",
        "username": USER,
        "password": PASSWORD,
        "poll_interval": 1.0,
        "timeout": 10.0,
        **overrides,
    }


class MailboxView:
    """The mailbox as a person's mail client sees it (the standard library's imaplib)."""

    def __init__(self, server: Dovecot) -> None:
        self.server = server

    def _connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.server.port)
        client.login(USER, PASSWORD)
        return client

    def append(self, *messages: bytes, mailbox: str = "INBOX") -> None:
        client = self._connect()
        try:
            for raw in messages:
                status, detail = client.append(mailbox, None, None, raw)
                assert status == "OK", detail
        finally:
            client.logout()

    def count(self, mailbox: str = "INBOX") -> int:
        client = self._connect()
        try:
            status, data = client.status(f'"{mailbox}"', "(MESSAGES)")
            if status != "OK":
                return 0
            return int(data[0].split(b"MESSAGES ")[1].rstrip(b")"))
        finally:
            client.logout()

    def messages(self, mailbox: str = "INBOX") -> list[bytes]:
        client = self._connect()
        try:
            client.select(f'"{mailbox}"', readonly=True)
            status, data = client.uid("SEARCH", None, "ALL")
            found = []
            for uid in data[0].split():
                _, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
                found.append(parts[0][1])
            return found
        finally:
            client.logout()

    def wait_for(self, mailbox: str, count: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            seen = self.count(mailbox)
            if seen == count:
                return
            assert time.monotonic() < deadline, f"{mailbox} has {seen} message(s), not {count}"
            time.sleep(0.1)


@pytest.fixture
def mailbox_view(dovecot: Dovecot) -> MailboxView:
    return MailboxView(dovecot)

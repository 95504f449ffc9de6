"""Two ``serve`` instances on one PostgreSQL database read one mailbox: one at a time.

Both are configured with the same ``[imap]`` account on a real Dovecot.
The lease in the database lets one read while the other stands by; every
message is stored exactly once.  When the reader is killed outright, the
other takes the mailbox over and reads on.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import SmtpSink
from tests.imap.conftest import FAILED, MailboxView, imap_table
from tests.imap.dovecot import Dovecot
from tests.imap.helpers import eventually, healthz, newsletter
from tests.postgres import Cluster, needs_postgresql
from tests.scaleout.instances import Instance

pytestmark = needs_postgresql

READING = {"reading", "idle", "polling"}


@pytest.fixture
def readers(
    tmp_path: Path, postgres_cluster: Cluster, smtp_sink: SmtpSink, dovecot: Dovecot
) -> Iterator[tuple[str, list[Instance]]]:
    url = postgres_cluster.new_database()
    table = "[imap]\n" + "".join(
        f"{key} = {json.dumps(value)}\n" for key, value in imap_table(dovecot).items()
    )
    pair = [Instance(tmp_path / name, url, smtp_sink, tables=table) for name in ("a", "b")]
    for instance in pair:
        instance.start()
    yield url, pair
    for instance in pair:
        instance.stop()


def status(instance: Instance) -> str:
    return str(healthz(instance.base)["imap"]["status"])


def stored(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT origin, message_id FROM inbound_messages WHERE via = 'imap'"
        ).fetchall()


def test_one_instance_reads_the_other_stands_by_and_takes_over_when_it_dies(readers, dovecot):
    url, pair = readers
    view = MailboxView(dovecot)
    view.append(*(newsletter(n) for n in range(30)))
    view.wait_for(FAILED, 30, timeout=30)
    eventually(lambda: sorted(status(i) in READING for i in pair) == [False, True], timeout=20,
               what="one reader")
    [reader] = [i for i in pair if status(i) in READING]
    [other] = [i for i in pair if i is not reader]
    assert status(other) == "standby"
    rows = stored(url)
    assert len(rows) == 30
    assert len({origin for origin, _ in rows}) == 30
    assert len({message_id for _, message_id in rows}) == 30

    # The reader dies without a word; the other sees its process gone and reads on.
    assert reader.process is not None
    reader.process.send_signal(signal.SIGKILL)
    reader.process.wait()
    view.append(*(newsletter(n) for n in range(30, 40)))
    eventually(lambda: status(other) in READING, timeout=30, what="take-over")
    view.wait_for(FAILED, 40, timeout=30)
    rows = stored(url)
    assert len(rows) == 40
    assert len({message_id for _, message_id in rows}) == 40
    assert view.count("INBOX") == 0

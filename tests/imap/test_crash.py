"""``serve`` killed outright between storing messages and moving them.

The server is killed with SIGKILL while it works through a backlog, at a
moment when it has stored part of a batch and moved none of it (it moves a
batch only after storing it).  After a restart every message is stored
exactly once, the reply among them is applied once, and the mailbox ends
up filed as if nothing had happened.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp

from caldav_sched.mail.imap import BATCH
from tests.conftest import PASSWORD, SmtpSink, basic, free_port, smtp_settings
from tests.imap.conftest import FAILED, PROCESSED, MailboxView, imap_table
from tests.imap.helpers import eventually, newsletter
from tests.mail.helpers import by_recipient
from tests.mail.test_durability import future_event, wait_until_serving, write_config
from tests.replies.helpers import reply_mail

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def serve(config: Path, cwd: Path, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "caldav_sched", "serve", "--config", str(config)],
            cwd=cwd, stdout=subprocess.DEVNULL, stderr=out, env=ENV,
        )


def stored(database: str) -> list[tuple[str, str | None]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute(
            "SELECT origin, message_id FROM inbound_messages WHERE via = 'imap'"
        ).fetchall()


def test_killed_after_the_store_and_before_the_move_applies_once(tmp_path, dovecot):
    sink = SmtpSink(free_port())
    sink.start()
    try:
        run(tmp_path, dovecot, sink)
    finally:
        sink.stop()


def run(tmp_path: Path, dovecot, sink: SmtpSink) -> None:
    settings = smtp_settings(tmp_path, sink)
    imap = "\n[imap]\n" + "".join(
        f"{key} = {json.dumps(value)}\n" for key, value in imap_table(dovecot).items()
    )
    config = write_config(tmp_path, settings, imap)
    # The process to be killed runs no workers: it only stores, so what the
    # restart finds is exactly what the consumer left (replies applied by
    # a worker are another test's subject).
    storing_only = write_config(tmp_path, settings, "workers = 0\n" + imap, name="front.toml")
    log = tmp_path / "serve.log"
    subprocess.run(
        [sys.executable, "-m", "caldav_sched", "user", "add", "alice", "--email",
         "alice@example.com", "--password-stdin", "--config", str(config)],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True, cwd=tmp_path, env=ENV,
    )
    url = f"http://127.0.0.1:{settings.server.port}/home/alice/calendar/event/budget.ics"

    async def http(method: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session:
            async with session.request(
                method, url, data=future_event().encode() if method == "PUT" else None,
                headers={"Authorization": basic("alice"), "Content-Type": "text/calendar"},
            ) as resp:
                return resp.status, (await resp.text()).replace("\r\n ", "")

    first = serve(config, tmp_path, log)
    try:
        wait_until_serving(settings.server.port, first)
        assert asyncio.run(http("PUT"))[0] == 201
        dan = by_recipient(sink.wait_for(2))["dan@elsewhere.example"]
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)

    # While the server is down, Dan's acceptance and a backlog arrive.
    reply = reply_mail(to=dan.organizer, attendee="dan@elsewhere.example", partstat="ACCEPTED",
                       uid="future-1", dtstamp="20260102T000000Z", message_id="<dan-yes@client.example>")
    dovecot.deliver(reply)
    total = 4 * BATCH
    for n in range(1, total):
        dovecot.deliver(newsletter(n))

    second = serve(storing_only, tmp_path, log)
    try:
        # Kill it in the middle of storing a batch: stored, not yet moved.
        deadline = time.monotonic() + 60
        while True:
            assert second.poll() is None, log.read_text()[-3000:]
            count = len(stored(settings.storage.path)) if Path(settings.storage.path).exists() else 0
            if 3 <= count % BATCH <= BATCH - 3:
                break
            assert time.monotonic() < deadline, f"never caught mid-batch ({count} stored)"
            time.sleep(0.002)
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait(timeout=10)
    mailbox = MailboxView(dovecot)
    taken = len(stored(settings.storage.path))
    filed = mailbox.count(PROCESSED) + mailbox.count(FAILED)
    assert taken > filed, "the kill did not land between a store and its move"
    assert mailbox.count("INBOX") == total - filed

    third = serve(config, tmp_path, log)
    try:
        wait_until_serving(settings.server.port, third)
        mailbox.wait_for("INBOX", 0, timeout=60)
        rows = stored(settings.storage.path)
        assert len(rows) == total and len({origin for origin, _ in rows}) == total
        assert [m for _, m in rows].count("<dan-yes@client.example>") == 1
        assert mailbox.count(PROCESSED) == 1 and mailbox.count(FAILED) == total - 1

        def accepted() -> bool:
            status, body = asyncio.run(http("GET"))
            line = next(l for l in body.split("\r\n") if "dan@elsewhere.example" in l)
            return status == 200 and "PARTSTAT=ACCEPTED" in line

        eventually(accepted, timeout=20, what="Dan's acceptance applied")
        with urllib.request.urlopen(
            f"http://127.0.0.1:{settings.server.port}/healthz", timeout=10
        ) as resp:
            health = json.loads(resp.read())
        assert health["imap"]["messages"]["duplicates"] >= taken - filed
        show = subprocess.run(
            [sys.executable, "-m", "caldav_sched", "event", "show", "future-1", "--json",
             "--config", str(config)],
            capture_output=True, text=True, check=True, cwd=tmp_path, env=ENV,
        )
        history = json.loads(show.stdout)["history"]
        received = [h for h in history if h["direction"] == "received"]
        assert [(h["peer"], h["state"]) for h in received] == [("dan@elsewhere.example", "applied")]
    finally:
        third.send_signal(signal.SIGTERM)
        third.wait(timeout=30)

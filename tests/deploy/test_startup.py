"""What `serve` says when it starts, and what it keeps out of its log.

Two lines: the address, the database as an absolute path (the default one
is relative to wherever the server was started), where mail goes and
whether the LMTP listener runs.  aiosmtpd's own line-by-line account of
each LMTP conversation stays out unless ``[log] level`` is ``debug``.
"""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from caldav_sched.config import settings_from_dict
from caldav_sched.daemon import start_lines
from tests.conftest import free_port
from tests.replies.helpers import reply_mail

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop("CALDAV_SCHED_CONFIG", None)


@pytest.mark.parametrize(
    "tables, mail_and_lmtp",
    [
        ({}, "mail from calendar@localhost written to {cwd}/var/outbox-mail (file transport:"
             " nothing is sent); LMTP off (replies through `caldav-sched ingest`)"),
        ({"mail": {"transport": "smtp", "from_address": "calendar@cal.example.com"},
          "smtp": {"host": "smtp.example.com", "port": 587, "security": "starttls"},
          "inbound": {"lmtp_socket": "/run/caldav-sched/lmtp.sock"}},
         "mail from calendar@cal.example.com through SMTP smtp.example.com:587 (starttls);"
         " LMTP on /run/caldav-sched/lmtp.sock"),
        ({"inbound": {"lmtp_host": "127.0.0.1", "lmtp_port": 2424}},
         "mail from calendar@localhost written to {cwd}/var/outbox-mail (file transport:"
         " nothing is sent); LMTP on 127.0.0.1:2424"),
    ],
)
def test_the_start_lines_say_where_everything_is(tables, mail_and_lmtp):
    settings = settings_from_dict(tables)
    listening, mail = start_lines(settings, event_loop="uvloop", new_database=False)
    cwd = Path.cwd()
    assert listening == (
        f"serving CalDAV on http://127.0.0.1:5232/ (database {cwd}/var/caldav_sched.sqlite3;"
        " event loop uvloop)"
    )
    assert mail == mail_and_lmtp.format(cwd=cwd)


def test_a_new_database_is_called_new():
    [listening, _] = start_lines(settings_from_dict({}), event_loop="asyncio", new_database=True)
    assert f"(database {Path.cwd()}/var/caldav_sched.sqlite3, new; event loop asyncio)" in listening


def serve_and_deliver(tmp_path: Path, level: str) -> list[str]:
    """Start serve from a directory of its own, hand it one reply over LMTP, stop it."""
    http, lmtp = free_port(), free_port()
    (tmp_path / "config.toml").write_text(
        f'[server]\nport = {http}\n[inbound]\nlmtp_host = "127.0.0.1"\nlmtp_port = {lmtp}\n'
        f'[log]\nlevel = "{level}"\nbatch_seconds = 0.0\n'
    )
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "caldav_sched", "serve", "--config", "config.toml"],
            cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL, stderr=sink,
        )
    try:
        deadline = time.monotonic() + 20
        while "LMTP on" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        raw = reply_mail(to="calendar+" + "q" * 26 + "@localhost", attendee="b@example.com",
                         partstat="ACCEPTED")
        with smtplib.LMTP("127.0.0.1", lmtp) as client:
            assert client.sendmail("b@example.com", ["calendar+" + "q" * 26 + "@localhost"],
                                   raw) == {}
        while "refused" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    return log.read_text().splitlines()


def test_serve_says_where_it_runs_and_keeps_aiosmtpd_quiet(tmp_path):
    lines = serve_and_deliver(tmp_path, "info")
    [listening] = [l for l in lines if "serving CalDAV on" in l]
    assert f"(database {tmp_path}/var/caldav_sched.sqlite3, new; event loop" in listening
    [mail] = [l for l in lines if " mail from " in l]
    assert f"written to {tmp_path}/var/outbox-mail (file transport: nothing is sent)" in mail
    assert mail.endswith("LMTP on 127.0.0.1:" + mail.rsplit(":", 1)[1])
    assert [l for l in lines if " mail.log: " in l] == []
    assert any("caldav_sched.inbound: message #1 refused" in l for l in lines)


def test_with_level_debug_aiosmtpd_says_everything(tmp_path):
    lines = serve_and_deliver(tmp_path, "debug")
    assert len([l for l in lines if " mail.log: " in l]) >= 5


def test_the_start_lines_name_the_imap_mailbox():
    settings = settings_from_dict({"imap": {"host": "imap.example.com", "username": "cal@example.com",
                                            "idle": False}})
    [_, mail] = start_lines(settings, event_loop="uvloop", new_database=False)
    assert mail.endswith("; LMTP off; IMAP mailbox INBOX of cal@example.com at imap.example.com:993"
                         " (tls, polling)")

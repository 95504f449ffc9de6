"""Faults between the service and its mailbox: logged once, shown in /healthz,
retried, and never stopping the server."""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import ServerThread, make_settings
from tests.imap.conftest import FAILED, MailboxView, imap_table
from tests.imap.helpers import eventually, healthz, imap_check, metrics, newsletter

def test_a_wrong_password_is_logged_once_shown_and_checked(tmp_path, dovecot, caplog):
    caplog.set_level(logging.INFO, logger="caldav_sched.imap")
    table = imap_table(dovecot, password="not the password")
    server = ServerThread(make_settings(tmp_path, imap=table))
    server.start()
    try:
        problem = eventually(lambda: healthz(server.url)["imap"]["problem"], what="a problem")
        assert "refused the login of calendar@cal.example.com" in problem
        assert "check [imap] username and the password" in problem
        health = healthz(server.url)
        assert health["status"] == "degraded"
        assert health["imap"]["status"] == "error" and health["imap"]["connected"] is False
        text = metrics(server.url)
        assert "caldav_sched_imap_connected 0" in text and "caldav_sched_imap_up 0" in text
        # Still serving CalDAV; and retrying without repeating itself in the log.
        eventually(lambda: dovecot.log().count("Password mismatch") >= 2, timeout=30,
                   what="a second attempt")
    finally:
        server.stop()
    errors = [r.getMessage() for r in caplog.records
              if r.name == "caldav_sched.imap" and r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "refused the login" in errors[0], errors

    done = imap_check(tmp_path, table)
    assert done.returncode == 1
    assert "IMAP login problem" in done.stderr and "refused the login" in done.stderr
    assert "Traceback" not in done.stderr


def test_imap_check_lists_the_mailboxes_and_what_waits(tmp_path, dovecot):
    MailboxView(dovecot).append(newsletter(1), newsletter(2))
    done = imap_check(tmp_path, imap_table(dovecot))
    assert done.returncode == 0, done.stderr
    assert "INBOX: 2 message(s) waiting" in done.stdout
    assert "caldav-sched-processed: created at the first start of serve" in done.stdout
    data = json.loads(imap_check(tmp_path, imap_table(dovecot), "--json").stdout)
    assert data["ok"] is True and data["waiting"] == 2 and "IDLE" in data["capabilities"]


@pytest.mark.parametrize(
    "change, kind",
    [
        ({"host": "no-such-host.invalid"}, "dns"),
        ({"port": 1}, "connect"),
        ({"security": "tls"}, "tls"),
        ({"mailbox": "Gone"}, "mailbox"),
        ({"password": "", "password_command": "exit 3"}, "secret"),
    ],
)
def test_imap_check_says_what_is_wrong(tmp_path, dovecot, change, kind):
    done = imap_check(tmp_path, imap_table(dovecot, **change))
    assert done.returncode == 1
    assert f"IMAP {kind} problem" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_the_password_can_come_from_a_command(tmp_path, dovecot):
    from tests.imap.dovecot import PASSWORD

    secret = tmp_path / "secret"
    secret.write_text(PASSWORD + "\n")
    table = imap_table(dovecot, password="", password_command=f"cat {secret}")
    done = imap_check(tmp_path, table)
    assert done.returncode == 0, done.stderr


def test_dovecot_stopped_and_started_under_a_running_server(tmp_path, dovecot, caplog):
    caplog.set_level(logging.INFO, logger="caldav_sched.imap")
    server = ServerThread(make_settings(tmp_path, imap=imap_table(dovecot)))
    server.start()
    mailbox = MailboxView(dovecot)
    try:
        eventually(lambda: healthz(server.url)["imap"]["status"] == "idle", what="idle")
        dovecot.stop()  # cuts the connection in the middle of IDLE
        health = eventually(lambda: (h := healthz(server.url))["imap"]["problem"] and h,
                            what="the cut noticed")
        assert health["imap"]["connected"] is False
        # Mail keeps arriving while IMAP is down (the provider delivers it).
        dovecot.deliver(newsletter(1))
        dovecot.deliver(newsletter(2))
        dovecot.start()
        mailbox.wait_for(FAILED, 2, timeout=30)
        health = eventually(lambda: (h := healthz(server.url))["imap"]["connected"] and h,
                            what="connected again")
        assert health["status"] == "ok" and health["imap"]["problem"] is None
        assert health["imap"]["messages"]["stored"] == 2
    finally:
        server.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "caldav_sched.imap"]
    assert any("connected again" in line for line in lines), lines

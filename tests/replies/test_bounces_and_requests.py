"""Other mail an attendee's side sends back: bounces, REFRESH, COUNTER, ingest."""

from __future__ import annotations

import email.policy
import json
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

from tests.mail.helpers import by_recipient
from tests.replies.helpers import deliver_lmtp, reply_mail
from tests.replies.test_seed_scenario import attendee_param, delivered, invite, scenario  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def dsn_for(original: EmailMessage, failed: str) -> bytes:
    """A delivery status notification as Postfix writes one (RFC 3464)."""
    returned = original.as_bytes(policy=email.policy.SMTP).decode("ascii", "replace")
    text = (
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
        "To: calendar@cal.example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "Message-ID: <dsn-1@mx.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "\r\n--B\r\nContent-Type: message/rfc822\r\n\r\n"
        f"{returned}\r\n--B--\r\n"
    )
    return text.encode("ascii")


async def test_a_bounce_marks_the_attendee_not_delivered(scenario):
    a, sink, lmtp = scenario
    received = sink.wait_for(0)
    mails, etag = await invite(a, sink)
    c_original = next(r.message for r in sink.received if r.recipients == ["c@example.com"])
    assert deliver_lmtp(lmtp, "calendar@cal.example.com", dsn_for(c_original, "c@example.com")) == {}
    new_etag, body = await a.wait_for(
        lambda b: attendee_param(b, "c@example.com", "SCHEDULE-STATUS") == "5.1"
    )
    assert new_etag != etag
    assert attendee_param(body, "b@example.com", "SCHEDULE-STATUS") == "1.1"
    assert received == []


async def test_refresh_sends_the_current_request_again(scenario):
    a, sink, lmtp = scenario
    mails, _ = await invite(a, sink)
    b_address = mails["b@example.com"].organizer
    refresh = reply_mail(to=b_address, attendee="b@example.com", partstat="NEEDS-ACTION").replace(
        b"METHOD:REPLY", b"METHOD:REFRESH"
    ).replace(b"method=\"REPLY\"", b"method=\"REFRESH\"").replace(b"method=REPLY", b"method=REFRESH")
    assert deliver_lmtp(lmtp, b_address, refresh) == {}
    [again] = by_recipient(sink.wait_for(3)[2:]).values()
    assert again.to == "b@example.com" and again.method == "REQUEST"
    assert again.organizer == b_address, "the same token: replies keep working"


def test_ingest_reports_its_outcome_and_exit_status(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n'
        '[mail]\nfrom_address = "calendar@cal.example.com"\n'
    )

    def ingest(data: bytes) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "caldav_sched", "ingest", "-", "--json", "--config", str(config)],
            input=data, capture_output=True, cwd=tmp_path,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )

    # A pipe never feeds a database nobody serves: the mail system tries again later.
    raw = reply_mail(to="calendar+" + "q" * 26 + "@cal.example.com", attendee="b@example.com",
                     partstat="ACCEPTED")
    assert ingest(raw).returncode == 75
    subprocess.run(
        [sys.executable, "-m", "caldav_sched", "migrate", "--config", str(config)],
        check=True, capture_output=True, cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    done = ingest(raw)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["state"] == "refused" and "unknown reply token" in outcome["reason"]

    empty = ingest(b"")
    assert empty.returncode == 65 and b"empty" in empty.stderr

    listed = subprocess.run(
        [sys.executable, "-m", "caldav_sched", "inbound", "list", "--state", "refused", "--json",
         "--config", str(config)],
        capture_output=True, cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    [message] = json.loads(listed.stdout)
    assert message["state"] == "refused" and "unknown reply token" in message["reason"]
    time.sleep(0)

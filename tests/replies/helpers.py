"""Replies as attendees' mail clients send them, and ways to deliver them."""

from __future__ import annotations

import email.policy
import smtplib
from email.message import EmailMessage


def reply_mail(
    *,
    to: str,
    attendee: str,
    partstat: str,
    uid: str = "identifier",
    sequence: int = 0,
    dtstamp: str = "20180710T140000Z",
    sender: str | None = None,
    message_id: str | None = None,
    recurrence_id: str | None = None,
) -> bytes:
    """A REPLY the way Thunderbird shapes it: text plus text/calendar; method=REPLY."""
    calendar = (
        "BEGIN:VCALENDAR\r\nPRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\r\n"
        "VERSION:2.0\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:{dtstamp}\r\nSEQUENCE:{sequence}\r\n"
        + (f"RECURRENCE-ID:{recurrence_id}\r\n" if recurrence_id else "")
        + "DTSTART:20180710T180000Z\r\nDTEND:20180710T200000Z\r\nSUMMARY:Main Event\r\n"
        f"ORGANIZER;CN=A.user:mailto:{to}\r\n"
        f"ATTENDEE;PARTSTAT={partstat}:mailto:{attendee}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    message = EmailMessage()
    message["From"] = sender or attendee
    message["To"] = to
    message["Subject"] = f"{partstat.title()}: Main Event"
    message["Message-ID"] = message_id or f"<{uid}-{attendee}-{partstat}-{dtstamp}@client.example>"
    message.set_content(f"{attendee} has answered {partstat}.")
    message.add_alternative(calendar, subtype="calendar", params={"method": "REPLY"})
    return message.as_bytes(policy=email.policy.SMTP)


def deliver_lmtp(port: int, rcpt: str, raw: bytes, mail_from: str = "bounce@client.example") -> dict:
    """Deliver over LMTP; returns the refused recipients (empty when taken)."""
    with smtplib.LMTP("127.0.0.1", port) as client:
        return client.sendmail(mail_from, [rcpt], raw)

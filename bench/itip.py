"""iTIP latency: PUT to mail at the SMTP server, and LMTP reply to new ETag.

caldav_sched runs with ``[mail] transport = "smtp"`` towards an aiosmtpd
sink in this process and with its LMTP listener on loopback.  For each of K
future events with one external attendee, the first figure is the time from
the PUT's response to the REQUEST arriving at the sink.  Then, for each
event, a REPLY (ACCEPTED) is delivered by LMTP to the token address that the
REQUEST named as ORGANIZER, and the second figure is the time from the end
of that delivery to the organizer's object being served with a new ETag.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import smtplib
import time
import uuid
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import aiohttp
from aiosmtpd.controller import Controller

from bench.harness import basic_auth, percentile
from bench.servers import EMAIL, PASSWORD, USER, free_port, start_caldav_sched


class Sink:
    """Records when the message for each UID arrived, and its calendar text."""

    def __init__(self) -> None:
        self.arrived: dict[str, tuple[float, str]] = {}

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        now = time.perf_counter()
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                text = re.sub(r"\r?\n[ \t]", "", part.get_content())  # unfold
                found = re.search(r"^UID:(.+?)\r?$", text, re.M)
                if found:
                    self.arrived.setdefault(found.group(1).strip(), (now, text))
                break
        return "250 OK"


def _event(uid: str, start: datetime, attendee: str) -> bytes:
    fmt = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldav_sched//bench//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{datetime.now(timezone.utc).strftime(fmt)}\r\n"
        f"DTSTART:{start.strftime(fmt)}\r\nDTEND:{(start + timedelta(hours=1)).strftime(fmt)}\r\n"
        "SUMMARY:Bench invitation\r\n"
        f"ORGANIZER;CN=Bench User:mailto:{EMAIL}\r\n"
        f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{attendee}\r\n"
        "SEQUENCE:0\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def _reply(uid: str, organizer: str, attendee: str, sequence: int) -> bytes:
    now = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    calendar = (
        "BEGIN:VCALENDAR\r\nPRODID:-//bench//mail client//EN\r\nVERSION:2.0\r\n"
        f"METHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{now}\r\n"
        f"SEQUENCE:{sequence}\r\nORGANIZER:mailto:{organizer}\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{attendee}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    message = EmailMessage()
    message["From"] = attendee
    message["To"] = organizer
    message["Subject"] = "Accepted: Bench invitation"
    message["Message-ID"] = f"<{uid}-reply@client.example>"
    message.set_content(f"{attendee} has accepted.")
    message.add_alternative(calendar, subtype="calendar", params={"method": "REPLY"})
    return message.as_bytes(policy=email.policy.SMTP)


def _lmtp(port: int, rcpt: str, raw: bytes, attendee: str) -> dict:
    with smtplib.LMTP("127.0.0.1", port) as client:
        return client.sendmail(attendee, [rcpt], raw)


async def _wait(condition, timeout: float, interval: float = 0.001) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if await condition():
            return True
        await asyncio.sleep(interval)
    return False


async def measure(count: int = 200, log=print) -> dict:
    sink = Sink()
    smtp_port, lmtp_port = free_port(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    running = start_caldav_sched(
        mail={"transport": "smtp"},
        smtp={"host": "127.0.0.1", "port": smtp_port, "timeout": 10.0},
        inbound={"lmtp_host": "127.0.0.1", "lmtp_port": lmtp_port},
        queue={"workers": 2, "poll_interval": 0.5},
    )
    failures: list[str] = []
    to_mail: list[float] = []
    to_etag: list[float] = []
    url = running.target.url
    try:
        async with aiohttp.ClientSession(headers={"Authorization": basic_auth(USER, PASSWORD)}) as session:
            sent: dict[str, tuple[str, str, float]] = {}
            base = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
            for i in range(count):
                uid = str(uuid.uuid4())
                attendee = f"guest{i}@example.net"
                body = _event(uid, base + timedelta(hours=i), attendee)
                async with session.put(url + f"{uid}.ics", data=body,
                                       headers={"If-None-Match": "*",
                                                "Content-Type": "text/calendar"}) as resp:
                    await resp.read()
                    done = time.perf_counter()
                    if resp.status != 201:
                        failures.append(f"PUT {uid}: {resp.status}")
                        continue
                sent[uid] = (attendee, f"{uid}.ics", done)

                async def arrived(uid: str = uid) -> bool:
                    return uid in sink.arrived

                if not await _wait(arrived, 10):
                    failures.append(f"no REQUEST at the SMTP server for {uid}")
                    continue
                to_mail.append(sink.arrived[uid][0] - done)
            log(f"  iTIP: {len(to_mail)} REQUESTs arrived")
            # Let SCHEDULE-STATUS updates (they change the ETag) settle first.
            await asyncio.sleep(1.0)
            loop = asyncio.get_running_loop()
            for uid, (attendee, name, _) in sent.items():
                if uid not in sink.arrived:
                    continue
                text = sink.arrived[uid][1]
                organizer = re.search(r"^ORGANIZER[^:\r\n]*:mailto:(\S+?)\r?$", text, re.M | re.I)
                sequence = re.search(r"^SEQUENCE:(\d+)", text, re.M)
                if organizer is None:
                    failures.append(f"REQUEST for {uid} names no ORGANIZER")
                    continue
                async with session.get(url + name) as resp:
                    await resp.read()
                    old = resp.headers.get("ETag")
                raw = _reply(uid, organizer.group(1), attendee, int(sequence.group(1)) if sequence else 0)
                refused = await loop.run_in_executor(None, _lmtp, lmtp_port, organizer.group(1), raw, attendee)
                delivered = time.perf_counter()
                if refused:
                    failures.append(f"LMTP refused the reply for {uid}: {refused}")
                    continue
                changed_at = 0.0

                async def changed(name: str = name, old: str | None = old) -> bool:
                    nonlocal changed_at
                    async with session.get(url + name) as resp:
                        body = await resp.read()
                        if resp.headers.get("ETag") != old:
                            changed_at = time.perf_counter()
                            return b"PARTSTAT=ACCEPTED" in body
                    return False

                if not await _wait(changed, 10):
                    failures.append(f"reply for {uid} not applied within 10 s")
                    continue
                to_etag.append(changed_at - delivered)
            log(f"  iTIP: {len(to_etag)} replies applied")
    finally:
        running.stop()
        controller.stop()
    return {
        "events": count,
        "put_to_mail_p50_ms": percentile(to_mail, 0.5) * 1000,
        "put_to_mail_p95_ms": percentile(to_mail, 0.95) * 1000,
        "reply_to_etag_p50_ms": percentile(to_etag, 0.5) * 1000,
        "reply_to_etag_p95_ms": percentile(to_etag, 0.95) * 1000,
        "failures": failures[:10],
        "ok": not failures,
    }

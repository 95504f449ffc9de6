"""The whole seed scenario: invitations out by SMTP, replies in by LMTP.

Scenario.md steps 1-11 against the running server: A's copy gets a new ETag
at 7-8 and 10, a stale If-Match gets 412, PARTSTATs are as stated, and the
move at step 11 re-invites B and C with the new SEQUENCE.  Then what must
change nothing: a forged token, another attendee's address, an unknown UID,
a replay and a stale reply.
"""

from __future__ import annotations

import email.policy
import time
from datetime import datetime, timezone

import aiohttp
import pytest

from tests.conftest import ServerThread, ShiftedClock, basic, free_port, smtp_settings
from tests.dav.helpers import WALKTHROUGH_PUT
from tests.mail.helpers import by_recipient
from tests.replies.helpers import deliver_lmtp, reply_mail

EVENT = "/home/A/calendar/event/uniqueEventIdentifier.ics"
SCENARIO_START = datetime(2018, 7, 10, 13, 0, tzinfo=timezone.utc)


class Organizer:
    """A, as a CalDAV client sees the server."""

    def __init__(self, server: ServerThread) -> None:
        self.server = server

    async def request(self, method: str, body: str | None = None, headers: dict | None = None):
        async with aiohttp.ClientSession() as session:
            async with session.request(
                method,
                self.server.url.rstrip("/") + EVENT,
                data=body.encode() if body else None,
                headers={"Authorization": basic("A"), "Content-Type": "text/calendar", **(headers or {})},
            ) as resp:
                return resp.status, resp.headers.get("ETag"), (await resp.read()).decode()

    async def copy(self) -> tuple[str, str]:
        status, etag, body = await self.request("GET")
        assert status == 200
        return etag, body.replace("\r\n ", "")

    async def wait_for(
        self, check=lambda body: True, timeout: float = 10.0, **answers: str
    ) -> tuple[str, str]:
        """Wait until *check* holds for the copy and each attendee has the
        given answer (``b="ACCEPTED"`` for b@example.com)."""
        deadline = time.monotonic() + timeout
        while True:
            etag, body = await self.copy()
            if check(body) and all(
                partstat(body, f"{who}@example.com") == value for who, value in answers.items()
            ):
                return etag, body
            assert time.monotonic() < deadline, body
            time.sleep(0.05)


@pytest.fixture
def scenario(tmp_path, smtp_sink):
    lmtp_port = free_port()
    settings = smtp_settings(
        tmp_path, smtp_sink, inbound={"lmtp_host": "127.0.0.1", "lmtp_port": lmtp_port}
    )
    server = ServerThread(settings, clock=ShiftedClock(SCENARIO_START))
    server.start()
    server.add_user("A", "a@example.com")
    yield Organizer(server), smtp_sink, lmtp_port
    server.stop()


def attendee_param(body: str, address: str, name: str) -> str | None:
    line = next(l for l in body.split("\r\n") if l.startswith("ATTENDEE") and address in l)
    params = line.split(":mailto:")[0].split(";")[1:]
    return next((p.split("=", 1)[1] for p in params if p.startswith(name + "=")), None)


def partstat(body: str, address: str) -> str:
    return attendee_param(body, address, "PARTSTAT") or "NEEDS-ACTION"


def delivered(body: str) -> bool:
    """Both invitations handed to SMTP (SCHEDULE-STATUS 1.1 on B and C)."""
    return all(
        attendee_param(body, f"{who}@example.com", "SCHEDULE-STATUS") == "1.1" for who in "bc"
    )


async def invite(a: Organizer, sink) -> tuple[dict, str]:
    status, etag_500, _ = await a.request(
        "PUT", WALKTHROUGH_PUT, {"If-None-Match": "*"}
    )
    assert status == 201
    mails = by_recipient(sink.wait_for(2))
    etag, _ = await a.wait_for(delivered)
    return mails, etag


async def test_the_seed_scenario_end_to_end(scenario):
    a, sink, lmtp = scenario

    # 1-3: A creates the event; B and C get an invitation each.
    mails, etag_500 = await invite(a, sink)
    b_token_address = mails["b@example.com"].organizer
    c_token_address = mails["c@example.com"].organizer

    # 4-8: B accepts in his mail client; the REPLY reaches the service.
    refused = deliver_lmtp(lmtp, b_token_address,
                           reply_mail(to=b_token_address, attendee="b@example.com", partstat="ACCEPTED"))
    assert refused == {}
    etag_501, body = await a.wait_for(b="ACCEPTED")
    assert etag_501 != etag_500
    assert partstat(body, "b@example.com") == "ACCEPTED"
    assert partstat(body, "c@example.com") == "NEEDS-ACTION"
    status, _, _ = await a.request("PUT", body, {"If-Match": etag_500})
    assert status == 412

    # 9-10: C declines.
    deliver_lmtp(lmtp, c_token_address,
                 reply_mail(to=c_token_address, attendee="c@example.com", partstat="DECLINED"))
    etag_502, body = await a.wait_for(c="DECLINED")
    assert etag_502 != etag_501
    assert partstat(body, "b@example.com") == "ACCEPTED"
    assert partstat(body, "c@example.com") == "DECLINED"

    # 11: A moves the event: 204, SEQUENCE raised, B and C back to
    # NEEDS-ACTION, and each gets a new REQUEST with the new SEQUENCE.
    moved = body.replace("20180710T180000Z", "20180711T180000Z").replace(
        "20180710T200000Z", "20180711T200000Z"
    )
    status, etag_503, _ = await a.request("PUT", moved, {"If-Match": etag_502})
    assert status == 204 and etag_503 != etag_502
    _, body = await a.copy()
    assert "SEQUENCE:1" in body
    assert partstat(body, "b@example.com") == "NEEDS-ACTION"
    assert partstat(body, "c@example.com") == "NEEDS-ACTION"
    second = by_recipient(sink.wait_for(4)[2:])
    assert set(second) == {"b@example.com", "c@example.com"}
    assert all(m.sequence == 1 and m.method == "REQUEST" for m in second.values())

    # A late ACCEPT for SEQUENCE 0 arrives after the move: stale, nothing changes.
    etag, before = await a.wait_for(delivered)
    deliver_lmtp(lmtp, b_token_address, reply_mail(
        to=b_token_address, attendee="b@example.com", partstat="ACCEPTED",
        dtstamp="20180710T150000Z", message_id="<late@client.example>"))
    time.sleep(0.5)
    assert await a.copy() == (etag, before)

    # The operator's view: `event show` tells the whole story.
    shown = event_show(a.server)
    [copy] = shown["copies"]
    assert copy["sequence"] == 1 and copy["etag"] == etag
    answers = {x["address"]: (x["partstat"], x["schedule_status"]) for x in copy["attendees"]}
    assert answers["b@example.com"] == ("NEEDS-ACTION", "1.1")
    story = [(h["direction"], h["method"], h["peer"], h["state"]) for h in shown["history"]]
    assert story == [
        ("sent", "REQUEST", "b@example.com", "sent"),
        ("sent", "REQUEST", "c@example.com", "sent"),
        ("received", "REPLY", "b@example.com", "applied"),
        ("received", "REPLY", "c@example.com", "applied"),
        ("sent", "REQUEST", "b@example.com", "sent"),
        ("sent", "REQUEST", "c@example.com", "sent"),
        ("received", "REPLY", "b@example.com", "refused"),
    ]
    assert "stale" in shown["history"][-1]["reason"]


def event_show(server: ServerThread) -> dict:
    """`caldav-sched event show identifier --json`, as an operator runs it."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    config = Path(server.settings.storage.path).with_name("cli.toml")
    storage = server.settings.storage
    config.write_text(f'[storage]\npath = "{storage.path}"\nurl = "{storage.url}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "caldav_sched", "event", "show", "identifier", "--json",
         "--config", str(config)],
        capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"},
    )
    human = subprocess.run(
        [sys.executable, "-m", "caldav_sched", "event", "show", "identifier", "--config", str(config)],
        capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"},
    )
    assert "iTIP history:" in human.stdout and "b@example.com" in human.stdout
    return json.loads(done.stdout)


async def read_history(server: ServerThread, uid: str = "identifier"):
    from caldav_sched.services import events as event_service

    return server.call(event_service.show_event(server.services, uid))


@pytest.mark.parametrize(
    "case",
    ["forged token", "another attendee", "unknown UID", "replay", "stale", "no calendar"],
)
async def test_replies_that_must_change_nothing(scenario, case):
    a, sink, lmtp = scenario
    mails, _ = await invite(a, sink)
    b_address = mails["b@example.com"].organizer
    accept = reply_mail(to=b_address, attendee="b@example.com", partstat="ACCEPTED")
    if case in ("replay", "stale"):
        deliver_lmtp(lmtp, b_address, accept)
        await a.wait_for(b="ACCEPTED")
    etag, before = await a.copy()

    local, domain = b_address.split("@")
    if case == "forged token":
        forged = "calendar+" + "a" * 32 + "@" + domain
        raw = reply_mail(to=forged, attendee="b@example.com", partstat="DECLINED")
        rcpt, reason = forged, "unknown reply token"
    elif case == "another attendee":
        raw = reply_mail(to=b_address, attendee="c@example.com", partstat="DECLINED")
        rcpt, reason = b_address, "other-attendee"
    elif case == "unknown UID":
        raw = reply_mail(to=b_address, attendee="b@example.com", partstat="DECLINED", uid="other")
        rcpt, reason = b_address, "UID other"
    elif case == "replay":
        raw, rcpt, reason = accept, b_address, "already applied"
    elif case == "stale":
        raw = reply_mail(to=b_address, attendee="b@example.com", partstat="DECLINED",
                         dtstamp="20180710T135000Z", message_id="<older@client.example>")
        rcpt, reason = b_address, "stale"
    else:
        from email.message import EmailMessage

        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "b@example.com", b_address, "Re: Main Event"
        message.set_content("Sounds good, see you there!")
        raw, rcpt, reason = message.as_bytes(policy=email.policy.SMTP), b_address, "no calendar data"

    assert deliver_lmtp(lmtp, rcpt, raw) == {}
    from caldav_sched.services import inbound as inbound_service

    deadline = time.monotonic() + 10
    while True:
        messages = a.server.call(inbound_service.list_messages(a.server.services))
        refusals = [m for m in messages if m.state == "refused"]
        if refusals:
            break
        assert time.monotonic() < deadline, messages
        time.sleep(0.05)
    [refusal] = refusals
    assert reason in refusal.reason, refusal.reason
    assert await a.copy() == (etag, before), "a refused reply changed the organizer's copy"
    if case != "forged token":
        report = await read_history(a.server)
        assert any(h.direction == "in" and h.state == "refused" for h in report.history)

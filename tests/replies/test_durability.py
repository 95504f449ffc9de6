"""A reply the listener acknowledged survives the server being killed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.conftest import PASSWORD, SmtpSink, basic, free_port, smtp_settings
from tests.mail.helpers import by_recipient
from tests.mail.test_durability import future_event, serve, wait_until_serving, write_config
from tests.replies.helpers import deliver_lmtp, reply_mail

ROOT = Path(__file__).resolve().parents[2]


def test_killed_right_after_250_the_reply_is_applied(tmp_path):
    sink = SmtpSink(free_port())
    sink.start()
    lmtp_port = free_port()
    settings = smtp_settings(tmp_path, sink)
    config = write_config(tmp_path, settings)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-m", "caldav_sched", "user", "add", "alice", "--email",
         "alice@example.com", "--password-stdin", "--config", str(config)],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True, cwd=tmp_path, env=env,
    )
    url = f"http://127.0.0.1:{settings.server.port}/home/alice/calendar/event/budget.ics"

    async def http(method: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session:
            async with session.request(
                method, url, data=future_event().encode() if method == "PUT" else None,
                headers={"Authorization": basic("alice"), "Content-Type": "text/calendar"},
            ) as resp:
                return resp.status, (await resp.text()).replace("\r\n ", "")

    first = serve(config, tmp_path)
    try:
        wait_until_serving(settings.server.port, first)
        assert asyncio.run(http("PUT"))[0] == 201
        dan = by_recipient(sink.wait_for(2))["dan@elsewhere.example"]
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=20)

    # A front end that runs no workers: the reply can only be stored, so the
    # kill right after 250 finds it acknowledged and not yet applied.
    front = write_config(
        tmp_path, settings,
        f'workers = 0\n[inbound]\nlmtp_host = "127.0.0.1"\nlmtp_port = {lmtp_port}\n',
        name="front.toml",
    )
    listener = serve(front, tmp_path)
    try:
        wait_until_serving(lmtp_port, listener)
        reply = reply_mail(
            to=dan.organizer, attendee="dan@elsewhere.example", partstat="ACCEPTED",
            uid="future-1", dtstamp="20260102T000000Z",
        )
        assert deliver_lmtp(lmtp_port, dan.organizer, reply) == {}
    finally:
        listener.send_signal(signal.SIGKILL)
        listener.wait(timeout=10)

    second = serve(config, tmp_path)
    try:
        wait_until_serving(settings.server.port, second)
        deadline = time.monotonic() + 15
        while True:
            status, body = asyncio.run(http("GET"))
            if "PARTSTAT=ACCEPTED" in body.split("dan@elsewhere.example")[0].rsplit("ATTENDEE", 1)[-1]:
                break
            assert time.monotonic() < deadline, body
            time.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
        sink.stop()

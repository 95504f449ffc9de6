"""Mail is never lost: SMTP outages are retried, and a killed server resumes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from caldav_sched.cli.main import main as cli
from tests.conftest import PASSWORD, ServerThread, SmtpSink, basic, free_port, smtp_settings
from tests.mail.helpers import by_recipient


def future_event(uid: str = "future-1") -> str:
    year = time.gmtime().tm_year + 1
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:{year}0301T100000Z\r\nDTEND:{year}0301T110000Z\r\nSUMMARY:Budget\r\n"
        "ORGANIZER:mailto:alice@example.com\r\n"
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.com\r\n"
        "ATTENDEE;RSVP=TRUE:mailto:dan@elsewhere.example\r\n"
        "ATTENDEE;RSVP=TRUE:mailto:erin@elsewhere.example\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def write_config(tmp_path: Path, settings, extra: str = "", name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(
        "[server]\n"
        f'host = "127.0.0.1"\nport = {settings.server.port}\n'
        "[storage]\n"
        f'path = "{settings.storage.path}"\n'
        "[mail]\n"
        f'transport = "smtp"\nfrom_address = "{settings.mail.from_address}"\n'
        "[smtp]\n"
        f'host = "127.0.0.1"\nport = {settings.smtp.port}\ntimeout = 5.0\n'
        "[queue]\n"
        "backoff_base = 0.2\nbackoff_max = 1.0\npoll_interval = 0.05\nmax_attempts = 50\n"
        + extra
    )
    return path


def queue_list(config: Path, capsys) -> list[dict]:
    assert cli(["queue", "list", "--json", "--config", str(config)]) == 0
    return json.loads(capsys.readouterr().out)


async def put(url: str, path: str, body: str) -> tuple[int, float]:
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        async with session.put(
            url.rstrip("/") + path,
            data=body.encode(),
            headers={"Authorization": basic("alice"), "Content-Type": "text/calendar"},
        ) as resp:
            return resp.status, time.monotonic() - started


def test_smtp_down_then_back(tmp_path, capsys):
    sink = SmtpSink(free_port())  # not started: the SMTP server is down
    settings = smtp_settings(tmp_path, sink, queue={"max_attempts": 50})
    server = ServerThread(settings)
    server.start()
    server.add_user("alice", "alice@example.com")
    try:
        status, took = asyncio.run(put(server.url, "/home/alice/calendar/event/budget.ics", future_event()))
        assert status == 201
        # The first request also verifies the password (argon2, a few tenths
        # of a second on a busy machine); sending inline would add the SMTP
        # attempts and their backoff on top.
        assert took < 3.0, "the PUT must not wait for SMTP"

        config = write_config(tmp_path, settings)
        deadline = time.monotonic() + 10
        while True:
            jobs = queue_list(config, capsys)
            if len(jobs) == 2 and all(j["state"] == "retrying" for j in jobs):
                break
            assert time.monotonic() < deadline, jobs
            time.sleep(0.1)
        assert all("cannot reach SMTP server" in j["last_error"] for j in jobs)
        assert {j["recipient"] for j in jobs} == {"dan@elsewhere.example", "erin@elsewhere.example"}

        sink.start()
        mails = by_recipient(sink.wait_for(2, timeout=15))
        assert set(mails) == {"dan@elsewhere.example", "erin@elsewhere.example"}
        time.sleep(1.5)
        assert len(sink.received) == 2, "each invitation arrives once"
        assert {j["state"] for j in queue_list(config, capsys)} == {"done"}
    finally:
        server.stop()
        sink.stop()


def wait_until_serving(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else "server exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the server did not start")


def serve(config: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "caldav_sched", "serve", "--config", str(config)],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def test_killed_right_after_201_the_invitations_still_go_out(tmp_path, capsys):
    sink = SmtpSink(free_port())
    settings = smtp_settings(tmp_path, sink, queue={"max_attempts": 50})
    config = write_config(tmp_path, settings)
    add = subprocess.run(
        [sys.executable, "-m", "caldav_sched", "user", "add", "alice", "--email",
         "alice@example.com", "--password-stdin", "--config", str(config)],
        input=PASSWORD + "\n", text=True, capture_output=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert add.returncode == 0, add.stderr
    url = f"http://127.0.0.1:{settings.server.port}/"

    first = serve(config, tmp_path)
    try:
        wait_until_serving(settings.server.port, first)
        status, _ = asyncio.run(put(url, "/home/alice/calendar/event/budget.ics", future_event()))
        assert status == 201
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

    sink.start()
    second = serve(config, tmp_path)
    try:
        wait_until_serving(settings.server.port, second)
        mails = by_recipient(sink.wait_for(2, timeout=20))
        assert set(mails) == {"dan@elsewhere.example", "erin@elsewhere.example"}
        time.sleep(1.0)
        assert len(sink.received) == 2
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)
        sink.stop()


def test_a_refused_recipient_fails_for_good_and_the_organizer_sees_it(tmp_path, smtp_sink, capsys):
    smtp_sink.refuse.add("erin@elsewhere.example")
    settings = smtp_settings(tmp_path, smtp_sink)
    server = ServerThread(settings)
    server.start()
    server.add_user("alice", "alice@example.com")
    path = "/home/alice/calendar/event/budget.ics"
    try:
        status, _ = asyncio.run(put(server.url, path, future_event()))
        assert status == 201
        [mail] = smtp_sink.wait_for(1)
        assert mail.recipients == ["dan@elsewhere.example"]

        config = write_config(tmp_path, settings)
        deadline = time.monotonic() + 10
        while True:
            jobs = {j["recipient"]: j for j in queue_list(config, capsys)}
            if jobs["erin@elsewhere.example"]["state"] == "failed":
                break
            assert time.monotonic() < deadline, jobs
            time.sleep(0.05)
        erin = jobs["erin@elsewhere.example"]
        assert erin["attempts"] == 1, "a 5xx is not retried"
        assert "550" in erin["last_error"]

        async def stored() -> str:
            async with aiohttp.ClientSession() as session:
                async with session.get(
                    server.url.rstrip("/") + path, headers={"Authorization": basic("alice")}
                ) as resp:
                    return (await resp.text()).replace("\r\n ", "")

        deadline = time.monotonic() + 5
        while "SCHEDULE-STATUS=5.1:mailto:erin" not in (text := asyncio.run(stored())):
            assert time.monotonic() < deadline, text
            time.sleep(0.05)
        assert "SCHEDULE-STATUS=1.1:mailto:dan" in text

        assert cli(["queue", "retry", "--failed", "--config", str(config)]) == 0
        assert "1 failed job(s) queued again" in capsys.readouterr().out
    finally:
        server.stop()

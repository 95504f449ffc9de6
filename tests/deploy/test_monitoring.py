"""/healthz and /metrics: what they say, and to whom."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import time
from email.message import EmailMessage

import aiohttp
import pytest

from caldav_sched.config import LogSettings
from caldav_sched.logging_setup import configure_logging
from caldav_sched.services import inbound as inbound_service
from caldav_sched.services import queue_admin
from tests.conftest import ServerThread, SmtpSink, basic, free_port, make_settings, smtp_settings
from tests.mail.test_durability import future_event


def sample(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)$"
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else None


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def put(server: ServerThread, name: str, body: str) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.put(
            server.url + f"home/alice/calendar/event/{name}", data=body.encode(),
            headers={"Authorization": basic("alice"), "Content-Type": "text/calendar"},
        ) as resp:
            return resp.status


def wait_until(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


@pytest.fixture
def smtp_down(tmp_path):
    sink = SmtpSink(free_port())  # not started yet
    server = ServerThread(smtp_settings(tmp_path, sink, queue={"max_attempts": 50}))
    server.start()
    server.add_user("alice", "alice@example.com")
    yield server, sink
    server.stop()
    sink.stop()


def test_health_and_metrics_follow_the_queue(smtp_down):
    server, sink = smtp_down
    base = server.url.rstrip("/")

    status, ctype, body = asyncio.run(get(base + "/healthz"))
    assert status == 200 and ctype.startswith("application/json")
    health = json.loads(body)
    assert health["status"] == "ok" and health["database"] == "ok"
    assert health["queue_depth"] == 0 and health["oldest_pending_age_seconds"] is None

    # Two invitations wait while SMTP is down.
    assert asyncio.run(put(server, "budget.ics", future_event())) == 201
    time.sleep(1.1)
    health = json.loads(asyncio.run(get(base + "/healthz"))[2])
    assert health["queue_depth"] == 2
    assert health["oldest_pending_age_seconds"] >= 1.0
    assert health["jobs"]["retrying"] + health["jobs"]["pending"] + health["jobs"]["running"] == 2

    status, ctype, text = asyncio.run(get(base + "/metrics"))
    assert status == 200 and ctype.startswith("text/plain") and "version=0.0.4" in ctype
    assert sample(text, "caldav_sched_queue_depth") == 2
    assert sample(text, "caldav_sched_queue_oldest_pending_age_seconds") >= 1.0
    assert sample(text, "caldav_sched_database_up") == 1
    # SQLite's page caches are part of the process's memory, and shown apart.
    resident = sample(text, "process_resident_memory_bytes")
    assert 0 < sample(text, "caldav_sched_sqlite_memory_bytes") < resident
    assert sample(text, "caldav_sched_http_requests_total", method="PUT", status="201") == 1
    assert sample(text, "caldav_sched_http_requests_total", method="GET", status="200") == 2
    assert sample(text, "caldav_sched_http_request_duration_seconds_count") == 3
    assert sample(text, "caldav_sched_http_request_duration_seconds_bucket", le="+Inf") == 3
    assert "# TYPE caldav_sched_http_request_duration_seconds histogram" in text
    assert sample(text, "caldav_sched_mails_total", outcome="sent") == 0

    # SMTP comes back: the mails go out and the queue drains.
    sink.start()
    sink.wait_for(2, timeout=15)

    def drained():
        # A mail is counted when SMTP takes it; its job is marked done just after.
        text = asyncio.run(get(base + "/metrics"))[2]
        sent = sample(text, "caldav_sched_mails_total", outcome="sent") == 2
        return text if sent and sample(text, "caldav_sched_queue_depth") == 0 else None

    text = wait_until(drained)
    assert sample(text, "caldav_sched_queue_depth") == 0
    assert sample(text, "caldav_sched_jobs", kind="send_imip", state="done") == 2
    assert sample(text, "caldav_sched_mails_total", outcome="failed") == 0

    # A message that is no reply at all is refused and counted.
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "x@example.com", "calendar@cal.example.com", "hi"
    message.set_content("no calendar here")
    server.call(inbound_service.ingest(server.services, message.as_bytes(), worker="test"))
    text = asyncio.run(get(base + "/metrics"))[2]
    assert sample(text, "caldav_sched_replies_total", outcome="refused") == 1
    assert sample(text, "caldav_sched_replies_total", outcome="applied") == 0
    assert json.loads(asyncio.run(get(base + "/healthz"))[2])["queue_depth"] == 0


def test_an_unreachable_database_is_a_503(tmp_path):
    server = ServerThread(make_settings(tmp_path, queue={"workers": 0}))
    server.start()
    base = server.url.rstrip("/")
    try:
        server.call(server.services.db.close())
        status, _, body = asyncio.run(get(base + "/healthz"))
        assert status == 503
        health = json.loads(body)
        assert health["status"] == "unavailable" and health["database"] == "unreachable"
        status, _, text = asyncio.run(get(base + "/metrics"))
        assert status == 200 and sample(text, "caldav_sched_database_up") == 0
        assert "caldav_sched_queue_depth" not in text
    finally:
        server.stop()


def test_monitoring_is_closed_to_clients_not_listed(tmp_path):
    server = ServerThread(make_settings(tmp_path, server={"monitoring_clients": ["192.0.2.0/24"]}))
    server.start()
    try:
        for path in ("healthz", "metrics"):
            status, _, _ = asyncio.run(get(server.url + path))
            assert status == 403
    finally:
        server.stop()


def test_monitoring_is_served_under_the_base_path_too(tmp_path):
    server = ServerThread(make_settings(tmp_path, server={"base_path": "/caldav"}))
    server.start()
    try:
        root = f"http://127.0.0.1:{server.settings.server.port}"
        for path in ("/healthz", "/caldav/healthz", "/metrics", "/caldav/metrics"):
            assert asyncio.run(get(root + path))[0] == 200, path
    finally:
        server.stop()


def test_json_logs_carry_the_request_fields(tmp_path):
    import io

    stream = io.StringIO()
    handler = configure_logging(LogSettings(format="json"), stream=stream)
    try:
        server = ServerThread(make_settings(tmp_path))
        server.start()
        try:
            asyncio.run(get(server.url + "healthz"))
        finally:
            server.stop()
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [access] = [l for l in lines if l["logger"] == "caldav_sched.access"]
    assert access["level"] == "info"
    assert access["http"]["method"] == "GET" and access["http"]["path"] == "/healthz"
    assert access["http"]["status"] == 200 and access["http"]["client"] == "127.0.0.1"
    assert access["http"]["duration_ms"] >= 0


def test_the_daemon_writes_info_lines_in_batches_and_warnings_at_once(monkeypatch):
    import io

    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    handler = configure_logging(LogSettings(), batch_seconds=0.2)
    log = logging.getLogger("caldav_sched.access")
    try:
        log.info("GET /one 200")
        log.info("GET /two 200")
        assert stream.getvalue() == ""  # kept for the next batch
        logging.getLogger("caldav_sched").warning("SMTP refused")
        lines = stream.getvalue().splitlines()
        assert [line.split(": ", 1)[1] for line in lines] == [
            "GET /one 200", "GET /two 200", "SMTP refused",
        ]
        log.info("GET /three 200")
        deadline = time.monotonic() + 5
        while "GET /three" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "GET /three 200" in stream.getvalue()  # written within the batch time
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def test_text_log_lines_read_as_python_logging_writes_them():
    from caldav_sched.logging_setup import TEXT_FORMAT, TextFormatter

    ours, standard = TextFormatter(), logging.Formatter(TEXT_FORMAT)
    for created in (1_700_000_000.0421, 1_700_000_000.9999, 1_700_000_001.5):
        record = logging.LogRecord("caldav_sched.access", logging.INFO, __file__, 1,
                                   "GET %s %d", ("/x.ics", 200), None)
        record.created, record.msecs = created, (created - int(created)) * 1000
        assert ours.format(record) == standard.format(record)

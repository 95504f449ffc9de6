"""Mutated bodies and headers on every request path: never a 5xx, nothing lost.

One storm per line of ``strategies.HTTP_TARGETS``.  Before the storm a few
objects are stored; each case must answer below 500 without logging an error
or a traceback; a refused PUT changes nothing; after the storm the queue
drains (the storm's invitations are rendered and sent without an error),
the server still answers and every object stored before it reads back
octet for octet.
"""

from __future__ import annotations

import http.client
import itertools
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caldav_sched.store import itip as itip_store
from caldav_sched.store import jobs as job_store
from caldav_sched.store import users as user_store
from tests.conftest import ServerThread, USERS, basic, make_settings
from tests.fuzz.strategies import (
    CAL,
    EVENT,
    HTTP_TARGETS,
    ODD_HEADERS,
    RECURRING_WITH_OVERRIDES,
    TASK,
    WITH_ATTENDEES,
    HttpTarget,
    case,
    storm_settings,
)

STORED = {
    CAL + "stored-1.ics": EVENT.replace("fuzz-event", "stored-1").encode(),
    CAL + "stored-2.ics": RECURRING_WITH_OVERRIDES.replace("fuzz-series", "stored-2").encode(),
    CAL + "stored-3.ics": WITH_ATTENDEES.replace("fuzz-meeting", "stored-3").encode(),
    "/home/alice/calendar/tasks/stored-4.ics": TASK.replace("fuzz-task", "stored-4").encode(),
}


_SCHEDULE_STATUS = re.compile(rb";SCHEDULE-STATUS=[^;:]*")


def content(body: bytes) -> bytes:
    """An object's text apart from what delivery changes behind the client's back.

    The queue's workers move each attendee's SCHEDULE-STATUS on while the
    storm runs; nothing else of a stored object may change on a refusal.
    """
    return _SCHEDULE_STATUS.sub(b"", body.replace(b"\r\n ", b""))


async def _unfinished_jobs(services) -> int:
    counts = await job_store.count_by_state(services.db.reader())
    return sum(counts.get(state, 0) for state in ("pending", "running", "retrying"))


async def _token_of(services, uid: str, attendee: str) -> str:
    reader = services.db.reader()
    user = await user_store.get_user(reader, "alice")
    row = await itip_store.token_for(reader, user.id, uid, attendee)
    assert row is not None
    return row.token


def drain(server: ServerThread) -> None:
    deadline = time.monotonic() + 60
    while server.call(_unfinished_jobs(server.services)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.call(_unfinished_jobs(server.services)) == 0, "the queue did not drain"


class Client:
    """A plain HTTP/1.1 client that sends bytes exactly as given."""

    def __init__(self, server: ServerThread) -> None:
        self.host, self.port = server.settings.server.host, server.settings.server.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def send(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        all_headers: dict[str, str | bytes] = {"Authorization": basic("alice")}
        for name, value in (headers or {}).items():
            if "\r" in value or "\n" in value:
                continue  # it would end the header: no client can send it as one value
            all_headers[name] = value.encode("utf-8", "surrogatepass")
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=all_headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server may close a connection after an error answer; one more try.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def storm_server(tmp_path):
    server = ServerThread(make_settings(
        tmp_path,
        mail={"from_address": "calendar@cal.example.com"},
        queue={"poll_interval": 0.05, "workers": 1},
    ))
    server.start()
    for name, email in USERS.items():
        server.add_user(name, email)
    client = Client(server)
    status, _ = client.send("MKCALENDAR", "/home/alice/calendar/tasks/")
    assert status == 201
    status, _ = client.send("MKCALENDAR", "/home/alice/calendar/fuzzed/")
    assert status == 201
    for path, body in STORED.items():
        status, answer = client.send("PUT", path, body, {"Content-Type": "text/calendar"})
        assert status == 201, answer
    status, _ = client.send("PUT", CAL + "target.ics", STORED[CAL + "stored-1.ics"].replace(
        b"stored-1", b"target"), {"Content-Type": "text/calendar"})
    assert status == 201
    drain(server)  # the stored meeting's invitations go out before its bytes are taken
    stored = {path: client.send("GET", path)[1] for path in STORED}
    yield server, client, stored
    client.close()
    server.stop()


def run_storm(storm_server, log_watch, target: HttpTarget) -> None:
    server, client, stored = storm_server
    names = itertools.count()
    token = server.call(_token_of(server.services, "stored-3", "mailto:dana@elsewhere.example"))
    target_now = {"body": client.send("GET", CAL + "target.ics")[1]}
    log_watch.take()  # what setting up logged is not the storm's

    header_cases = (
        target.header_cases if target.header_cases is not None
        else st.one_of(st.just({}), ODD_HEADERS)
    )

    @storm_settings(target.share)
    @given(body=case(target.seeds, target.mutation), odd_headers=header_cases)
    def one_case(body: bytes, odd_headers: dict[str, str]) -> None:
        n = next(names)
        path = target.path.format(n=n, token=token)
        headers = {**target.headers, **{k: v.replace("{n}", str(n)) for k, v in odd_headers.items()}}
        if target.method == "MOVE":
            # Something of its own to move: the objects stored before the storm stay put.
            assert client.send("PUT", path, STORED[CAL + "stored-1.ics"].replace(
                b"stored-1", f"movable-{n}".encode()), {"Content-Type": "text/calendar"})[0] == 201
        status, answer = client.send(target.method, path, body, headers)
        assert status < 500 or status in target.answers_5xx, (status, answer[:500])
        assert log_watch.take() == []
        if target.method == "PUT":
            after = client.send("GET", path)
            if status >= 400:
                # Refused: nothing changed.
                if path == CAL + "target.ics":
                    assert after[0] == 200 and content(after[1]) == content(target_now["body"])
                else:
                    assert after[0] == 404
            elif path == CAL + "target.ics":
                target_now["body"] = after[1]

    one_case()
    drain(server)  # the storm's invitations: rendered and sent without an error
    assert client.send("OPTIONS", "/")[0] == 200, "the server no longer answers"
    for path, body in stored.items():
        assert client.send("GET", path) == (200, body), f"{path} changed in the storm"
    assert log_watch.take() == []


@pytest.mark.parametrize("target", HTTP_TARGETS, ids=[t.name for t in HTTP_TARGETS])
def test_storm(storm_server, log_watch, target):
    run_storm(storm_server, log_watch, target)

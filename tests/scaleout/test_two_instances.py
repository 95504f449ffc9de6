"""Two ``serve`` instances on one PostgreSQL database, as two machines behind a proxy run.

Each instance is a real ``caldav-sched serve`` process on a port of its own;
both share the database and send mail to one real SMTP sink.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import PASSWORD, SmtpSink, basic
from tests.postgres import Cluster, needs_postgresql
from tests.scaleout.instances import Instance

pytestmark = needs_postgresql

CAL = "home/alice/calendar/event/"
AUTH = {"Authorization": basic("alice")}


def event(uid: str, *, attendee: str | None = None, summary: str = "Planning") -> str:
    year = time.gmtime().tm_year + 1
    people = (
        f"ORGANIZER:mailto:alice@example.com\r\nATTENDEE;RSVP=TRUE:mailto:{attendee}\r\n"
        if attendee else ""
    )
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//two//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{year}0301T100000Z\r\n"
        f"DURATION:PT1H\r\nSUMMARY:{summary}\r\n{people}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.fixture
def pair(tmp_path: Path, postgres_cluster: Cluster, smtp_sink: SmtpSink) -> Iterator[tuple[Instance, Instance]]:
    url = postgres_cluster.new_database()
    first = Instance(tmp_path / "a", url, smtp_sink)
    second = Instance(tmp_path / "b", url, smtp_sink)
    first.cli("user", "add", "alice", "--email", "alice@example.com", "--password-stdin",
              stdin=PASSWORD + "\n")
    first.start()
    second.start()
    yield first, second
    first.stop()
    second.stop()


async def put(session: aiohttp.ClientSession, instance: Instance, name: str, body: str) -> tuple[int, str]:
    async with session.put(
        instance.base + CAL + name, data=body.encode(),
        headers={**AUTH, "Content-Type": "text/calendar"},
    ) as response:
        await response.read()
        return response.status, response.headers.get("ETag", "")


SYNC = (
    '<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:">'
    "<D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>"
    "<D:prop><D:getetag/></D:prop></D:sync-collection>"
)


async def sync(session: aiohttp.ClientSession, instance: Instance, token: str = "") -> tuple[dict[str, str], str]:
    """The changes since *token* (href -> ETag) and the new token."""
    async with session.request(
        "REPORT", instance.base + CAL, data=SYNC.format(token=token),
        headers={**AUTH, "Content-Type": "application/xml", "Depth": "1"},
    ) as response:
        assert response.status == 207, await response.text()
        text = await response.text()
    changes = dict(re.findall(
        r"<D:href>([^<]+\.ics)</D:href>.*?<D:getetag>([^<]+)</D:getetag>", text, re.S
    ))
    [new_token] = re.findall(r"<D:sync-token>([^<]+)</D:sync-token>", text)
    return changes, new_token


async def test_a_write_on_one_is_served_with_its_new_etag_by_the_other_at_once(pair):
    first, second = pair
    async with aiohttp.ClientSession() as session:
        status, etag = await put(session, first, "a.ics", event("a"))
        assert status == 201
        async with session.get(second.base + CAL + "a.ics", headers=AUTH) as response:
            assert response.status == 200
            assert response.headers["ETag"] == etag
        status, changed = await put(session, second, "a.ics", event("a", summary="Moved"))
        assert status == 204 and changed != etag
        async with session.get(first.base + CAL + "a.ics", headers=AUTH) as response:
            assert response.headers["ETag"] == changed
            assert b"SUMMARY:Moved" in await response.read()


async def test_sync_tokens_from_either_instance_give_the_same_changes(pair):
    first, second = pair
    async with aiohttp.ClientSession() as session:
        _, start = await sync(session, first)
        # Concurrent writers on both instances, into one calendar.
        results = await asyncio.gather(*(
            put(session, (first, second)[i % 2], f"e{i}.ics", event(f"e{i}"))
            for i in range(60)
        ))
        assert all(status == 201 for status, _ in results)
        from_first, token_first = await sync(session, first, start)
        from_second, token_second = await sync(session, second, start)
        assert from_first == from_second
        assert len(from_first) == 60
        assert token_first == token_second
        # A token handed out by one instance is understood by the other.
        assert (await sync(session, second, token_first))[0] == {}
        status, etag = await put(session, first, "e0.ics", event("e0", summary="Later"))
        later, _ = await sync(session, second, token_first)
        assert later == {f"/{CAL}e0.ics": etag}


async def burst(instances: tuple[Instance, ...], count: int, *, kill_at: int | None = None,
                victim: Instance | None = None) -> dict[str, int]:
    """PUT *count* events with one outside attendee each, spread over the instances."""
    statuses: dict[str, int] = {}
    sent = 0

    async def one(session: aiohttp.ClientSession, i: int) -> None:
        nonlocal sent
        target = instances[i % len(instances)]
        try:
            status, _ = await put(session, target, f"b{i}.ics", event(f"b{i}", attendee=f"guest{i}@elsewhere.example"))
        except aiohttp.ClientError:
            return
        statuses[f"b{i}"] = status
        sent += 1
        if kill_at is not None and sent == kill_at and victim is not None and victim.process:
            victim.process.send_signal(signal.SIGKILL)
            # Reaped, as its service manager does: a worker on this host sees
            # it gone.  (Across machines its jobs' leases run out instead:
            # tests/queue, test_an_expired_lease_is_taken_up_again.)
            victim.process.wait()

    connector = aiohttp.TCPConnector(limit=16)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(one(session, i) for i in range(count)))
    return statuses


def invitations(sink: SmtpSink) -> Counter[str]:
    return Counter(r.message["Message-ID"] for r in sink.received)


def wait_for_invitations(sink: SmtpSink, uids: set[str], timeout: float) -> dict[str, set[str]]:
    """Message-IDs per UID, once every UID has had its invitation."""
    deadline = time.monotonic() + timeout
    while True:
        by_uid: dict[str, set[str]] = {}
        for received in list(sink.received):
            for part in received.message.walk():
                if part.get_content_type() == "text/calendar":
                    found = re.search(r"UID:(\S+)", part.get_content())
                    if found:
                        by_uid.setdefault(found.group(1), set()).add(received.message["Message-ID"])
                    break
        if uids <= set(by_uid) or time.monotonic() > deadline:
            return by_uid
        time.sleep(0.2)


async def test_a_burst_over_both_sends_every_invitation_exactly_once(pair, smtp_sink):
    first, second = pair
    statuses = await burst((first, second), 1000)
    assert set(statuses.values()) == {201}
    by_uid = wait_for_invitations(smtp_sink, set(statuses), timeout=240)
    assert set(by_uid) == set(statuses)
    assert all(len(ids) == 1 for ids in by_uid.values())
    # Exactly once: one message per invitation, none sent twice.
    time.sleep(1.0)
    assert sorted(invitations(smtp_sink).values()) == [1] * 1000


async def test_kill_9_of_one_instance_mid_burst_loses_nothing(pair, smtp_sink):
    first, second = pair
    statuses = await burst((first, second), 300, kill_at=100, victim=first)
    acknowledged = {uid for uid, status in statuses.items() if status == 201}
    assert len(acknowledged) >= 100
    # Every acknowledged event is stored, and served by the survivor.
    async with aiohttp.ClientSession() as session:
        changes, _ = await sync(session, second)
    stored = {href.rsplit("/", 1)[1].removesuffix(".ics") for href in changes}
    assert acknowledged <= stored
    # The survivor sends every invitation, the killed instance's claimed jobs
    # included; a message sent just before the kill may go out again, with
    # the same Message-ID (so the recipient's mail system sees one).
    by_uid = wait_for_invitations(smtp_sink, stored, timeout=240)
    assert stored <= set(by_uid)
    assert all(len(ids) == 1 for ids in by_uid.values())
    # The jobs the killed instance held go back (its process is gone) and
    # are finished: the queue drains.
    deadline = time.monotonic() + 60
    while True:
        states = {job["state"] for job in json.loads(second.cli("queue", "list", "--json"))}
        if states <= {"done"} or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert states <= {"done"}

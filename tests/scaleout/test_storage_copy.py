"""`caldav-sched storage copy`: a populated SQLite installation into PostgreSQL and back.

Clients keep syncing without a full reload: the ETags, the change log and so
every sync token a client holds carry over.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import psycopg
import pytest

from caldav_sched.cli.main import main as cli
from tests.conftest import USERS, ServerThread, basic, make_settings
from tests.postgres import Cluster, needs_postgresql
from tests.scaleout.test_two_instances import SYNC, event

pytestmark = needs_postgresql

CAL = "home/alice/calendar/event/"
AUTH = {"Authorization": basic("alice")}


async def sync(base: str, token: str = "") -> tuple[str, str]:
    async with aiohttp.ClientSession() as session:
        async with session.request(
            "REPORT", base + CAL, data=SYNC.format(token=token),
            headers={**AUTH, "Content-Type": "application/xml", "Depth": "1"},
        ) as response:
            assert response.status == 207
            text = await response.text()
    [new_token] = re.findall(r"<D:sync-token>([^<]+)</D:sync-token>", text)
    return re.sub(r"<D:sync-token>[^<]+</D:sync-token>", "", text), new_token


async def request(method: str, url: str, body: str | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.request(
            method, url, data=body.encode() if body else None,
            headers={**AUTH, "Content-Type": "text/calendar"},
        ) as response:
            await response.read()
            return response.status, response.headers.get("ETag", "")


def config_file(tmp_path: Path, name: str, **storage: str) -> str:
    lines = "".join(f'{key} = "{value}"\n' for key, value in storage.items())
    path = tmp_path / name
    path.write_text(f"[storage]\n{lines}")
    return str(path)


async def test_a_clients_old_sync_token_still_works_against_the_postgresql_copy(
    tmp_path, postgres_cluster: Cluster, capsys, monkeypatch
):
    monkeypatch.setattr("caldav_sched.store.copy.BATCH", 2)  # every table in several batches
    settings = make_settings(tmp_path)
    sqlite = ServerThread(settings)
    sqlite.start()
    for name, email in USERS.items():
        sqlite.add_user(name, email)
    for i in range(5):
        await request("PUT", sqlite.url + CAL + f"e{i}.ics", event(f"e{i}"))
    await request("PUT", sqlite.url + CAL + "invite.ics", event("invite", attendee="guest@elsewhere.example"))
    _, old_token = await sync(sqlite.url)
    await request("PUT", sqlite.url + CAL + "e1.ics", event("e1", summary="Changed"))
    await request("DELETE", sqlite.url + CAL + "e2.ics")
    await request("PUT", sqlite.url + CAL + "new.ics", event("new"))
    changes_on_sqlite, token_on_sqlite = await sync(sqlite.url, old_token)
    _, etag = await request("HEAD", sqlite.url + CAL + "e1.ics")
    sqlite.stop()

    url = postgres_cluster.new_database(migrated=False)
    source = config_file(tmp_path, "sqlite.toml", path=settings.storage.path)
    assert await asyncio.to_thread(cli, ["storage", "copy", "--to", url, "--config", source]) == 0
    said = capsys.readouterr().out
    assert "copied" in said and "3 users" in said
    # The copy leaves the planner statistics of the tables it filled.
    with psycopg.connect(url) as pg:
        (unanalyzed,) = pg.execute(
            "SELECT count(*) FROM pg_stat_user_tables"
            " WHERE relname IN ('objects', 'changes', 'object_instances') AND last_analyze IS NULL"
        ).fetchone()
    assert unanalyzed == 0

    copied = ServerThread(dataclasses.replace(
        settings, storage=dataclasses.replace(settings.storage, url=url)
    ))
    copied.start()
    try:
        changes_on_postgresql, token_on_postgresql = await sync(copied.url, old_token)
        assert changes_on_postgresql == changes_on_sqlite
        assert token_on_postgresql == token_on_sqlite
        assert (await request("HEAD", copied.url + CAL + "e1.ics"))[1] == etag
        # New writes continue the sequences (ids, modification sequences).
        assert (await request("PUT", copied.url + CAL + "after.ics", event("after")))[0] == 201
        changes, _ = await sync(copied.url, token_on_sqlite)
        assert "after.ics" in changes and "e1.ics" not in changes
    finally:
        copied.stop()

    # Never into a database that holds an installation.
    assert await asyncio.to_thread(cli, ["storage", "copy", "--to", url, "--config", source]) == 1
    assert "not empty" in capsys.readouterr().err

    # And back: PostgreSQL into a new SQLite file.
    back = tmp_path / "back.sqlite3"
    from_postgresql = config_file(tmp_path, "pg.toml", url=url)
    assert await asyncio.to_thread(cli, ["storage", "copy", "--to", str(back), "--config", from_postgresql, "--json"]) == 0
    assert '"users": 3' in capsys.readouterr().out
    returned = ServerThread(dataclasses.replace(
        settings, storage=dataclasses.replace(settings.storage, path=str(back))
    ))
    returned.start()
    try:
        changes, _ = await sync(returned.url, old_token)
        assert "after.ics" in changes
    finally:
        returned.stop()


QUERY = (
    '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    '<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
    '<C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/>'
    "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
)


async def found(base: str, start: str, end: str) -> set[str]:
    async with aiohttp.ClientSession() as session:
        async with session.request(
            "REPORT", base + CAL, data=QUERY.format(start=start, end=end),
            headers={**AUTH, "Content-Type": "application/xml", "Depth": "1"},
        ) as response:
            assert response.status == 207
            text = await response.text()
    return set(re.findall(r"/([^/<]+\.ics)</D:href>", text))


def index_rows(server: ServerThread) -> list[tuple]:
    """Each object's span and how far its rows answer, and its rows of the time table."""
    rows = server.call(server.services.db.reader().execute_fetchall(
        "SELECT o.name, o.span_start, o.span_end, o.indexed_until, i.is_long, i.starts_at, i.ends_at,"
        " i.fbtype, i.code, i.wall_first, i.wall_second"
        " FROM objects o LEFT JOIN object_instances i ON i.object_id = o.id"
        " ORDER BY o.name, i.starts_at, i.ends_at"))
    return [tuple(row) for row in rows]


def calendar(uid: str, *lines: str) -> str:
    inner = "\r\n".join((f"UID:{uid}", "DTSTAMP:20260101T000000Z", *lines))
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n{inner}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"


async def test_the_copy_keeps_the_time_index_and_where_imap_mail_came_from(
    tmp_path, postgres_cluster: Cluster
):
    from caldav_sched.services import inbound as inbound_service
    from caldav_sched.services.errors import AlreadyStored
    from tests.imap.helpers import newsletter

    settings = make_settings(tmp_path)
    sqlite = ServerThread(settings)
    sqlite.start()
    sqlite.add_user("alice", USERS["alice"])
    year = 2027
    await request("PUT", sqlite.url + CAL + "weekly.ics", calendar(
        "weekly", f"DTSTART:{year}0104T090000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY",
        f"EXDATE:{year}0111T090000Z"))
    await request("PUT", sqlite.url + CAL + "holiday.ics", calendar(
        "holiday", f"DTSTART;VALUE=DATE:{year}0615", "RRULE:FREQ=YEARLY"))
    await request("PUT", sqlite.url + CAL + "lunch.ics", calendar(
        "lunch", f"DTSTART:{year}0301T120000", "DURATION:PT1H"))  # floating
    ranges = [
        (f"{year}0104T000000Z", f"{year}0105T000000Z"), (f"{year}0111T000000Z", f"{year}0112T000000Z"),
        (f"{year}0615T120000Z", f"{year}0615T130000Z"), (f"{year + 1}0615T000000Z", f"{year + 1}0616T000000Z"),
        (f"{year}0301T115959Z", f"{year}0301T120001Z"), (f"{year}0302T000000Z", f"{year}0303T000000Z"),
    ]
    answers = [await found(sqlite.url, start, end) for start, end in ranges]
    assert answers[0] == {"weekly.ics"} and answers[1] == set()  # the index really decides
    origin = "u@imap.example/INBOX;7:1"
    sqlite.call(inbound_service.receive(
        sqlite.services, newsletter(1), via="imap", envelope_from=None, envelope_to=[], origin=origin))
    before = index_rows(sqlite)
    sqlite.stop()

    url = postgres_cluster.new_database(migrated=False)
    source = config_file(tmp_path, "sqlite.toml", path=settings.storage.path)
    assert await asyncio.to_thread(cli, ["storage", "copy", "--to", url, "--config", source]) == 0
    copied = ServerThread(dataclasses.replace(
        settings, storage=dataclasses.replace(settings.storage, url=url)
    ))
    copied.start()
    try:
        assert index_rows(copied) == before
        assert [await found(copied.url, start, end) for start, end in ranges] == answers
        with pytest.raises(AlreadyStored):
            copied.call(inbound_service.receive(
                copied.services, newsletter(1), via="imap", envelope_from=None,
                envelope_to=[], origin=origin))
    finally:
        copied.stop()


def test_the_copy_shows_its_progress_on_a_terminal(tmp_path, postgres_cluster: Cluster):
    source = config_file(tmp_path, "sqlite.toml", path=str(tmp_path / "db.sqlite3"))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for name, email in USERS.items():
        subprocess.run(
            [sys.executable, "-m", "caldav_sched", "user", "add", name, "--email", email,
             "--password-stdin", "--config", source],
            input="a long enough password\n", text=True, env=env, check=True, capture_output=True,
        )
    url = postgres_cluster.new_database(migrated=False)
    terminal, attached = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-m", "caldav_sched", "storage", "copy", "--to", url, "--config", source],
        stderr=attached, stdout=subprocess.PIPE, env=env, timeout=60,
    )
    os.close(attached)
    shown = b""
    while True:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the other end is closed and everything read
            break
        if not chunk:
            break
        shown += chunk
    os.close(terminal)
    assert done.returncode == 0
    assert b"\rusers: 3/3" in shown and b"\rcollections: " in shown  # one line per table, rewritten
    assert b"copied" in done.stdout and b"3 users" in done.stdout

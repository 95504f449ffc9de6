"""`caldav-sched storage copy`: a populated SQLite installation into PostgreSQL and back.

Clients keep syncing without a full reload: the ETags, the change log and so
every sync token a client holds carry over.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

import aiohttp
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
    tmp_path, postgres_cluster: Cluster, capsys
):
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

"""The time table answers through the store's own SQL as a full parse does.

``test_time_index`` checks the rows an object makes against a parse, with
the store's scan written out in Python; here the rows go into a real
database (SQLite and PostgreSQL) and come back through the store's
queries, for random objects, random ranges and several calendar zones; the
listing's read (``listed_in_window_blocking``) finds the same objects.
"""

from __future__ import annotations

import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caldav_sched.domain import time_index as index
from caldav_sched.domain.freebusy import busy_periods
from caldav_sched.store import collections as collection_store
from caldav_sched.store import objects as object_store
from caldav_sched.store import users as user_store
from caldav_sched.store.db import Database, in_thread
from tests.conftest import BACKENDS
from tests.query._query_helpers import BERLIN_VTIMEZONE, cal
from tests.query.test_time_index import NOW, QUERY_ZONES, parse_says, ranges, resources

CREATED = "2026-12-07T06:00:00+00:00"
_names = itertools.count()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def calendar_in(db: Database) -> int:
    async with db.transaction() as conn:
        user = await user_store.insert_user(
            conn, name="alice", email="alice@example.com", password_hash="x", created_at=CREATED
        )
        return await collection_store.insert_collection(
            conn, owner_id=user.id, path="calendar", kind="calendar", created_at=CREATED
        )


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data(), zone=st.sampled_from(QUERY_ZONES))
async def test_the_store_answers_as_a_full_parse_does(db: Database, data: st.DataObject, zone: str | None) -> None:
    kind, blocks, near = data.draw(resources(), label="resource")
    rng = data.draw(ranges(near), label="range")
    tz = ZoneInfo(zone) if zone else None
    resource = cal(blocks, timezones=BERLIN_VTIMEZONE if "Europe/Berlin" in blocks else "")
    rows = await db.reader().execute_fetchall("SELECT id FROM collections")
    collection_id = rows[0][0] if rows else await calendar_in(db)
    name = f"{next(_names)}.ics"
    stored = index.time_index(resource, NOW, until=rng.end)
    await db.write(lambda raw: object_store.write_object_blocking(
        raw, collection_id=collection_id, name=name, uid=name, component=kind, etag=f'"{name}"',
        data=resource.to_ical(), index=stored, modified_at=CREATED,
    ))

    def zone_less_test(code: int, first: int, second: int) -> bool:
        return index.zone_less_in_range(code, first, second, rng, tz)

    decided, undecided = await in_thread(
        db.reader(), object_store.objects_in_window_blocking, collection_id, kind,
        index.window(rng), zone_less_test, index.until_needed(rng), with_data=False,
    )
    # A listing reads the same objects, as name, ETag, size and date only.
    listed, listed_undecided = await in_thread(
        db.reader(), object_store.listed_in_window_blocking, collection_id, kind,
        index.window(rng), zone_less_test, index.until_needed(rng),
    )
    assert sorted(listed) == sorted(object_store.listed(row) for row in decided)
    assert listed_undecided == undecided
    mine_decided = [row for row in decided if row.name == name]
    mine_undecided = [row for row in undecided if row.name == name]
    expected = parse_says(resource, kind, rng, tz)
    if stored.until == index.NOT_INDEXED or not index.decides(stored.until, stored.since, rng):
        # A row in the range is an instance in it, however far the rows go;
        # an object without one is handed to the parser, so none is lost.
        assert not (mine_decided and mine_undecided)
        assert expected or not mine_decided
        assert not expected or mine_decided or mine_undecided
        return
    assert not mine_undecided
    assert bool(mine_decided) == expected
    if kind == "VEVENT" and rng.start is not None and rng.end is not None:
        found = await in_thread(
            db.reader(), object_store.busy_rows_blocking, collection_id, index.window(rng),
            index.until_needed(rng),
        )
        # Only this object's rows: the others are earlier examples' objects.
        mine = await db.reader().execute_fetchall(
            "SELECT starts_at, ends_at, fbtype, code, wall_first, wall_second FROM object_instances i"
            " JOIN objects o ON o.id = i.object_id WHERE o.name = ?", (name,))
        zoned = {(row[0], row[1], row[2]) for row in mine if row[3] is None}
        zone_less = {(row[3], row[4], row[5]) for row in mine if row[3] is not None}
        busy = index.busy_from_rows(
            [row for row in found.zoned if row in zoned], [row for row in found.zone_less if row in zone_less],
            rng, tz,
        )
        assert busy == busy_periods([resource], rng, tz=tz)

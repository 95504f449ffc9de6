"""Time-range lookups answered from the time table, which they keep up to date.

A calendar-query with a time-range, a free-busy-query and the outbox's
free-busy lookup all start here: the store reads the instances in the range
from the time table (``domain.time_index`` makes the rows), so the answer
costs what the range holds, not what the calendar holds.  An object with a
row in the range is in it.  One without, whose rows cannot answer (written
before the table existed, a series without end asked about beyond its
horizon, a long series before its lower limit) is parsed, and its rows are
computed again from the parsed object, as far as the query asked, and
stored: the next query there finds it answered, as CalendarServer extends
its expansion window.  After an upgrade that (re)builds the table, every
object is indexed in the background (:func:`catch_up`), a few at a time.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone, tzinfo
from typing import NamedTuple

from icalendar import Calendar

from caldav_sched.domain import time_index as index
from caldav_sched.domain.freebusy import BusyPeriod, busy_periods, coalesce
from caldav_sched.domain.ical import parse_calendar
from caldav_sched.domain.query import TimeRange
from caldav_sched.services import Services, leases
from caldav_sched.store import objects as object_store
from caldav_sched.store.db import in_thread
from caldav_sched.store.objects import Listed, ObjectRow

log = logging.getLogger("caldav_sched.time_table")

#: Objects parsed and indexed per write when the table catches up: a few
#: milliseconds of the event loop at a time, so requests pass in between.
CATCH_UP_BATCH = 20
#: How often the server looks for series whose rows run out soon, and how
#: soon: a series kept to a horizon is kept further once less than this is
#: left, so that the views people open are answered from rows.
KEEP_AHEAD_EVERY = 3600.0
KEEP_AHEAD_MARGIN = timedelta(days=60)
#: The lease that lets one process of several on a database do it.
KEEP_AHEAD_LEASE = "time table"


class InRange(NamedTuple):
    """The objects of a time-range: those the table puts in it, and those it had to parse."""

    decided: list[ObjectRow]
    parsed: list[tuple[ObjectRow, Calendar]]


class Listing(NamedTuple):
    """``InRange`` of a listing: the objects the table puts in the range, as
    ``Listed``, and those it had to parse."""

    listed: list[Listed]
    parsed: list[tuple[ObjectRow, Calendar]]


async def in_range(
    services: Services,
    collection_id: int,
    *,
    component: str,
    rng: TimeRange,
    tz: tzinfo | None,
    with_data: bool,
) -> InRange:
    """The objects of ``component`` with an instance in ``rng`` (RFC 4791 9.9).

    ``decided`` rows are known to match (with their data when
    ``with_data``); ``parsed`` ones could not be answered from the table
    and come parsed, for the caller's exact check.
    """
    decided, undecided = await in_thread(
        services.db.reader(),
        object_store.objects_in_window_blocking,
        collection_id,
        component,
        index.window(rng),
        index.zone_less_test(rng, tz),
        index.until_needed(rng),
        with_data=with_data,
    )
    return InRange(decided, await _parse_and_refresh(services, undecided, rng))


async def listed_in_range(
    services: Services,
    collection_id: int,
    *,
    component: str,
    rng: TimeRange,
    tz: tzinfo | None,
) -> Listing:
    """``in_range`` for a listing of simple properties: the decided objects
    as ``Listed`` (name, ETag, size, date, id), read without their rows."""
    listed, undecided = await in_thread(
        services.db.reader(),
        object_store.listed_in_window_blocking,
        collection_id,
        component,
        index.window(rng),
        index.zone_less_test(rng, tz),
        index.until_needed(rng),
    )
    return Listing(listed, await _parse_and_refresh(services, undecided, rng))


async def busy_in_range(
    services: Services, collection_id: int, rng: TimeRange, tz: tzinfo | None
) -> list[BusyPeriod]:
    """Busy time of one calendar within ``rng`` (RFC 4791 7.10), coalesced.

    VEVENT instances come from the time table; VFREEBUSY objects, which a
    calendar rarely holds, are parsed for their periods.
    """
    window = index.window(rng)
    reader = services.db.reader()
    found = await in_thread(
        reader, object_store.busy_rows_blocking, collection_id, window, index.until_needed(rng)
    )
    periods = index.busy_from_rows(found.zoned, found.zone_less, rng, tz)
    parsed = await _parse_and_refresh(services, found.undecided, rng)
    freebusy = await object_store.objects_in_span(
        reader, collection_id, component="VFREEBUSY", start=window.start, end=window.end
    )
    parsed += [(row, parse_calendar(row.data or b"")) for row in freebusy]
    if parsed:
        periods = coalesce(periods + busy_periods([cal for _, cal in parsed], rng, tz=tz))
    return periods


async def _parse_and_refresh(
    services: Services, rows: list[ObjectRow], rng: TimeRange
) -> list[tuple[ObjectRow, Calendar]]:
    """Parse rows the table could not answer; store the rows they should have."""
    parsed = [(row, parse_calendar(row.data or b"")) for row in rows]
    if not parsed:
        return parsed
    now = services.clock.now()
    updates = []
    for row, cal in parsed:
        fresh = _kept_further(row, cal, rng, now)
        if fresh is not None:
            updates.append((row.id, row.etag, fresh))
    if updates:
        await services.db.write(
            lambda raw: object_store.store_time_indexes_blocking(raw, updates)
        )
    return parsed


def _kept_further(
    row: ObjectRow, cal: Calendar, rng: TimeRange, now: datetime
) -> index.TimeIndex | None:
    """The rows ``row`` should have after a query over ``rng`` parsed it, or None to keep its own.

    An object from before the table is always brought up to date (even as
    NOT_INDEXED, so that it is not tried again); a series kept to a horizon
    or from a lower limit only when the query reaches past them and the
    series can be kept that far.  Neither bound ever moves in.
    """
    until, since = row.indexed_until, row.indexed_from
    # A series asked about past its horizon is kept a horizon past the
    # query, so that paging on through the months does not parse it again.
    ahead = None if rng.end is None else rng.end + index.HORIZON
    if until is None:
        return index.time_index(cal, now, until=ahead, since=rng.start)
    if until == index.NOT_INDEXED:
        return None
    later = rng.end is not None and until < rng.end.timestamp()
    earlier = since is not None and (rng.start is None or rng.start.timestamp() < since)
    if not (later or earlier):
        return None
    kept_since = index.EARLIEST if since is None else datetime.fromtimestamp(since, timezone.utc)
    if earlier:
        kept_since = min(kept_since, rng.start or index.EARLIEST)
    kept_until = None if until >= index.BEYOND else datetime.fromtimestamp(until, timezone.utc)
    if later:
        assert ahead is not None
        kept_until = ahead if kept_until is None else max(kept_until, ahead)
    fresh = index.time_index(cal, now, until=kept_until, since=kept_since)
    if fresh.until == index.NOT_INDEXED:
        return None
    wider = fresh.until > until or (
        since is not None and (fresh.since is None or fresh.since < since)
    )
    return fresh if wider else None


async def catch_up(services: Services, *, pause: float = 0.005) -> int:
    """Index every object that has no rows in the time table yet; how many were.

    Right after migration 0011 that is every object; later, none (the
    partial index it reads is then empty, and this returns at once).  A
    query that meets such an object meanwhile parses it, as it would have.
    An object written again meanwhile keeps what its write stored (the
    store checks the ETag).  Runs beside the server until done.
    """
    done, last_id = 0, 0
    while True:
        try:
            rows = await in_thread(
                services.db.reader(), object_store.unindexed_blocking, last_id, CATCH_UP_BATCH
            )
        except Exception:  # noqa: BLE001 - the database is away: queries parse what is left
            log.warning("time table: catching up stopped after %d objects", done, exc_info=True)
            return done
        if not rows:
            break
        last_id = rows[-1].id
        updates = [
            (row.id, row.etag, fresh)
            for row, fresh in _indexed_now(rows, services.clock.now())
        ]
        if updates:
            try:
                await services.db.write(
                    lambda raw: object_store.store_time_indexes_blocking(raw, updates)
                )
            except Exception:  # noqa: BLE001 - as above; the next start goes on
                log.warning("time table: catching up stopped after %d objects", done, exc_info=True)
                return done
        done += len(rows)
        await asyncio.sleep(pause)
    if done:
        log.info("time table: %d objects indexed", done)
    return done


def _indexed_now(
    rows: list[ObjectRow], now: datetime
) -> list[tuple[ObjectRow, index.TimeIndex]]:
    """Each object's time index as a write of it at ``now`` would store it;
    an object that cannot be parsed is logged and left out (queries parse it)."""
    indexed = []
    for row in rows:
        try:
            indexed.append((row, index.time_index(parse_calendar(row.data or b""), now)))
        except Exception:  # noqa: BLE001 - one unreadable object must not stop the rest
            log.warning(
                "object %s (%s) could not be parsed for the time table: queries parse it",
                row.id, row.name, exc_info=True,
            )
    return indexed


async def keep_ahead(services: Services, holder: str, *, pause: float = 0.005) -> int:
    """Keep every series whose rows run out within :data:`KEEP_AHEAD_MARGIN`
    a horizon past now, as a write of it today would; how many were.

    Without this, the first query past a series' horizon would parse it (a
    calendar imported at once runs out at once).  With several processes
    on one database, the one holding the lease does it.
    """
    lease_seconds = KEEP_AHEAD_EVERY / 2
    if await leases.hold(services, KEEP_AHEAD_LEASE, holder, lease_seconds) != holder:
        return 0
    now = services.clock.now()
    before = int((now + KEEP_AHEAD_MARGIN).timestamp())
    done, after = 0, (index.NOT_INDEXED, 0)
    while True:
        rows = await in_thread(
            services.db.reader(), object_store.running_out_blocking, before, after, CATCH_UP_BATCH
        )
        if not rows:
            break
        last = rows[-1]
        after = (last.indexed_until or 0, last.id)
        updates = [
            (row.id, row.etag, fresh)
            for row, fresh in _indexed_now(rows, now)
            if fresh.until != index.NOT_INDEXED and fresh.until > (row.indexed_until or 0)
        ]
        if updates:
            await services.db.write(
                lambda raw: object_store.store_time_indexes_blocking(raw, updates)
            )
            done += len(updates)
        await asyncio.sleep(pause)
    if done:
        log.info("time table: %d series kept ahead", done)
    return done


async def keep_up(services: Services, holder: str) -> None:
    """Runs beside the server: first :func:`catch_up`, then :func:`keep_ahead` every hour."""
    await catch_up(services)
    while True:
        try:
            await keep_ahead(services, holder)
        except Exception:  # noqa: BLE001 - the database is away: queries parse; next round
            log.warning("time table: keeping series ahead failed", exc_info=True)
        await asyncio.sleep(KEEP_AHEAD_EVERY)

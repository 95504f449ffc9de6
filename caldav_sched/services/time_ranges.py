"""Time-range lookups answered from the time index, which they keep up to date.

A calendar-query with a time-range, a free-busy-query and the outbox's
free-busy lookup all start here: the store's span scan gives the candidates,
each with its time index (``domain.time_index``), and the index decides
without parsing.  A candidate whose index cannot answer (a row written
before the index existed, a series without end asked about beyond its
horizon) is parsed, and its index is computed again from the parsed object,
as far as the query asked, and stored: the next query past the horizon finds
it answered, as CalendarServer extends its expansion window.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import NamedTuple

from icalendar import Calendar

from caldav_sched.domain import time_index as index
from caldav_sched.domain.freebusy import BusyPeriod, busy_periods, coalesce
from caldav_sched.domain.ical import parse_calendar
from caldav_sched.domain.query import TimeRange
from caldav_sched.services import Services
from caldav_sched.store import objects as object_store
from caldav_sched.store.objects import SPAN_MAX, SPAN_MIN, Instances, ObjectRow

#: Components whose instances make busy time (RFC 4791 7.10).
BUSY_COMPONENTS = ("VEVENT", "VFREEBUSY")


class InRange(NamedTuple):
    """Span candidates of a time-range: those the index puts in it, and those it had to parse."""

    decided: list[ObjectRow]
    parsed: list[tuple[ObjectRow, Calendar]]


def _bounds(rng: TimeRange) -> tuple[int, int]:
    start = SPAN_MIN if rng.start is None else int(rng.start.timestamp())
    end = SPAN_MAX if rng.end is None else int(rng.end.timestamp())
    return start, end


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
    ``with_data``); ``parsed`` ones could not be answered from their index
    and come parsed, for the caller's exact check.
    """
    test = index.range_test(rng, tz)

    def keep(instances: Instances, floating: Instances, until: int | None) -> bool:
        return not index.decides(until, rng) or test(instances, floating)

    start, end = _bounds(rng)
    reader = services.db.reader()
    rows = await object_store.objects_in_span(
        reader, collection_id, component=component, start=start, end=end, with_data=False, keep=keep
    )
    decided, undecided = [], []
    for row in rows:
        (decided if index.decides(row.indexed_until, rng) else undecided).append(row)
    wanted = [row.name for row in undecided] + ([row.name for row in decided] if with_data else [])
    full = await object_store.objects_by_name(reader, collection_id, wanted) if wanted else {}
    if with_data:
        # An object deleted in between is simply left out.
        decided = [full[row.name] for row in decided if row.name in full]
    parsed = await _parse_and_refresh(services, [full[r.name] for r in undecided if r.name in full], rng)
    return InRange(decided, parsed)


async def busy_in_range(
    services: Services, collection_id: int, rng: TimeRange, tz: tzinfo | None
) -> list[BusyPeriod]:
    """Busy time of one calendar within ``rng`` (RFC 4791 7.10), coalesced."""
    start, end = _bounds(rng)
    reader = services.db.reader()
    rows = await object_store.objects_in_span(
        reader, collection_id, component=None, start=start, end=end, with_data=False, with_busy=True
    )
    periods: list[BusyPeriod] = []
    undecided = []
    for row in rows:
        if row.component not in BUSY_COMPONENTS:
            continue
        if index.decides(row.indexed_until, rng):
            periods += index.busy_from_index(row.busy or (), row.floating or (), rng, tz)
        else:
            undecided.append(row.name)
    if undecided:
        full = await object_store.objects_by_name(reader, collection_id, undecided)
        parsed = await _parse_and_refresh(services, list(full.values()), rng)
        periods += busy_periods([cal for _, cal in parsed], rng, tz=tz)
    return coalesce(periods) if periods else []


async def _parse_and_refresh(
    services: Services, rows: list[ObjectRow], rng: TimeRange
) -> list[tuple[ObjectRow, Calendar]]:
    """Parse rows the index could not answer; store the index they should have."""
    parsed = [(row, parse_calendar(row.data or b"")) for row in rows]
    if not parsed:
        return parsed
    now = services.clock.now()
    updates = []
    for row, cal in parsed:
        old = row.indexed_until
        # A row from before the index is always brought up to date (even as
        # NOT_INDEXED, so that it is not tried again); a series kept to a
        # horizon only when the query ends past it and it can be kept further.
        further = old is not None and old != index.NOT_INDEXED and rng.end is not None
        if old is not None and not (further and old < rng.end.timestamp()):
            continue
        fresh = index.time_index(cal, now, until=rng.end)
        if old is None or (fresh.until != index.NOT_INDEXED and fresh.until > old):
            updates.append((row.id, row.etag, fresh))
    if updates:
        await services.db.write(
            lambda raw: object_store.store_time_indexes_blocking(raw, updates)
        )
    return parsed

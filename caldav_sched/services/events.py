"""Operator views of events: what the server holds and what it did about them."""

from __future__ import annotations

from dataclasses import dataclass

from caldav_sched.domain.facts import EventFacts, facts_of
from caldav_sched.domain.ical import parse_calendar
from caldav_sched.services import Services
from caldav_sched.services.errors import NotFound, UnknownUser
from caldav_sched.store import events as event_store
from caldav_sched.store import inbound as inbound_store
from caldav_sched.store import itip as itip_store
from caldav_sched.store import jobs as job_store
from caldav_sched.store import users as user_store
from caldav_sched.store.inbound import InboundRow
from caldav_sched.store.itip import LogRow
from caldav_sched.store.jobs import JobRow


@dataclass(frozen=True)
class StoredEvent:
    owner: str
    href: str
    etag: str
    modified_at: str
    facts: EventFacts


@dataclass(frozen=True)
class EventReport:
    copies: tuple[StoredEvent, ...]
    history: tuple[LogRow, ...]
    jobs: tuple[JobRow, ...]
    inbound: tuple[InboundRow, ...]


def _stored(row: event_store.EventRow) -> StoredEvent:
    return StoredEvent(
        owner=row.owner,
        href=f"/home/{row.owner}/calendar/{row.collection}/{row.name}",
        etag=row.etag,
        modified_at=row.modified_at,
        facts=facts_of(parse_calendar(row.data)),
    )


async def list_events(services: Services, user: str | None = None) -> list[StoredEvent]:
    reader = services.db.reader()
    if user is not None and await user_store.get_user(reader, user) is None:
        raise UnknownUser(f"no user named {user}")
    return [_stored(row) for row in await event_store.events(reader, owner=user)]


async def show_event(services: Services, uid: str) -> EventReport:
    reader = services.db.reader()
    copies = [_stored(row) for row in await event_store.events(reader, uid=uid)]
    history = await itip_store.log_for_uid(reader, uid)
    if not copies and not history:
        raise NotFound(f"no event with UID {uid}")
    return EventReport(
        copies=tuple(copies),
        history=tuple(history),
        jobs=tuple(await job_store.list_jobs(reader, uid=uid)),
        inbound=tuple(await inbound_store.list_inbound(reader, uid=uid)),
    )

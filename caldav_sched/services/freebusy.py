"""Free-busy lookups of this server's users, for the scheduling outbox (RFC 6638 §5)."""

from __future__ import annotations

from dataclasses import dataclass

from caldav_sched.domain.freebusy import busy_periods
from caldav_sched.domain.freebusy_request import FreeBusyRequest, freebusy_reply
from caldav_sched.domain.ical import parse_calendar
from caldav_sched.services import Services
from caldav_sched.services import users as user_service
from caldav_sched.store import collections as collection_store
from caldav_sched.store import objects as object_store

SUCCESS = "2.0;Success"
UNKNOWN_USER = "3.7;Invalid calendar user"


@dataclass(frozen=True)
class FreeBusyAnswer:
    recipient: str
    request_status: str
    calendar: bytes | None


async def lookup(services: Services, request: FreeBusyRequest) -> list[FreeBusyAnswer]:
    """Each attendee's busy time, read from the index of their calendars."""
    reader = services.db.reader()
    start = int(request.range.start.timestamp())  # type: ignore[union-attr]
    end = int(request.range.end.timestamp())  # type: ignore[union-attr]
    answers = []
    for attendee in request.attendees:
        user = await user_service.local_user(services, attendee)
        if user is None:
            answers.append(FreeBusyAnswer(attendee, UNKNOWN_USER, None))
            continue
        calendars = []
        for collection in await collection_store.list_collections(reader, user.name):
            if collection.kind != "calendar":
                continue
            rows = await object_store.objects_in_span(
                reader, collection.id, component="VEVENT", start=start, end=end
            )
            calendars += [parse_calendar(row.data or b"") for row in rows]
        periods = busy_periods(calendars, request.range)
        answers.append(
            FreeBusyAnswer(
                attendee,
                SUCCESS,
                freebusy_reply(request, attendee, periods, now=services.clock.now()),
            )
        )
    return answers

"""Free-busy lookups of this server's users, for the scheduling outbox (RFC 6638 §5)."""

from __future__ import annotations

from dataclasses import dataclass

from caldav_sched.domain.freebusy import coalesce
from caldav_sched.domain.freebusy_request import FreeBusyRequest, freebusy_reply
from caldav_sched.domain.time_index import calendar_zone
from caldav_sched.services import Services, time_ranges
from caldav_sched.services import users as user_service
from caldav_sched.store import collections as collection_store

SUCCESS = "2.0;Success"
UNKNOWN_USER = "3.7;Invalid calendar user"


@dataclass(frozen=True)
class FreeBusyAnswer:
    recipient: str
    request_status: str
    calendar: bytes | None


async def lookup(services: Services, request: FreeBusyRequest) -> list[FreeBusyAnswer]:
    """Each attendee's busy time, read from the time index of their calendars.

    Floating and all-day times are read in each calendar's own zone
    (CALDAV:calendar-timezone), else UTC.
    """
    reader = services.db.reader()
    answers = []
    for attendee in request.attendees:
        user = await user_service.local_user(services, attendee)
        if user is None:
            answers.append(FreeBusyAnswer(attendee, UNKNOWN_USER, None))
            continue
        periods = []
        for collection in await collection_store.list_collections(reader, user.name):
            if collection.kind != "calendar":
                continue
            zone = calendar_zone(collection.timezone)
            periods += await time_ranges.busy_in_range(services, collection.id, request.range, zone)
        periods = coalesce(periods)
        answers.append(
            FreeBusyAnswer(
                attendee,
                SUCCESS,
                freebusy_reply(request, attendee, periods, now=services.clock.now()),
            )
        )
    return answers

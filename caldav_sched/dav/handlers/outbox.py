"""POST to the scheduling outbox: free-busy lookups (RFC 6638 §5).

Scheduling of events is implicit (PUT and DELETE); the outbox answers only
VFREEBUSY REQUESTs, with one ``C:response`` per recipient.
"""

from __future__ import annotations

from aiohttp import web

from caldav_sched.dav import xml
from caldav_sched.dav.context import DavContext
from caldav_sched.dav.errors import BadRequest, Forbidden, MethodNotAllowed
from caldav_sched.dav.resources import Collection
from caldav_sched.domain.freebusy_request import InvalidFreeBusyRequest, read_request
from caldav_sched.domain.ical import parse_calendar
from caldav_sched.domain.scheduling import normalize_address
from caldav_sched.services import freebusy as freebusy_service


async def post(ctx: DavContext) -> web.StreamResponse:
    resource = await ctx.load(ctx.target())
    if not isinstance(resource, Collection) or resource.row.kind != "outbox":
        raise MethodNotAllowed("POST is served by the scheduling outbox")
    if resource.user.id != ctx.user.id:
        raise Forbidden("only the outbox's owner may post to it")
    try:
        request = read_request(parse_calendar(await ctx.request.read()))
    except InvalidFreeBusyRequest as exc:
        raise BadRequest(str(exc)) from exc
    if request.organizer != normalize_address(f"mailto:{ctx.user.email}"):
        raise Forbidden("the ORGANIZER must be your own calendar address")
    answers = await freebusy_service.lookup(ctx.services, request)
    return web.Response(
        status=200,
        body=xml.schedule_response(
            [(a.recipient, a.request_status, a.calendar) for a in answers]
        ),
        content_type="application/xml",
        charset="utf-8",
    )

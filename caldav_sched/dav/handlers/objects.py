"""GET, HEAD, PUT and DELETE (RFC 4791 5.3, RFC 7232)."""

from __future__ import annotations

from aiohttp import web

from caldav_sched.dav.context import DavContext
from caldav_sched.dav.errors import (
    Conflict,
    Forbidden,
    MethodNotAllowed,
    NoUidConflict,
    NotFound,
    PreconditionFailed,
    SupportedCalendarData,
)
from caldav_sched.dav.handlers.common import preconditions
from caldav_sched.dav.properties import content_type, http_date
from caldav_sched.dav.resources import CalendarObject, Collection, Missing
from caldav_sched.domain.conditions import preconditions_hold
from caldav_sched.services import calendars as calendar_service
from caldav_sched.services import objects as object_service
from caldav_sched.services.errors import UidInUse

CALENDAR_TYPES = ("text/calendar", "application/ics", "application/octet-stream", "text/plain")


async def get(ctx: DavContext) -> web.StreamResponse:
    resource = await ctx.load(ctx.target(), with_data=True)
    if not isinstance(resource, CalendarObject):
        raise MethodNotAllowed("GET is served for calendar objects")
    row = resource.row
    pre = preconditions(ctx)
    if pre.if_match is not None and not preconditions_hold(pre, row.etag):
        raise PreconditionFailed("the entity tag does not match")
    headers = {
        "ETag": row.etag,
        "Last-Modified": http_date(row.modified_at),
        "Content-Type": content_type(row.component),
    }
    if row.schedule_tag:
        headers["Schedule-Tag"] = row.schedule_tag
    if pre.if_none_match is not None and not preconditions_hold(pre, row.etag):
        return web.Response(status=304, headers={"ETag": row.etag})
    if ctx.request.method == "HEAD":
        headers["Content-Length"] = str(row.size)
        return web.Response(status=200, headers=headers)
    return web.Response(status=200, body=row.data, headers=headers)


async def put(ctx: DavContext) -> web.StreamResponse:
    target = ctx.target()
    if target.kind != "object":
        raise MethodNotAllowed("PUT stores calendar objects inside a calendar")
    if target.user != ctx.user.name:
        await ctx.load(target)  # 404 for an unknown user, else 403
        raise Forbidden("you may only change your own calendars")
    mime = ctx.request.content_type.lower() if ctx.request.headers.get("Content-Type") else ""
    if mime and mime not in CALENDAR_TYPES:
        raise SupportedCalendarData(f"{mime} is not calendar data; send text/calendar")
    try:
        collection = await ctx.collection_for_write(target)
    except NotFound as exc:
        raise Conflict("the calendar collection does not exist") from exc
    body = await ctx.request.read()
    assert target.name is not None
    try:
        outcome = await object_service.put_object(
            ctx.services, ctx.user, collection.row, target.name, body, preconditions(ctx)
        )
    except UidInUse as exc:
        raise NoUidConflict(
            str(exc), href=ctx.hrefs.object(ctx.user.name, collection.row.path, exc.name)
        ) from exc
    headers = {"ETag": outcome.etag}
    if outcome.schedule_tag:
        headers["Schedule-Tag"] = outcome.schedule_tag
    return web.Response(status=201 if outcome.created else 204, headers=headers)


async def delete(ctx: DavContext) -> web.StreamResponse:
    target = ctx.target()
    resource = await ctx.load(target, allow_missing=True)
    if isinstance(resource, Missing):
        raise NotFound("nothing to delete here")
    if isinstance(resource, CalendarObject):
        await object_service.delete_object(
            ctx.services, ctx.user, resource.collection, resource.row.name, preconditions(ctx)
        )
    elif isinstance(resource, Collection):
        pre = preconditions(ctx)
        if pre.if_match is not None or pre.if_none_match is not None:
            etag = f'"{resource.row.id}-{resource.row.modseq}"'
            if not preconditions_hold(pre, etag):
                raise PreconditionFailed("the entity tag does not match")
        await calendar_service.delete_calendar(ctx.services, resource.row)
    else:
        raise Forbidden("this resource cannot be deleted")
    return web.Response(status=204)

"""COPY and MOVE (RFC 4918 9.8, 9.9; RFC 4791 5.3.2; RFC 6638 3.2).

Objects are copied and moved within and between the user's own calendars;
whole calendars are moved within the user's calendar home.  The
``Destination`` header is an absolute URL or path: its scheme and host
must be the ones this request came to (after the trusted proxy's
``X-Forwarded-Proto`` / ``X-Forwarded-Host``), else 502, and its path must
lie under ``server.base_path``.  ``Overwrite`` is ``T`` unless the client
says ``F``; conditional headers apply to the source.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from caldav_sched.dav.context import DavContext
from caldav_sched.dav.errors import (
    BadGateway,
    BadRequest,
    CalendarCollectionLocationOk,
    Conflict,
    Forbidden,
    NoUidConflict,
    NotFound,
)
from caldav_sched.dav.handlers.common import preconditions
from caldav_sched.dav.resources import CalendarObject, Collection, Target, parse_path
from caldav_sched.services import moves as move_service
from caldav_sched.services.errors import UidInUse

_DEFAULT_PORTS = {"http": 80, "https": 443}


async def copy(ctx: DavContext) -> web.StreamResponse:
    return await _transfer(ctx, keep_source=True)


async def move(ctx: DavContext) -> web.StreamResponse:
    return await _transfer(ctx, keep_source=False)


def _authority(scheme: str, netloc: str) -> tuple[str, int | None]:
    """Host and port of an authority, the scheme's default port filled in."""
    try:
        parsed = urlsplit(f"//{netloc.rpartition('@')[2]}")
        port = parsed.port
    except ValueError as exc:
        raise BadRequest(f"the Destination's port is not valid: {netloc!r}") from exc
    return (parsed.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def destination(ctx: DavContext) -> Target:
    """The resource the ``Destination`` header names."""
    header = ctx.request.headers.get("Destination", "").strip()
    if not header:
        raise BadRequest("COPY and MOVE need a Destination header")
    try:
        url = urlsplit(header)
    except ValueError as exc:  # such as an unclosed "[" of an IPv6 host
        raise BadRequest(f"the Destination is not a URL: {header!r}") from exc
    if url.scheme or url.netloc:
        request = ctx.request
        scheme = url.scheme.lower()
        if scheme != request.scheme or _authority(scheme, url.netloc) != _authority(
            request.scheme, request.host
        ):
            raise BadGateway(f"the Destination {header} is not on this server")
    path = ctx.hrefs.relative(header)
    if path is None:
        raise BadGateway(f"the Destination {header} is outside what this server serves")
    target = parse_path(path)
    if target is None:
        raise Forbidden(f"nothing can be stored at {header}")
    return target


def _overwrite(ctx: DavContext) -> bool:
    value = ctx.request.headers.get("Overwrite", "T").strip().upper()
    if value not in ("T", "F"):
        raise BadRequest(f"Overwrite must be T or F, not {value!r}")
    return value == "T"


async def _transfer(ctx: DavContext, *, keep_source: bool) -> web.StreamResponse:
    source = await ctx.load(ctx.target())
    target = destination(ctx)
    overwrite = _overwrite(ctx)
    if target.user != ctx.user.name:
        raise Forbidden("objects and calendars are copied and moved within your own calendars only")
    if isinstance(source, CalendarObject):
        return await _transfer_object(ctx, source, target, keep_source, overwrite)
    if isinstance(source, Collection):
        if keep_source:
            raise Forbidden("calendars are not copied; copy their objects instead")
        return await _move_calendar(ctx, source, target, overwrite)
    raise Forbidden("only calendar objects and calendars can be copied or moved")


async def _transfer_object(
    ctx: DavContext,
    source: CalendarObject,
    target: Target,
    keep_source: bool,
    overwrite: bool,
) -> web.StreamResponse:
    if target.kind != "object":
        raise Forbidden("a calendar object goes to a resource inside a calendar")
    assert target.name is not None
    try:
        collection = await ctx.collection_for_write(target)
    except NotFound as exc:
        raise Conflict("the destination calendar does not exist") from exc
    try:
        outcome = await move_service.transfer_object(
            ctx.services,
            source.collection,
            source.row.name,
            collection.row,
            target.name,
            keep_source=keep_source,
            overwrite=overwrite,
            preconditions=preconditions(ctx),
        )
    except UidInUse as exc:
        holder = exc.path or collection.row.path
        raise NoUidConflict(
            str(exc), href=ctx.hrefs.object(ctx.user.name, holder, exc.name)
        ) from exc
    headers = {}
    if outcome.etag:
        headers["ETag"] = outcome.etag
    if outcome.schedule_tag:
        headers["Schedule-Tag"] = outcome.schedule_tag
    return web.Response(status=201 if outcome.created else 204, headers=headers)


async def _move_calendar(
    ctx: DavContext, source: Collection, target: Target, overwrite: bool
) -> web.StreamResponse:
    depth = ctx.request.headers.get("Depth", "infinity").strip().lower()
    if depth != "infinity":
        raise BadRequest("a MOVE of a collection moves all of it (Depth: infinity)")
    if target.kind != "collection":
        raise CalendarCollectionLocationOk("a calendar moves to another place in your calendar home")
    assert target.collection is not None
    outcome = await move_service.move_calendar(
        ctx.services,
        ctx.user,
        source.row,
        target.collection,
        overwrite=overwrite,
        preconditions=preconditions(ctx),
    )
    return web.Response(status=201 if outcome.created else 204)

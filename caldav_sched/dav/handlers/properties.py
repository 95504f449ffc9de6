"""PROPFIND, PROPPATCH, MKCALENDAR and extended MKCOL (RFC 4918, 4791, 5689)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from caldav_sched.dav import properties as props
from caldav_sched.dav import xml
from caldav_sched.dav.context import DavContext
from caldav_sched.dav.errors import (
    BadRequest,
    CalendarCollectionLocationOk,
    Forbidden,
    PropfindFiniteDepth,
    ResourceMustBeNull,
    ValidResourcetype,
)
from caldav_sched.dav.handlers.common import depth, read_xml
from caldav_sched.dav.keys import STREAMING
from caldav_sched.dav.resources import (
    CalendarHome,
    CalendarObject,
    Collection,
    Missing,
    Principal,
    PrincipalCollection,
    Resource,
    Root,
)
from caldav_sched.dav.xml import caldav, dav
from caldav_sched.domain.ical import OBJECT_COMPONENTS, single_timezone
from caldav_sched.errors import InvalidCalendarData
from caldav_sched.services import calendars as calendar_service
from caldav_sched.store import collections as collection_store
from caldav_sched.store import objects as object_store


@dataclass(frozen=True)
class PropRequest:
    """What a PROPFIND (or a REPORT's DAV:prop) asks for."""

    mode: str  # prop | allprop | propname
    names: tuple[str, ...] = ()

    @property
    def wants_data(self) -> bool:
        return caldav("calendar-data") in self.names


def parse_prop_request(root: xml.Element | None) -> PropRequest:
    """DAV:propfind body, or any element holding DAV:prop / DAV:allprop."""
    if root is None:
        return PropRequest("allprop")
    prop = root.find(dav("prop"))
    if prop is not None:
        return PropRequest("prop", tuple(xml.child_names(prop)))
    if root.find(dav("propname")) is not None:
        return PropRequest("propname")
    if root.find(dav("allprop")) is not None or root.tag == dav("propfind"):
        include = root.find(dav("include"))
        return PropRequest("allprop", tuple(xml.child_names(include)))
    return PropRequest("allprop")


def propstat(ctx: DavContext, resource: Resource, request: PropRequest) -> xml.PropStat:
    result = xml.PropStat()
    pctx = ctx.props
    if request.mode == "propname":
        result.found = [xml.element(n) for n in props.propname_names(pctx, resource)]
        return result
    if request.mode == "allprop":
        for name in dict.fromkeys(props.allprop_names(resource) + list(request.names)):
            value = props.get_property(pctx, resource, name)
            if value is not None:
                result.found.append(value)
        return result
    for name in request.names:
        value = props.get_property(pctx, resource, name)
        if value is None:
            result.missing.append(name)
        else:
            result.found.append(value)
    return result


async def _children(ctx: DavContext, resource: Resource, with_data: bool) -> list[Resource]:
    reader = ctx.services.db.reader()
    if isinstance(resource, Root):
        return [PrincipalCollection()]
    if isinstance(resource, PrincipalCollection):
        return [Principal(ctx.user)]
    if isinstance(resource, Principal):
        return [CalendarHome(resource.user)] if resource.user.id == ctx.user.id else []
    if isinstance(resource, CalendarHome):
        rows = await collection_store.list_collections(reader, resource.user.name)
        return [Collection(resource.user, row) for row in rows]
    if isinstance(resource, Collection):
        rows = await object_store.list_objects(reader, resource.row.id, with_data=with_data)
        return [CalendarObject(resource.user, resource.row, row) for row in rows]
    return []


async def propfind(ctx: DavContext) -> web.StreamResponse:
    level = depth(ctx)
    if level == "infinity" and "Depth" in ctx.request.headers:
        # RFC 4918 9.1: a server may refuse to walk everything below a
        # resource.  Without a Depth header a collection is listed one level.
        raise PropfindFiniteDepth("PROPFIND with Depth: infinity is not served; use 0 or 1")
    request = parse_prop_request(await read_xml(ctx))
    resource = await ctx.load(ctx.target(), with_data=request.wants_data)
    assert not isinstance(resource, Missing)
    result = xml.Multistatus()
    href = ctx.href_of(resource)
    result.add_propstat(href, propstat(ctx, resource, request))
    simple = simple_names(request)
    if level != "0" and simple is not None and isinstance(resource, Collection):
        # The common client poll (getetag and the like): each object's answer
        # is rendered from its row while the body is written, no element trees.
        rows = await object_store.list_listing(ctx.services.db.reader(), resource.row.id)
        result.add_rendered_many(
            (
                xml.simple_response(
                    ctx.hrefs.member(href, row.name),
                    props.simple_object_values(
                        simple, row.etag, row.component, row.size, row.modified_at
                    ),
                )
                for row in rows
            ),
            len(rows),
        )
    elif level != "0":
        for child in await _children(ctx, resource, request.wants_data):
            result.add_propstat(ctx.href_of(child), propstat(ctx, child, request))
    return await send_multistatus(ctx, result)


def simple_names(request: PropRequest) -> tuple[str, ...] | None:
    """The asked names when an object's answer can be rendered from templates."""
    if request.mode != "prop" or not request.names:
        return None
    if all(name in xml.SIMPLE_OBJECT_PROPERTIES for name in request.names):
        return request.names
    return None


# Answers with more responses than this are written in chunks as they are
# rendered, so a large calendar's answer is never held whole in memory.
STREAM_AFTER = 500


def multistatus_response(result: xml.Multistatus) -> web.Response:
    return web.Response(
        status=207, body=result.serialise(), content_type="application/xml", charset="utf-8"
    )


async def send_multistatus(ctx: DavContext, result: xml.Multistatus) -> web.StreamResponse:
    """The 207 answer: whole for a small one, chunked as it is rendered for a large one."""
    if result.count <= STREAM_AFTER:
        return multistatus_response(result)
    response = web.StreamResponse(status=207)
    response.content_type = "application/xml"
    response.charset = "utf-8"
    # Once the headers are out, an error can only cut the answer (dav.middleware).
    ctx.request[STREAMING] = response
    await response.prepare(ctx.request)
    for chunk in result.chunks():
        await response.write(chunk)
    await response.write_eof()
    return response


@dataclass
class PropertyUpdate:
    columns: dict[str, str | None] = field(default_factory=dict)
    dead_set: dict[str, str] = field(default_factory=dict)
    dead_removed: list[str] = field(default_factory=list)
    components: tuple[str, ...] | None = None
    refused: dict[str, int] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


def _text_value(el: xml.Element) -> str:
    return "".join(el.itertext())


def _single_timezone(value: str) -> bool:
    """RFC 4791 5.2.2: calendar-timezone is an iCalendar object with exactly one VTIMEZONE."""
    try:
        single_timezone(value)
    except InvalidCalendarData:
        return False
    return True


def read_property_update(root: xml.Element, *, creating: bool) -> PropertyUpdate:
    """Sort DAV:set / DAV:remove instructions into columns and dead properties."""
    update = PropertyUpdate()
    for instruction in xml.children(root):
        if instruction.tag not in (dav("set"), dav("remove")):
            continue
        removing = instruction.tag == dav("remove")
        for prop in xml.children(instruction.find(dav("prop"))):
            name = prop.tag
            update.order.append(name)
            if name in props.SETTABLE:
                column = props.SETTABLE[name]
                value = None if removing else _text_value(prop)
                if name == caldav("calendar-timezone") and value is not None:
                    if not _single_timezone(value):
                        update.refused[name] = 403
                        continue
                update.columns[column] = value
            elif name in props.CREATE_ONLY and creating and not removing:
                components = tuple(c.get("name", "").upper() for c in xml.children(prop))
                if not components or any(c not in OBJECT_COMPONENTS for c in components):
                    # RFC 4791 5.2.3: only component types this server stores.
                    update.refused[name] = 403
                    continue
                update.components = components
            elif name == dav("resourcetype") and creating:
                kinds = xml.child_names(prop)
                if caldav("calendar") not in kinds:
                    raise ValidResourcetype("only calendar collections can be created")
            elif name in props.LIVE or name in props.CREATE_ONLY:
                update.refused[name] = 403
            elif removing:
                update.dead_removed.append(name)
            else:
                update.dead_set[name] = xml.to_string(prop)
    return update


async def proppatch(ctx: DavContext) -> web.StreamResponse:
    root = await read_xml(ctx)
    if root is None or root.tag != dav("propertyupdate"):
        raise BadRequest("PROPPATCH needs a DAV:propertyupdate body")
    resource = await ctx.load(ctx.target())
    if isinstance(resource, (Principal, Root, PrincipalCollection)) and (
        not isinstance(resource, Principal) or resource.user.id != ctx.user.id
    ):
        raise Forbidden("these properties cannot be changed")
    update = read_property_update(root, creating=False)
    result = xml.PropStat()
    if not isinstance(resource, Collection) or resource.row.kind != "calendar":
        # Only calendar collections keep properties; refuse each one.
        update.refused = {name: 403 for name in update.order}
    if update.refused:
        # RFC 4918 9.2: all or nothing; the rest fail with 424.
        for name in dict.fromkeys(update.order):
            code = update.refused.get(name, 424)
            result.other.setdefault(code, []).append(xml.element(name))
    else:
        assert isinstance(resource, Collection)
        await calendar_service.update_properties(
            ctx.services,
            resource.row,
            columns=update.columns,
            dead_set=update.dead_set,
            dead_removed=update.dead_removed,
        )
        result.found = [xml.element(name) for name in dict.fromkeys(update.order)]
    response = xml.Multistatus()
    response.add_propstat(ctx.href_of(resource), result)
    return multistatus_response(response)


async def mkcalendar(ctx: DavContext) -> web.StreamResponse:
    target = ctx.target()
    if target.kind != "collection" or target.user != ctx.user.name:
        if target.kind == "collection":
            raise Forbidden("you may only create calendars in your own home")
        raise CalendarCollectionLocationOk("calendars are created inside a calendar home")
    existing = await ctx.load(target, allow_missing=True)
    if not isinstance(existing, Missing):
        raise ResourceMustBeNull("a collection already exists here")
    root = await read_xml(ctx)
    if root is None:
        if ctx.request.method == "MKCOL":
            raise ValidResourcetype("MKCOL here needs a body naming a calendar resourcetype")
        update = PropertyUpdate()
    else:
        expected = caldav("mkcalendar") if ctx.request.method == "MKCALENDAR" else dav("mkcol")
        if root.tag != expected:
            raise BadRequest(f"expected a {expected} body")
        update = read_property_update(root, creating=True)
        if ctx.request.method == "MKCOL" and dav("resourcetype") not in update.order:
            raise ValidResourcetype("MKCOL here needs a calendar resourcetype")
    if update.refused:
        # Nothing is created.  RFC 4791 5.3.1: MKCALENDAR answers 207 with
        # each property's status; RFC 5689 3.5: extended MKCOL answers 403
        # with a DAV:mkcol-response.
        result = xml.PropStat()
        for name in dict.fromkeys(update.order):
            result.other.setdefault(update.refused.get(name, 424), []).append(xml.element(name))
        if ctx.request.method == "MKCOL":
            return web.Response(
                status=403, body=xml.mkcol_response(result), content_type="application/xml"
            )
        response = xml.Multistatus()
        response.add_propstat(ctx.hrefs.collection(ctx.user.name, target.collection or ""), result)
        return multistatus_response(response)
    assert target.collection is not None
    await calendar_service.make_calendar(
        ctx.services,
        ctx.user,
        target.collection,
        columns=update.columns,
        components=update.components,
        dead_props=update.dead_set,
    )
    return web.Response(status=201, headers={"Cache-Control": "no-cache"})

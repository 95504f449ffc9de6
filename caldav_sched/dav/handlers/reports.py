"""REPORT: calendar-multiget, calendar-query, sync-collection, free-busy-query,
and the principal searches clients use to find attendees.

calendar-query and free-busy-query read only the candidates whose indexed
span overlaps the time range and let their time index decide
(``services.time_ranges``); only filters the index cannot decide parse, and
only the objects it kept.  sync-collection reads the change log after the
token, so its cost grows with the changes.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import tzinfo
from operator import itemgetter

from aiohttp import web
from icalendar import Calendar

from caldav_sched.dav import properties as props
from caldav_sched.dav import xml
from caldav_sched.dav.calendar_query import (
    check_calendar_data_type,
    parse_expand,
    parse_filter,
    parse_selection,
    parse_timezone,
)
from caldav_sched.dav.context import DavContext
from caldav_sched.dav.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    NumberOfMatchesWithinLimits,
    SupportedReport,
    ValidSyncToken,
)
from caldav_sched.dav.handlers.common import read_xml
from caldav_sched.dav.handlers.properties import (
    PropRequest,
    parse_prop_request,
    propstat,
    send_multistatus,
    simple_names,
)
from caldav_sched.dav.resources import CalendarObject, Collection, Principal, PrincipalCollection
from caldav_sched.dav.xml import caldav, dav
from caldav_sched.domain import query
from caldav_sched.domain.expand import expand, limit_recurrence_set
from caldav_sched.domain.freebusy import freebusy_calendar
from caldav_sched.domain.ical import parse_calendar
from caldav_sched.domain.partial import CompSelection, select
from caldav_sched.services import time_ranges
from caldav_sched.store import objects as object_store
from caldav_sched.store import users as user_store
from caldav_sched.store.objects import SPAN_MAX, SPAN_MIN, ObjectRow, listed

_TOKEN = re.compile(re.escape(props.SYNC_TOKEN_PREFIX) + r"(\d+)-(\d+)$")


class CalendarDataRequest:
    """How calendar-data is to be returned: as stored, expanded (RFC 4791
    9.6.5), with the overrides limited to a range (9.6.6), and with only the
    components and properties asked for (9.6.1)."""

    def __init__(self, prop: xml.Element | None) -> None:
        self.expand: query.TimeRange | None = None
        self.limit: query.TimeRange | None = None
        self.selection: CompSelection | None = None
        if prop is not None:
            data = prop.find(caldav("calendar-data"))
            if data is not None:
                check_calendar_data_type(data)
                self.selection = parse_selection(data)
                expand_el = data.find(caldav("expand"))
                if expand_el is not None:
                    self.expand = parse_expand(expand_el)
                limit_el = data.find(caldav("limit-recurrence-set"))
                if limit_el is not None:
                    self.limit = parse_expand(limit_el)

    @property
    def transforms(self) -> bool:
        return self.expand is not None or self.limit is not None or self.selection is not None

    def render(self, row: ObjectRow) -> xml.Element:
        assert row.data is not None
        if not self.transforms:
            return xml.element(caldav("calendar-data"), row.data.decode("utf-8"))
        cal = parse_calendar(row.data)
        if self.expand is not None:
            cal = expand(cal, self.expand)
        elif self.limit is not None:
            cal = limit_recurrence_set(cal, self.limit)
        if self.selection is not None:
            cal = select(cal, self.selection)
        return xml.element(caldav("calendar-data"), cal.to_ical().decode("utf-8"))


def _object_propstat(
    ctx: DavContext,
    resource: CalendarObject,
    request: PropRequest,
    data: CalendarDataRequest,
) -> xml.PropStat:
    result = propstat(ctx, resource, request)
    if data.transforms and request.wants_data:
        result.found = [
            data.render(resource.row) if el.tag == caldav("calendar-data") else el
            for el in result.found
        ]
    return result


async def _multiget(ctx: DavContext, root: xml.Element, target: Collection) -> web.Response:
    request = parse_prop_request(root)
    data = CalendarDataRequest(root.find(dav("prop")))
    hrefs = [el.text or "" for el in root.findall(dav("href"))]
    if not hrefs:
        raise BadRequest("calendar-multiget needs at least one DAV:href")
    result = xml.Multistatus()
    by_name: dict[str, list[str]] = {}
    for href in hrefs:
        path = ctx.hrefs.relative(href)
        prefix = ctx.hrefs.relative(ctx.href_of(target)) or ""
        if path is None or not path.startswith(prefix) or "/" in path[len(prefix) :]:
            result.add_status(href, 404)
            continue
        by_name.setdefault(path[len(prefix) :], []).append(href)
    rows = await object_store.objects_by_name(
        ctx.services.db.reader(), target.row.id, list(by_name)
    )
    for name, requested in by_name.items():
        row = rows.get(name)
        for href in requested:
            if row is None:
                result.add_status(href, 404)
            else:
                resource = CalendarObject(target.user, target.row, row)
                result.add_propstat(href, _object_propstat(ctx, resource, request, data))
    return await send_multistatus(ctx, result)


async def _query(ctx: DavContext, root: xml.Element, target: Collection) -> web.Response:
    filter_el = root.find(caldav("filter"))
    if filter_el is None:
        raise BadRequest("calendar-query needs a CALDAV:filter")
    flt = parse_filter(filter_el)
    tz_el = root.find(caldav("timezone"))
    tz = parse_timezone(tz_el.text if tz_el is not None else target.row.timezone)
    request = parse_prop_request(root)
    data = CalendarDataRequest(root.find(dav("prop")))
    reader = ctx.services.db.reader()
    component = query.component_type(flt)
    rng = query.index_range(flt)
    indexed = query.indexed_filter(flt)
    simple = simple_names(request)
    base = ctx.href_of(target)
    if indexed is not None and indexed[2] and simple is not None:
        return await _listing(ctx, target, indexed, tz, flt, simple, base)
    if indexed is not None:
        candidates = await _indexed_candidates(ctx, target, indexed, tz, request.wants_data)
    elif rng is not None:
        start = SPAN_MIN if rng.start is None else int(rng.start.timestamp())
        end = SPAN_MAX if rng.end is None else int(rng.end.timestamp())
        rows = await object_store.objects_in_span(
            reader, target.row.id, component=component, start=start, end=end
        )
        candidates = [(row, parse_calendar(row.data or b"")) for row in rows]
    else:
        rows = await object_store.objects_of_component(reader, target.row.id, component)
        candidates = [(row, parse_calendar(row.data or b"")) for row in rows]
    result = xml.Multistatus()
    for row, parsed in candidates:
        if parsed is not None and not query.matches(parsed, flt, tz=tz):
            continue
        if simple is not None:
            # getetag and the like: rendered from the row, no element tree.
            values = props.simple_object_values(
                simple, row.etag, row.component, row.size, row.modified_at
            )
            result.add_rendered(xml.simple_response(ctx.hrefs.member(base, row.name), values))
            continue
        resource = CalendarObject(target.user, target.row, row)
        result.add_propstat(ctx.href_of(resource), _object_propstat(ctx, resource, request, data))
    return await send_multistatus(ctx, result)


async def _listing(
    ctx: DavContext,
    target: Collection,
    indexed: tuple[str, query.TimeRange, bool],
    tz: tzinfo | None,
    flt: query.CompFilter,
    simple: tuple[str, ...],
    base: str,
) -> web.StreamResponse:
    """A query whose filter is one time-range, asking simple properties
    (getetag and the like: what a client's view asks first): its answer is
    rendered from the time table and the listing index, no object read."""
    component, rng, _ = indexed
    found = await time_ranges.listed_in_range(
        ctx.services, target.row.id, component=component, rng=rng, tz=tz
    )
    listing = found.listed + [
        listed(row) for row, parsed in found.parsed if query.matches(parsed, flt, tz=tz)
    ]
    listing.sort(key=_NAME)  # unique in a collection; a key is cheaper than tuples compared
    result = xml.Multistatus()
    if listing:  # an empty answer is written as the general path writes it
        result.add_rendered_many(
            props.listing_responses(base, simple, component, listing), len(listing)
        )
    return await send_multistatus(ctx, result)


async def _indexed_candidates(
    ctx: DavContext,
    target: Collection,
    indexed: tuple[str, query.TimeRange, bool],
    tz: tzinfo | None,
    wants_data: bool,
) -> list[tuple[ObjectRow, Calendar | None]]:
    """Candidates of a query whose first comp-filter has a time-range, in name order.

    The time index drops every object without an instance in the range.
    When that range is all the filter tests, the objects it keeps match and
    come without parsing (``None``); else each comes parsed for the exact
    check, as does any object whose index could not answer.
    """
    component, rng, alone = indexed
    found = await time_ranges.in_range(
        ctx.services, target.row.id, component=component, rng=rng, tz=tz,
        with_data=wants_data or not alone,
    )
    if alone:
        candidates: list[tuple[ObjectRow, Calendar | None]] = [(row, None) for row in found.decided]
    else:
        candidates = [(row, parse_calendar(row.data or b"")) for row in found.decided]
    candidates += found.parsed
    # Names are unique in a collection, so the first item alone orders them.
    candidates.sort(key=_by_name)
    return candidates


_NAME = itemgetter(0)  # of a Listed


def _by_name(candidate: tuple[ObjectRow, Calendar | None]) -> str:
    return candidate[0].name


def _parse_token(token: str, collection: Collection) -> int:
    if not token:
        return 0
    match = _TOKEN.match(token.strip())
    if not match or int(match.group(1)) != collection.row.id:
        raise ValidSyncToken("this sync-token was not issued for this collection")
    modseq = int(match.group(2))
    if modseq > collection.row.modseq:
        raise ValidSyncToken("this sync-token is from the future")
    return modseq


async def _sync(ctx: DavContext, root: xml.Element, target: Collection) -> web.Response:
    token_el = root.find(dav("sync-token"))
    since = _parse_token((token_el.text or "") if token_el is not None else "", target)
    level = root.find(dav("sync-level"))
    if level is not None and (level.text or "").strip() not in ("1", ""):
        raise Forbidden("only sync-level 1 is supported")
    limit = None
    limit_el = root.find(f"{dav('limit')}/{dav('nresults')}")
    if limit_el is not None:
        try:
            limit = int((limit_el.text or "").strip())
        except ValueError as exc:
            raise BadRequest("DAV:nresults must be a number") from exc
        if limit < 1:
            raise NumberOfMatchesWithinLimits("DAV:nresults must be at least 1")
    request = parse_prop_request(root)
    reader = ctx.services.db.reader()
    changes = await object_store.changes_since(reader, target.row.id, since)
    if since == 0:
        changes = [c for c in changes if not c.deleted]
    truncated = limit is not None and len(changes) > limit
    if truncated:
        changes = changes[:limit]
    result = xml.Multistatus()
    simple = simple_names(request)
    if simple is not None:
        # The common case (getetag and the like): rendered from the change log
        # rows with string templates while the body is written.
        base = ctx.href_of(target)

        def rendered(names: tuple[str, ...]) -> Iterator[str]:
            for change in changes:
                href = ctx.hrefs.member(base, change.name)
                if change.deleted:
                    yield xml.status_response(href, 404)
                    continue
                values = props.simple_object_values(
                    names,
                    change.etag or "",
                    change.component or "",
                    change.size or 0,
                    change.modified_at or "",
                )
                yield xml.simple_response(href, values)

        result.add_rendered_many(rendered(simple), len(changes))
        return await _sync_done(ctx, result, target, changes, truncated)
    rows: dict[str, ObjectRow] = {}
    live = [c.name for c in changes if not c.deleted]
    if request.wants_data:
        rows = await object_store.objects_by_name(reader, target.row.id, live)
    else:
        for change in changes:
            if not change.deleted:
                rows[change.name] = ObjectRow(
                    id=0,
                    collection_id=target.row.id,
                    name=change.name,
                    uid="",
                    component=change.component or "",
                    etag=change.etag or "",
                    schedule_tag=None,
                    modseq=change.modseq,
                    size=change.size or 0,
                    modified_at=change.modified_at or "",
                )
    data = CalendarDataRequest(root.find(dav("prop")))
    for change in changes:
        href = ctx.hrefs.object(target.user.name, target.row.path, change.name)
        row = rows.get(change.name)
        if change.deleted or row is None:
            result.add_status(href, 404)
            continue
        resource = CalendarObject(target.user, target.row, row)
        result.add_propstat(href, _object_propstat(ctx, resource, request, data))
    return await _sync_done(ctx, result, target, changes, truncated)


async def _sync_done(
    ctx: DavContext,
    result: xml.Multistatus,
    target: Collection,
    changes: list[object_store.Change],
    truncated: bool,
) -> web.StreamResponse:
    if truncated:
        result.add_status(ctx.href_of(target), 507, dav("number-of-matches-within-limits"))
        new_modseq = changes[-1].modseq
    else:
        new_modseq = target.row.modseq
    result.set_sync_token(props.sync_token(target.row.id, new_modseq))
    return await send_multistatus(ctx, result)


async def _freebusy(ctx: DavContext, root: xml.Element, target: Collection) -> web.Response:
    range_el = root.find(caldav("time-range"))
    if range_el is None:
        raise BadRequest("free-busy-query needs a CALDAV:time-range")
    rng = parse_expand(range_el)
    # RFC 4791 7.10: floating and all-day times in the calendar's own zone.
    tz = parse_timezone(target.row.timezone)
    periods = await time_ranges.busy_in_range(ctx.services, target.row.id, rng, tz)
    body = freebusy_calendar(periods, rng, now=ctx.services.clock.now())
    return web.Response(status=200, body=body, content_type="text/calendar", charset="utf-8")


async def _principal_search_set(ctx: DavContext, root: xml.Element) -> web.Response:
    result = xml.element(dav("principal-search-property-set"))
    for name, text in ((dav("displayname"), "Name"), (caldav("calendar-user-address-set"), "Address")):
        item = xml.sub(result, dav("principal-search-property"))
        xml.sub(xml.sub(item, dav("prop")), name)
        xml.sub(item, dav("description"), text).set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    return web.Response(status=200, body=xml.serialise(result), content_type="application/xml")


# Returned for each match when the request names no properties (RFC 3744 9.4
# makes DAV:prop optional).  The caldav client library sends an empty
# DAV:prop and the names beside it, so an empty one is read the same way.
PRINCIPAL_SEARCH_DEFAULT_PROPS = (
    dav("displayname"),
    dav("principal-URL"),
    caldav("calendar-home-set"),
    caldav("calendar-user-address-set"),
)


PRINCIPAL_SEARCHABLE = (dav("displayname"), caldav("calendar-user-address-set"))


def _search_terms(root: xml.Element) -> list[tuple[tuple[str, ...], str]]:
    """Each DAV:property-search as (property names, lower-cased match string)."""
    terms = []
    for search in root.findall(dav("property-search")):
        match = search.find(dav("match"))
        text = (match.text or "").strip().lower() if match is not None else ""
        if not text:
            raise BadRequest("each DAV:property-search needs a DAV:match")
        # Without a DAV:prop, search the properties principal-search-property-set offers.
        names = tuple(xml.child_names(search.find(dav("prop")))) or PRINCIPAL_SEARCHABLE
        terms.append((names, text))
    return terms


def _property_text(ctx: DavContext, principal: Principal, name: str) -> str:
    value = props.get_property(ctx.props, principal, name)
    return " ".join(value.itertext()).lower() if value is not None else ""


def _principal_matches(
    ctx: DavContext, principal: Principal, terms: list[tuple[tuple[str, ...], str]], test_any: bool
) -> bool:
    """RFC 3744 9.4: a caseless substring match on the string value of the property."""
    if not terms:
        return True
    hits = []
    for names, text in terms:
        wanted = {text, text.removeprefix("mailto:")}
        values = [_property_text(ctx, principal, name) for name in names]
        hits.append(any(w in v for w in wanted for v in values))
    return any(hits) if test_any else all(hits)


async def _principal_search(ctx: DavContext, root: xml.Element) -> web.Response:
    """RFC 3744 9.4 over the users of this server.

    Lenient on input: a request without any DAV:property-search (which the
    RFC's DTD requires) lists every principal, as clients expect when they
    ask for "all principals".
    """
    terms = _search_terms(root)
    request = parse_prop_request(root)
    if request.mode != "prop" or not request.names:
        request = PropRequest("prop", PRINCIPAL_SEARCH_DEFAULT_PROPS)
    test_any = root.get("test") == "anyof"
    result = xml.Multistatus()
    for user in await user_store.list_users(ctx.services.db.reader()):
        if user.disabled:
            continue
        principal = Principal(user)
        if _principal_matches(ctx, principal, terms, test_any):
            result.add_propstat(ctx.href_of(principal), propstat(ctx, principal, request))
    return await send_multistatus(ctx, result)


Report = Callable[[DavContext, xml.Element, Collection], Awaitable[web.Response]]

COLLECTION_REPORTS: dict[str, Report] = {
    caldav("calendar-multiget"): _multiget,
    caldav("calendar-query"): _query,
    dav("sync-collection"): _sync,
    caldav("free-busy-query"): _freebusy,
}


async def report(ctx: DavContext) -> web.StreamResponse:
    root = await read_xml(ctx)
    if root is None:
        raise BadRequest("REPORT needs a body")
    resource = await ctx.load(ctx.target())
    if root.tag == dav("principal-search-property-set"):
        return await _principal_search_set(ctx, root)
    if root.tag == dav("principal-property-search"):
        return await _principal_search(ctx, root)
    handler = COLLECTION_REPORTS.get(root.tag)
    if handler is None:
        raise SupportedReport(f"unsupported report {root.tag}")
    if isinstance(resource, CalendarObject) and root.tag != dav("sync-collection"):
        # A query on one object: answer as if asked of its collection, for it alone.
        collection = Collection(resource.user, resource.collection)
        if root.tag == caldav("calendar-multiget"):
            return await handler(ctx, root, collection)
        raise SupportedReport("this report is served on calendar collections")
    if not isinstance(resource, Collection):
        if isinstance(resource, PrincipalCollection) or root.tag != dav("sync-collection"):
            raise SupportedReport("this report is served on calendar collections")
        raise SupportedReport("sync-collection is served on calendar collections")
    if root.tag == caldav("free-busy-query") and resource.row.kind != "calendar":
        raise NotFound("free-busy-query is served on calendars")
    return await handler(ctx, root, resource)

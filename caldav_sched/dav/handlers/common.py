"""Request helpers shared by the handlers: bodies, Depth, conditions."""

from __future__ import annotations

from caldav_sched.dav import xml
from caldav_sched.dav.context import DavContext
from caldav_sched.dav.errors import BadRequest
from caldav_sched.domain.conditions import Preconditions, parse_etag_list


async def read_xml(ctx: DavContext) -> xml.Element | None:
    return xml.parse_body(await ctx.request.read())


def depth(ctx: DavContext, default: str = "infinity") -> str:
    value = ctx.request.headers.get("Depth", default).strip().lower()
    if value not in ("0", "1", "infinity"):
        raise BadRequest(f"invalid Depth header: {value!r}")
    return value


def preconditions(ctx: DavContext) -> Preconditions:
    headers = ctx.request.headers
    return Preconditions(
        if_match=parse_etag_list(headers.get("If-Match")),
        if_none_match=parse_etag_list(headers.get("If-None-Match")),
        if_schedule_tag_match=headers.get("If-Schedule-Tag-Match"),
    )

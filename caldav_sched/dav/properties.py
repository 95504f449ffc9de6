"""WebDAV, CalDAV and client-extension properties, keyed by Clark name.

Each live property is one small function from (context, resource) to the
property element, or ``None`` when it does not apply to that resource (the
caller reports those as 404 in the propstat).  ``LIVE`` registers them all in
one place; ``SETTABLE`` says which PROPPATCH may change and how they map to
collection columns.  Dead properties on collections are stored verbatim.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from functools import lru_cache
from operator import itemgetter

from caldav_sched.config import Settings
from caldav_sched.dav import xml
from caldav_sched.dav.resources import (
    CalendarHome,
    CalendarObject,
    Collection,
    Hrefs,
    Principal,
    PrincipalCollection,
    Resource,
    Root,
)
from caldav_sched.dav.xml import Element, apple, caldav, cs, dav, element, sub
from caldav_sched.store.objects import Listed
from caldav_sched.store.users import UserRow

SYNC_TOKEN_PREFIX = "http://caldav-sched.invalid/sync/"


@dataclass(frozen=True)
class PropContext:
    hrefs: Hrefs
    user: UserRow
    settings: Settings


Getter = Callable[[PropContext, Resource], Element | None]


@dataclass(frozen=True)
class LiveProperty:
    name: str
    get: Getter
    in_allprop: bool = False


def sync_token(row_id: int, modseq: int) -> str:
    return f"{SYNC_TOKEN_PREFIX}{row_id}-{modseq}"


@lru_cache(maxsize=4096)
def http_date(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso), usegmt=True)


def content_type(component: str) -> str:
    return f"text/calendar; charset=utf-8; component={component.lower()}"


def _owner_of(resource: Resource) -> UserRow | None:
    if isinstance(resource, (Principal, CalendarHome, Collection, CalendarObject)):
        return resource.user
    return None


def _hrefs(name: str, *hrefs: str) -> Element:
    el = element(name)
    for href in hrefs:
        sub(el, dav("href"), href)
    return el


# -- generic WebDAV ----------------------------------------------------------


def _resourcetype(ctx: PropContext, r: Resource) -> Element:
    el = element(dav("resourcetype"))
    if isinstance(r, CalendarObject):
        return el
    sub(el, dav("collection"))
    if isinstance(r, Principal):
        sub(el, dav("principal"))
    elif isinstance(r, Collection):
        kind = r.row.kind
        sub(el, caldav("calendar") if kind == "calendar" else caldav(f"schedule-{kind}"))
    return el


def _displayname(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Principal):
        return element(dav("displayname"), r.user.name)
    if isinstance(r, Collection) and r.row.displayname is not None:
        return element(dav("displayname"), r.row.displayname)
    if isinstance(r, CalendarHome):
        return element(dav("displayname"), f"{r.user.name}'s calendars")
    return None


def _getetag(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, CalendarObject):
        return element(dav("getetag"), r.row.etag)
    if isinstance(r, Collection):
        return element(dav("getetag"), f'"{r.row.id}-{r.row.modseq}"')
    return None


def _getcontenttype(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, CalendarObject):
        return element(dav("getcontenttype"), content_type(r.row.component))
    return None


def _getcontentlength(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, CalendarObject):
        return element(dav("getcontentlength"), str(r.row.size))
    return None


def _getlastmodified(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, CalendarObject):
        return element(dav("getlastmodified"), http_date(r.row.modified_at))
    return None


def simple_object_values(
    names: Sequence[str], etag: str, component: str, size: int, modified_at: str
) -> list[tuple[str, str | None]]:
    """The texts of simple object properties (``xml.SIMPLE_OBJECT_PROPERTIES``),
    in the order asked, for ``xml.simple_response``: the same values as the
    getters above give a calendar object resource."""
    values: list[tuple[str, str | None]] = []
    for name in names:
        if name == _GETETAG:
            values.append((name, etag))
        elif name == _GETCONTENTTYPE:
            values.append((name, content_type(component)))
        elif name == _GETLASTMODIFIED:
            values.append((name, http_date(modified_at)))
        elif name == _GETCONTENTLENGTH:
            values.append((name, str(size)))
        elif name == _RESOURCETYPE:
            values.append((name, None))
        else:
            raise ValueError(f"not a simple object property: {name}")
    return values


def listing_responses(
    base_href: str, names: Sequence[str], component: str, listing: Iterable[Listed]
) -> Iterator[str]:
    """The DAV:responses of a listing: simple properties (the names) of
    objects of one component in the collection at ``base_href``, with the
    texts ``simple_object_values`` gives."""
    template = xml.SimpleListing(base_href, names, content_type(component))
    members = list(listing)
    dates = (
        map(http_date, map(_MODIFIED_AT, members)) if _GETLASTMODIFIED in names
        else itertools.repeat("")
    )
    return template.render_many(
        Hrefs.segments(list(map(_NAME, members))), list(map(_ETAG, members)),
        map(_SIZE, members), dates,
    )


# The fields of a Listed.
_NAME, _ETAG, _SIZE, _MODIFIED_AT = (itemgetter(i) for i in range(4))


_GETETAG = dav("getetag")
_GETCONTENTTYPE = dav("getcontenttype")
_GETLASTMODIFIED = dav("getlastmodified")
_GETCONTENTLENGTH = dav("getcontentlength")
_RESOURCETYPE = dav("resourcetype")


def _creationdate(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Collection):
        return element(dav("creationdate"), r.row.created_at.replace("+00:00", "Z"))
    return None


def _current_user_principal(ctx: PropContext, r: Resource) -> Element:
    return _hrefs(dav("current-user-principal"), ctx.hrefs.principal(ctx.user.name))


def _principal_url(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Principal):
        return _hrefs(dav("principal-URL"), ctx.hrefs.principal(r.user.name))
    return None


def _principal_collection_set(ctx: PropContext, r: Resource) -> Element:
    return _hrefs(dav("principal-collection-set"), ctx.hrefs.principals())


def _owner(ctx: PropContext, r: Resource) -> Element | None:
    user = _owner_of(r)
    if user is None:
        return None
    return _hrefs(dav("owner"), ctx.hrefs.principal(user.name))


def _group_membership(ctx: PropContext, r: Resource) -> Element | None:
    return element(dav("group-membership")) if isinstance(r, Principal) else None


def _privileges(ctx: PropContext, r: Resource) -> list[str]:
    owner = _owner_of(r)
    if owner is None or owner.id != ctx.user.id:
        return ["read", "read-current-user-privilege-set"]
    names = [
        "read",
        "write",
        "write-properties",
        "write-content",
        "bind",
        "unbind",
        "read-current-user-privilege-set",
    ]
    if isinstance(r, Collection) and r.row.kind == "inbox":
        names.append("schedule-deliver")
    if isinstance(r, Collection) and r.row.kind == "outbox":
        names.append("schedule-send")
    return names


def _current_user_privilege_set(ctx: PropContext, r: Resource) -> Element:
    el = element(dav("current-user-privilege-set"))
    for name in _privileges(ctx, r):
        privilege = sub(el, dav("privilege"))
        sub(privilege, caldav(name) if name.startswith("schedule-") else dav(name))
    return el


def _supported_report_set(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Collection):
        reports = [dav("sync-collection"), caldav("calendar-multiget"), caldav("calendar-query")]
        if r.row.kind == "calendar":
            reports.append(caldav("free-busy-query"))
    elif isinstance(r, (Principal, PrincipalCollection)):
        reports = [dav("principal-property-search"), dav("principal-search-property-set")]
    elif isinstance(r, CalendarHome):
        reports = [caldav("calendar-multiget")]
    else:
        return None
    el = element(dav("supported-report-set"))
    for name in reports:
        report = sub(sub(el, dav("supported-report")), dav("report"))
        sub(report, name)
    return el


def _sync_token(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Collection):
        return element(dav("sync-token"), sync_token(r.row.id, r.row.modseq))
    return None


def _getctag(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Collection):
        return element(cs("getctag"), f'"{r.row.id}-{r.row.modseq}"')
    return None


# -- CalDAV principal properties (RFC 4791 6.2.1, RFC 6638 2.x) -------------


def _calendar_home_set(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Principal):
        return _hrefs(caldav("calendar-home-set"), ctx.hrefs.home(r.user.name))
    return None


def _calendar_user_address_set(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Principal):
        return _hrefs(
            caldav("calendar-user-address-set"),
            f"mailto:{r.user.email}",
            ctx.hrefs.principal(r.user.name),
        )
    return None


def _calendar_user_type(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Principal):
        return element(caldav("calendar-user-type"), "INDIVIDUAL")
    return None


def _schedule_inbox_url(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Principal):
        return _hrefs(caldav("schedule-inbox-URL"), ctx.hrefs.collection(r.user.name, "inbox"))
    return None


def _schedule_outbox_url(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Principal):
        return _hrefs(caldav("schedule-outbox-URL"), ctx.hrefs.collection(r.user.name, "outbox"))
    return None


def _schedule_default_calendar_url(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Collection) and r.row.kind == "inbox":
        return _hrefs(
            caldav("schedule-default-calendar-URL"), ctx.hrefs.collection(r.user.name, "event")
        )
    return None


def _email_address_set(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Principal):
        el = element(cs("email-address-set"))
        sub(el, cs("email-address"), r.user.email)
        return el
    return None


# -- CalDAV collection properties (RFC 4791 5.2) -----------------------------


def _calendar_only(getter: Callable[[Collection], Element | None]) -> Getter:
    def get(ctx: PropContext, r: Resource) -> Element | None:
        if isinstance(r, Collection) and r.row.kind == "calendar":
            return getter(r)
        return None

    return get


def _description(c: Collection) -> Element | None:
    if c.row.description is None:
        return None
    return element(caldav("calendar-description"), c.row.description)


def _color(c: Collection) -> Element | None:
    return None if c.row.color is None else element(apple("calendar-color"), c.row.color)


def _timezone(c: Collection) -> Element | None:
    return None if c.row.timezone is None else element(caldav("calendar-timezone"), c.row.timezone)


def _components(ctx: PropContext, r: Resource) -> Element | None:
    if not isinstance(r, Collection):
        return None
    el = element(caldav("supported-calendar-component-set"))
    kinds = r.row.components if r.row.kind == "calendar" else ("VEVENT", "VTODO", "VFREEBUSY")
    for kind in kinds:
        sub(el, caldav("comp")).set("name", kind)
    return el


def _calendar_data_types(ctx: PropContext, r: Resource) -> Element | None:
    if not isinstance(r, Collection):
        return None
    el = element(caldav("supported-calendar-data"))
    data = sub(el, caldav("calendar-data"))
    data.set("content-type", "text/calendar")
    data.set("version", "2.0")
    return el


def _max_resource_size(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Collection) and r.row.kind == "calendar":
        return element(caldav("max-resource-size"), str(ctx.settings.limits.max_resource_size))
    return None


def _max_instances(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, Collection) and r.row.kind == "calendar":
        return element(caldav("max-instances"), str(ctx.settings.limits.max_instances))
    return None


def _schedule_transp(c: Collection) -> Element:
    el = element(caldav("schedule-calendar-transp"))
    sub(el, caldav("opaque"))
    return el


def _calendar_data(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, CalendarObject) and r.row.data is not None:
        return element(caldav("calendar-data"), r.row.data.decode("utf-8"))
    return None


def _schedule_tag(ctx: PropContext, r: Resource) -> Element | None:
    if isinstance(r, CalendarObject) and r.row.schedule_tag:
        return element(caldav("schedule-tag"), r.row.schedule_tag)
    return None


_PROPERTIES = [
    LiveProperty(dav("resourcetype"), _resourcetype, True),
    LiveProperty(dav("displayname"), _displayname, True),
    LiveProperty(dav("getetag"), _getetag, True),
    LiveProperty(dav("getcontenttype"), _getcontenttype, True),
    LiveProperty(dav("getcontentlength"), _getcontentlength, True),
    LiveProperty(dav("getlastmodified"), _getlastmodified, True),
    LiveProperty(dav("creationdate"), _creationdate, True),
    LiveProperty(dav("current-user-principal"), _current_user_principal),
    LiveProperty(dav("principal-URL"), _principal_url),
    LiveProperty(dav("principal-collection-set"), _principal_collection_set),
    LiveProperty(dav("owner"), _owner),
    LiveProperty(dav("group-membership"), _group_membership),
    LiveProperty(dav("current-user-privilege-set"), _current_user_privilege_set),
    LiveProperty(dav("supported-report-set"), _supported_report_set),
    LiveProperty(dav("sync-token"), _sync_token),
    LiveProperty(cs("getctag"), _getctag),
    LiveProperty(cs("email-address-set"), _email_address_set),
    LiveProperty(caldav("calendar-home-set"), _calendar_home_set),
    LiveProperty(caldav("calendar-user-address-set"), _calendar_user_address_set),
    LiveProperty(caldav("calendar-user-type"), _calendar_user_type),
    LiveProperty(caldav("schedule-inbox-URL"), _schedule_inbox_url),
    LiveProperty(caldav("schedule-outbox-URL"), _schedule_outbox_url),
    LiveProperty(caldav("schedule-default-calendar-URL"), _schedule_default_calendar_url),
    LiveProperty(caldav("calendar-description"), _calendar_only(_description)),
    LiveProperty(apple("calendar-color"), _calendar_only(_color)),
    LiveProperty(caldav("calendar-timezone"), _calendar_only(_timezone)),
    LiveProperty(caldav("supported-calendar-component-set"), _components),
    LiveProperty(caldav("supported-calendar-data"), _calendar_data_types),
    LiveProperty(caldav("max-resource-size"), _max_resource_size),
    LiveProperty(caldav("max-instances"), _max_instances),
    LiveProperty(caldav("schedule-calendar-transp"), _calendar_only(_schedule_transp)),
    LiveProperty(caldav("calendar-data"), _calendar_data),
    LiveProperty(caldav("schedule-tag"), _schedule_tag),
]

LIVE: dict[str, LiveProperty] = {p.name: p for p in _PROPERTIES}

# PROPPATCH-able live properties and the collection column each one is kept in.
SETTABLE: dict[str, str] = {
    dav("displayname"): "displayname",
    caldav("calendar-description"): "description",
    apple("calendar-color"): "color",
    caldav("calendar-timezone"): "timezone",
}

# Settable at MKCALENDAR / extended MKCOL time only (RFC 4791 5.2.3).
CREATE_ONLY = {caldav("supported-calendar-component-set")}


def dead_properties(r: Resource) -> dict[str, str]:
    if isinstance(r, Collection):
        return r.row.dead_props
    return {}


def get_property(ctx: PropContext, r: Resource, name: str) -> Element | None:
    live = LIVE.get(name)
    if live is not None:
        return live.get(ctx, r)
    stored = dead_properties(r).get(name)
    return xml.from_string(stored) if stored is not None else None


def allprop_names(r: Resource) -> list[str]:
    names = [p.name for p in _PROPERTIES if p.in_allprop]
    names += list(dead_properties(r))
    return names


def propname_names(ctx: PropContext, r: Resource) -> list[str]:
    names = [p.name for p in _PROPERTIES if p.get(ctx, r) is not None]
    return names + list(dead_properties(r))


__all__ = [
    "LIVE",
    "SETTABLE",
    "CREATE_ONLY",
    "PropContext",
    "Root",
    "allprop_names",
    "content_type",
    "get_property",
    "http_date",
    "propname_names",
    "sync_token",
]

"""The one place where failures become HTTP responses.

Handlers, services, the store and the domain raise their own exceptions; this
middleware maps each to a status (and a ``DAV:error`` precondition element
where WebDAV or CalDAV defines one), so no handler builds an error response.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from caldav_sched.dav import errors as dav_errors
from caldav_sched.dav import xml
from caldav_sched.dav.keys import HREFS, REALM
from caldav_sched.dav.methods import allowed_methods
from caldav_sched.domain.ical import InvalidObjectResource
from caldav_sched.domain.query import UnsupportedCollation
from caldav_sched.errors import InvalidCalendarData
from caldav_sched.services import errors as service_errors
from caldav_sched.store.errors import DatabaseUnavailable

log = logging.getLogger("caldav_sched.dav")

# Lower-layer exceptions and the DAV condition each one means.
TRANSLATIONS: dict[type[Exception], type[dav_errors.DavError]] = {
    InvalidCalendarData: dav_errors.ValidCalendarData,
    InvalidObjectResource: dav_errors.ValidCalendarObjectResource,
    UnsupportedCollation: dav_errors.SupportedCollation,
    service_errors.NotFound: dav_errors.NotFound,
    service_errors.UnknownUser: dav_errors.NotFound,
    service_errors.AlreadyExists: dav_errors.ResourceMustBeNull,
    service_errors.PreconditionFailed: dav_errors.PreconditionFailed,
    service_errors.UidInUse: dav_errors.NoUidConflict,
    service_errors.ComponentNotSupported: dav_errors.SupportedCalendarComponent,
    service_errors.ResourceTooLarge: dav_errors.MaxResourceSize,
    service_errors.TooManyInstances: dav_errors.MaxInstances,
    service_errors.NotAllowed: dav_errors.Forbidden,
    service_errors.InvalidInput: dav_errors.BadRequest,
    service_errors.InvalidSyncToken: dav_errors.ValidSyncToken,
    service_errors.Contention: dav_errors.Conflict,
    service_errors.DestinationScheduled: dav_errors.Conflict,
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def translate(exc: Exception) -> dav_errors.DavError | None:
    for cls in type(exc).__mro__:
        target = TRANSLATIONS.get(cls)  # type: ignore[arg-type]
        if target is not None:
            return target(str(exc))
    return None


def render(error: dav_errors.DavError, request: web.Request) -> web.Response:
    headers: dict[str, str] = {}
    if isinstance(error, dav_errors.Unauthorized):
        realm = request.app[REALM]
        headers["WWW-Authenticate"] = f'Basic realm="{realm}", charset="UTF-8"'
    if error.status == 405:
        allow = getattr(error, "allow", ()) or allowed_methods(
            request.app[HREFS].relative(request.path)
        )
        headers["Allow"] = ", ".join(allow)
    if error.precondition is not None:
        body = xml.error_element(error.precondition, error.href)
        desc = xml.sub(body, "{http://caldav-sched.invalid/ns}description", error.message)
        desc.text = error.message
        return web.Response(
            status=error.status,
            body=xml.serialise(body),
            content_type="application/xml",
            charset="utf-8",
            headers=headers,
        )
    if request.method == "HEAD":
        return web.Response(status=error.status, headers=headers)
    return web.Response(status=error.status, text=error.message + "\n", headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except dav_errors.DavError as error:
        # A 502 names the client's Destination on another server: nothing failed here.
        if error.status >= 500 and not isinstance(error, dav_errors.BadGateway):
            log.error("%s %s: %s", request.method, request.path, error)
        return render(error, request)
    except web.HTTPException:
        raise
    except DatabaseUnavailable as exc:
        log.error("%s %s: %s", request.method, request.path, exc)
        return web.Response(status=503, text="the database is unavailable\n")
    except Exception as exc:
        translated = translate(exc)
        if translated is None:
            log.exception("%s %s failed", request.method, request.path)
            return web.Response(status=500, text="internal server error\n")
        return render(translated, request)

"""The one place where failures become HTTP responses.

Handlers, services, the store and the domain raise their own exceptions; this
middleware maps each to a status (and a ``DAV:error`` precondition element
where WebDAV or CalDAV defines one), so no handler builds an error response.

It is also the last line: anything else that escapes a handler is logged
once, with a request id, and answered with a plain 500 that names the id
(header ``X-Request-ID`` and body), never with aiohttp's own error page.
An error after a streamed answer's headers went out (a large multistatus)
cannot change its status any more: it is logged the same way and the
connection is closed, so the client sees a cut body rather than a complete
but wrong one.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from caldav_sched.dav import errors as dav_errors
from caldav_sched.dav import xml
from caldav_sched.dav.keys import HREFS, REALM, STREAMING
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
        xml.sub(body, "{http://caldav-sched.invalid/ns}description", error.message)
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


class MalformedRequestRecords(logging.Filter):
    """aiohttp's own records of requests it could not parse, as one line each.

    A request line or header that breaks HTTP (a control character in a
    header, a line too long) is answered 400 by aiohttp's parser before any
    middleware runs, and aiohttp logs it at ERROR with a traceback.  It is
    the client's fault, so it becomes one WARNING line without a traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.args = (record.getMessage(), exc.code, " ".join(str(exc.message).split()))
            record.msg = "%s: %s %s"
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


_MALFORMED = MalformedRequestRecords()


def quiet_malformed_requests() -> None:
    """Install the filter on aiohttp's server logger (once)."""
    logger = logging.getLogger("aiohttp.server")
    if _MALFORMED not in logger.filters:
        logger.addFilter(_MALFORMED)


def request_id() -> str:
    return secrets.token_hex(6)


def internal_error(request: web.Request, exc: BaseException) -> web.StreamResponse:
    """One logged error with a request id; a plain 500, or a cut connection mid-stream."""
    rid = request_id()
    log.error(
        "%s %s failed (request id %s): %s: %s",
        request.method, request.path, rid, type(exc).__name__, exc, exc_info=exc,
    )
    streamed = request.get(STREAMING)
    if streamed is not None and streamed.prepared:
        if request.transport is not None:
            request.transport.close()
        return streamed
    return web.Response(
        status=500,
        text=f"internal server error (request id {rid})\n",
        headers={"X-Request-ID": rid},
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:
        try:
            return _answer(request, exc)
        except Exception as failure:  # rendering the answer failed too
            return internal_error(request, failure)


def _answer(request: web.Request, exc: Exception) -> web.StreamResponse:
    streamed = request.get(STREAMING)
    if streamed is not None and streamed.prepared:
        return internal_error(request, exc)
    if isinstance(exc, dav_errors.DavError):
        # A 502 names the client's Destination on another server: nothing failed here.
        if exc.status >= 500 and not isinstance(exc, dav_errors.BadGateway):
            log.error("%s %s: %s", request.method, request.path, exc)
        return render(exc, request)
    if isinstance(exc, DatabaseUnavailable):
        log.error("%s %s: %s", request.method, request.path, exc)
        return web.Response(status=503, text="the database is unavailable\n")
    translated = translate(exc)
    if translated is None:
        return internal_error(request, exc)
    return render(translated, request)

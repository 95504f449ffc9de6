"""The aiohttp application: routing, authentication, and lifecycle.

Every path under ``server.base_path`` goes to one dispatcher, which
authenticates the request, builds a ``DavContext`` and calls the handler for
the method.  The database opens and closes in the app's cleanup context.

Middlewares, outermost first: the proxy's (who the client is), the request
log and metrics, the error renderer.  ``/healthz`` and ``/metrics`` are served
at the root and, with a base path, under it too.

Authentication: a trusted proxy's user header (``server.proxy_user_header``)
when the proxy sent one, else HTTP Basic against the stored argon2 hashes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from caldav_sched.config import Settings
from caldav_sched.dav.context import DavContext
from caldav_sched.dav.errors import Forbidden, MethodNotAllowed, NotFound, Unauthorized
from caldav_sched.dav.handlers import objects, outbox, properties, reports, transfer
from caldav_sched.dav.keys import AUTHENTICATOR, HREFS, IMAP_CONSUMER, REALM, SERVICES
from caldav_sched.dav.middleware import error_middleware, quiet_malformed_requests
from caldav_sched.dav.monitoring import USER, Monitoring, RequestMetrics, observe_middleware
from caldav_sched.dav.proxy import PROXY_USER, AddressSet, ProxyTrust, proxy_middleware
from caldav_sched.dav.resources import Hrefs
from caldav_sched.mail.outbound import mailer_for
from caldav_sched.queue.worker import WorkerPool, holder_name
from caldav_sched.services import Clock, Services, SystemClock, time_ranges
from caldav_sched.services.delivery import ImipDelivery
from caldav_sched.services.inbound import InboundProcessing
from caldav_sched.mail.imap import ImapConsumer
from caldav_sched.mail.inbound import LmtpListener
from caldav_sched.services.users import Authenticator
from caldav_sched.store.backend import make_database
from caldav_sched.store.migrate import migrate
from caldav_sched.store.users import UserRow
from caldav_sched.web import rsvp_app

log = logging.getLogger("caldav_sched.dav")


DAV_CLASSES = "1, 3, access-control, calendar-access, calendar-auto-schedule, extended-mkcol"
ALLOW = (
    "OPTIONS, GET, HEAD, POST, PUT, DELETE, PROPFIND, PROPPATCH, REPORT, MKCALENDAR, MKCOL,"
    " COPY, MOVE"
)

Handler = Callable[[DavContext], Awaitable[web.StreamResponse]]

HANDLERS: dict[str, Handler] = {
    "GET": objects.get,
    "HEAD": objects.get,
    "PUT": objects.put,
    "DELETE": objects.delete,
    "PROPFIND": properties.propfind,
    "PROPPATCH": properties.proppatch,
    "MKCALENDAR": properties.mkcalendar,
    "MKCOL": properties.mkcalendar,
    "REPORT": reports.report,
    "POST": outbox.post,
    "COPY": transfer.copy,
    "MOVE": transfer.move,
}


def _credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = decoded.partition(":")
    return (name, password) if sep else None


async def authenticate(request: web.Request) -> UserRow:
    proxy_user = request.get(PROXY_USER)
    if proxy_user is not None:
        # The proxy authenticated the client; it only names the account.
        user = await request.app[AUTHENTICATOR].user(proxy_user)
        if user is None or user.disabled:
            log.warning("the proxy's user %r is unknown or disabled", proxy_user)
            raise Forbidden(f"the proxy's user {proxy_user!r} is unknown or disabled")
        return user
    credentials = _credentials(request)
    if credentials is None:
        raise Unauthorized("authentication required")
    user = await request.app[AUTHENTICATOR].authenticate(*credentials)
    if user is None:
        raise Unauthorized("wrong user name or password, or the account is disabled")
    return user


def relative_path(request: web.Request) -> str:
    base = request.app[HREFS].base
    path = request.path
    if base:
        if path != base and not path.startswith(base + "/"):
            raise NotFound(f"nothing is served at {path}")
        path = path[len(base) :] or "/"
    return path


async def options(request: web.Request) -> web.Response:
    return web.Response(
        status=200,
        headers={"DAV": DAV_CLASSES, "Allow": ALLOW, "MS-Author-Via": "DAV"},
    )


async def well_known(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently(location=request.app[HREFS].root())


async def dispatch(request: web.Request) -> web.StreamResponse:
    if request.method == "OPTIONS":
        return await options(request)
    handler = HANDLERS.get(request.method)
    if handler is None:
        raise MethodNotAllowed(f"{request.method} is not supported here")
    path = relative_path(request)
    user = await authenticate(request)
    request[USER] = user.name
    ctx = DavContext(
        request=request,
        services=request.app[SERVICES],
        hrefs=request.app[HREFS],
        user=user,
        path=path,
    )
    response = await handler(ctx)
    response.headers.setdefault("DAV", DAV_CLASSES)
    return response


def make_worker_pool(services: Services) -> WorkerPool:
    settings = services.settings
    mailer = mailer_for(settings.mail, settings.smtp)
    delivery = ImipDelivery(services, mailer)
    processing = InboundProcessing(services)
    return WorkerPool(
        services,
        {delivery.kind: delivery, processing.kind: processing},
        concurrency=settings.queue.workers,
        poll_interval=settings.queue.poll_interval,
        lease_seconds=max(int(settings.smtp.timeout * 2) + 30, 60),
    )


def make_app(
    settings: Settings,
    services: Services | None = None,
    *,
    clock: Clock | None = None,
    workers: bool = True,
) -> web.Application:
    """The CalDAV application with its job workers.

    It opens its own database unless *services* is given; *clock* replaces
    the system clock (tests of dated scenarios).
    """
    metrics = RequestMetrics()
    quiet_malformed_requests()
    app = web.Application(
        middlewares=[
            proxy_middleware(ProxyTrust(settings.server)),
            observe_middleware(metrics, log_requests=settings.log.requests),
            error_middleware,
        ],
        client_max_size=settings.limits.max_request_body,
    )
    app[REALM] = settings.server.realm
    app[HREFS] = Hrefs(settings.server.base_path)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        owned = services is None
        if owned:
            db = make_database(settings.storage, readers=settings.server.reader_connections)
            await db.open()
            applied = await migrate(db)
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))
            app[SERVICES] = Services(db=db, settings=settings, clock=clock or SystemClock())
        else:
            app[SERVICES] = services
        app[AUTHENTICATOR] = Authenticator(app[SERVICES])
        pool = None
        if workers and settings.queue.workers > 0:
            pool = make_worker_pool(app[SERVICES])
            await pool.start()
        # After an upgrade, objects stored before the time table get their
        # rows; then series are kept ahead of their horizon.
        indexing = asyncio.create_task(
            time_ranges.keep_up(app[SERVICES], holder_name()), name="time table"
        )
        listener = LmtpListener(app[SERVICES])
        if listener.configured:
            await listener.start()
        consumer = ImapConsumer(app[SERVICES])
        if consumer.configured:
            app[IMAP_CONSUMER] = consumer
            await consumer.start()
        yield
        indexing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await indexing
        if consumer.configured:
            await consumer.stop()
        await listener.stop()
        if pool is not None:
            await pool.stop()
        if owned:
            await app[SERVICES].db.close()

    app.cleanup_ctx.append(lifecycle)
    base = settings.server.base_path
    monitoring = Monitoring(
        lambda: app[SERVICES], metrics, AddressSet(settings.server.monitoring_clients),
        imap=lambda: app.get(IMAP_CONSUMER),
    )
    for prefix in ("", base) if base else ("",):
        for well_known_path in ("/.well-known/caldav", "/.well-known/caldav/"):
            app.router.add_route("*", prefix + well_known_path, well_known)
        app.router.add_get(prefix + "/healthz", monitoring.healthz)
        app.router.add_get(prefix + "/metrics", monitoring.metrics_text)
    app.add_subapp(base + "/rsvp", rsvp_app(settings, lambda: app[SERVICES]))  # no login
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app

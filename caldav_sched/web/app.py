"""The RSVP sub-application: routes under ``<base_path>/rsvp``, templates, headers.

``rsvp_app`` is mounted by ``dav.app.make_app`` with a function that gives
the running ``Services`` (the parent application opens them).  Every
response gets headers for a page that holds a secret in its address: no
caching of pages, no Referer to other sites, no framing, scripts and styles
only from here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp_jinja2
import jinja2
from aiohttp import web

from caldav_sched.config import Settings
from caldav_sched.services import Services

from . import pages
from .assets import Assets
from .keys import ASSETS, LIMITER, PREFIX, SECRET, SERVICES, STRINGS, SecretCache
from .limits import RateLimiter
from .strings import DEFAULT

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def page_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def rsvp_app(settings: Settings, services: Callable[[], Services]) -> web.Application:
    """The pages, to be mounted at ``<base_path>/rsvp``."""
    prefix = settings.server.base_path + "/rsvp"
    app = web.Application(middlewares=[page_headers])
    assets = Assets(prefix)
    app[SERVICES] = services
    app[PREFIX] = prefix
    app[ASSETS] = assets
    app[STRINGS] = DEFAULT
    app[LIMITER] = RateLimiter(settings.server.rsvp_posts_per_minute)
    app[SECRET] = SecretCache()
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("caldav_sched.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["static"] = assets.url
    app.router.add_get("/static/{name}", assets.serve)
    app.router.add_get("/{token}", pages.show)
    app.router.add_post("/{token}", pages.answer)
    return app

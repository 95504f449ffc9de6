"""Running the server as a daemon: the HTTP listener and its lifecycle."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from caldav_sched.config import Settings
from caldav_sched.dav.app import make_app

log = logging.getLogger("caldav_sched")


def serve(settings: Settings) -> int:
    """Run until SIGTERM or SIGINT; aiohttp finishes requests in flight first."""
    app = make_app(settings)
    base = settings.server.base_path or ""
    log.info(
        "serving CalDAV on http://%s:%d%s/ (database %s)",
        settings.server.host,
        settings.server.port,
        base,
        settings.storage.path,
    )
    web.run_app(
        app,
        host=settings.server.host,
        port=settings.server.port,
        print=None,
        access_log=None,
        shutdown_timeout=30.0,
        loop=asyncio.new_event_loop(),
    )
    return 0

"""Typed keys for what the RSVP sub-application holds."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from caldav_sched.services import Services

from .assets import Assets
from .limits import RateLimiter
from .strings import Strings

SERVICES = web.AppKey("rsvp_services", Callable[[], Services])
PREFIX = web.AppKey("rsvp_prefix", str)
ASSETS = web.AppKey("rsvp_assets", Assets)
STRINGS = web.AppKey("rsvp_strings", Strings)
LIMITER = web.AppKey("rsvp_limiter", RateLimiter)


class SecretCache:
    """The form secret, read from the database on first use (it never changes)."""

    value: bytes | None = None


SECRET = web.AppKey("rsvp_secret", SecretCache)

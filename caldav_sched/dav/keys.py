"""Typed keys for what the aiohttp application holds (no globals)."""

from __future__ import annotations

from aiohttp import web

from caldav_sched.dav.resources import Hrefs
from caldav_sched.mail.imap import ImapConsumer
from caldav_sched.services import Services
from caldav_sched.services.users import Authenticator

SERVICES = web.AppKey("services", Services)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
HREFS = web.AppKey("hrefs", Hrefs)
REALM = web.AppKey("realm", str)
IMAP_CONSUMER = web.AppKey("imap_consumer", ImapConsumer)
# The streamed answer of a request once its headers are sent (a large multistatus).
STREAMING = web.RequestKey("streaming", web.StreamResponse)

"""iMIP: iTIP messages as email (RFC 6047), outbound rendering and reply tokens.

Layer: ``domain``.  Pure: no I/O, no clock, no randomness (the caller passes
``now``, the Message-ID and the token's random bytes); the standard
``email`` package builds the MIME, icalendar the calendar.  Imports nothing
from store, services, dav, mail, queue or cli.

Public API
----------
``new_token(random_bytes) -> str``
    A reply token: >= 128 bits as lower-case base32 without padding.
``token_address(from_address, token) -> str``
    ``calendar@cal.example.com`` -> ``calendar+<token>@cal.example.com``.
``token_from_address(address, from_address) -> str | None``
    The token in one of our plus-addresses (any case, display-name and
    ``mailto:`` forms), None for anything else.
``render_imip(message, *, from_address, organizer_name, organizer_address,
token, message_id, now, changes=(), service_name="caldav_sched",
is_update=None) -> EmailMessage``
    The mail for one ``ItipMessage``: DMARC-safe From, token Reply-To and
    ORGANIZER, subject by action, text + HTML + text/calendar alternatives
    plus an ``invite.ics`` attachment.  ``render.py`` documents the choices.

Modules: ``tokens`` (token format), ``render`` (headers and MIME),
``wire`` (the calendar as mailed: rewrite, spelling, folding),
``summary`` (text and HTML bodies), ``when`` (times and RRULEs in words),
``headers`` (scrubbing untrusted text for headers).
"""

from __future__ import annotations

from .render import Action, classify, render_imip, subject_for
from .tokens import is_token, new_token, token_address, token_from_address
from .wire import serialize

__all__ = [
    "Action",
    "classify",
    "is_token",
    "new_token",
    "render_imip",
    "serialize",
    "subject_for",
    "token_address",
    "token_from_address",
]

# Inbound mail (``inbound``): reading replies, bounces and their tokens.
from .inbound import (  # noqa: E402
    Bounce,
    CalendarPart,
    FailedRecipient,
    InboundMail,
    NotMail,
    Recipients,
    bounce_token_candidates,
    read_mail,
    token_candidates,
)

__all__ += [
    "Bounce",
    "CalendarPart",
    "FailedRecipient",
    "InboundMail",
    "NotMail",
    "Recipients",
    "bounce_token_candidates",
    "read_mail",
    "token_candidates",
]

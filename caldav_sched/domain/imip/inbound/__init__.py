"""Inbound iMIP: one raw mail in, what it says out (RFC 6047, 5546, 3464).

Layer: ``domain``.  Pure: no I/O, no clock, no logging; the standard
``email`` package (``policy.default``) reads the MIME, icalendar the
calendars.  Imports nothing from store, services, dav, mail, queue or cli.
Nothing here decides trust or applies a reply: the services layer takes the
``InboundMail``, looks the tokens up, checks Authentication-Results against
its configured hosts, and hands the calendars to the iTIP engine.

Public API
----------
``read_mail(raw, *, max_calendar_size=1_048_576) -> InboundMail``
    Headers (Message-ID, From, Subject, recipients, automation marks,
    Authentication-Results), the distinct calendar parts found anywhere in
    the MIME tree, a ``Bounce`` for a DSN reporting a failure, and notes on
    whatever was skipped.  Raises ``NotMail`` only for bytes that are not a
    mail at all; a bad part is a note, never an exception.
``require_mail(raw)``
    Raises ``NotMail`` unless the bytes open with a mail header block
    (headers only: the check before a pipe's message is stored).
``token_candidates(mail, *, envelope_recipients, from_address) -> tuple[str, ...]``
    The reply tokens in our plus-addresses, most trusted first: envelope
    RCPT TO, Delivered-To, X-Original-To, To, Cc (anchors 6.2 #12).
``bounce_token_candidates(bounce, *, from_address) -> tuple[str, ...]``
    The tokens of the invitation a DSN returned (its ORGANIZER, Reply-To).

Records (``model``): ``InboundMail``, ``Recipients``, ``CalendarPart``,
``Bounce``, ``FailedRecipient``; the error ``NotMail``.

Modules: ``reader`` (the entry points), ``tree`` (the MIME walk and what
counts as a calendar), ``calendars`` (decoding, repairs, digest),
``dsn`` (delivery reports), ``fields`` (header values), ``model``.
"""

from __future__ import annotations

from .model import Bounce, CalendarPart, FailedRecipient, InboundMail, NotMail, Recipients
from .reader import bounce_token_candidates, read_mail, require_mail, token_candidates

__all__ = [
    "Bounce",
    "CalendarPart",
    "FailedRecipient",
    "InboundMail",
    "NotMail",
    "Recipients",
    "bounce_token_candidates",
    "read_mail",
    "require_mail",
    "token_candidates",
]

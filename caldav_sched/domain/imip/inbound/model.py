"""What reading one inbound mail gives: frozen records, and the one error.

Owns the shapes the services layer receives from ``read_mail``.  Nothing
here decides trust: the records say what the mail claims (addresses, tokens,
calendars, authentication results) and what looked wrong (``problems``);
the services layer decides what to apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import icalendar

from caldav_sched.errors import CaldavSchedError


class NotMail(CaldavSchedError):
    """The bytes are not an RFC 5322 message."""


@dataclass(frozen=True)
class Recipients:
    """Where the mail says it was going, as bare lower-cased mailboxes.

    ``delivered_to`` and ``x_original_to`` are written by the receiving mail
    system (Postfix, Exim, Gmail), so they survive Bcc and forwarding aliases;
    ``to`` and ``cc`` are whatever the sender's client wrote.  Each keeps the
    header order (the topmost Delivered-To is the last hop).
    """

    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    delivered_to: tuple[str, ...] = ()
    x_original_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class CalendarPart:
    """One iCalendar object found in the mail (RFC 6047 section 2.4).

    ``method`` is the iTIP method upper-cased: the calendar's METHOD, else the
    MIME ``method=`` parameter, else ``""`` (not an iTIP message).  The
    ``calendar`` carries that same METHOD, and a REPLY's STATUS properties
    are removed (RFC 5546 section 3.2.3 gives them no place; Outlook and
    Apple still send them).  ``digest`` is a SHA-256 of the calendar as
    re-serialised, so the same calendar sent twice (Google's text/calendar
    plus application/ics) gives the same digest.
    """

    method: str
    mime_method: str | None
    calendar: icalendar.Calendar
    content_type: str
    filename: str | None
    digest: str


@dataclass(frozen=True)
class FailedRecipient:
    """One per-recipient block of a DSN with ``Action: failed`` (RFC 3464 2.3)."""

    recipient: str | None
    original_recipient: str | None
    status: str | None
    diagnostic: str | None
    remote_mta: str | None


@dataclass(frozen=True)
class Bounce:
    """A delivery status notification that reports at least one failure.

    ``original_*`` come from the returned message (``message/rfc822``, or
    only its headers in ``text/rfc822-headers``) when the reporting MTA
    included it; ``original_parts`` are that message's calendars, read the
    same way as a fresh mail's.  A DSN reporting only delays or successes is
    not a ``Bounce`` (``InboundMail.bounce`` is None, with a problem note).
    """

    failed: tuple[FailedRecipient, ...]
    reporting_mta: str | None = None
    original_message_id: str | None = None
    original_subject: str | None = None
    original_to: tuple[str, ...] = ()
    original_reply_to: tuple[str, ...] = ()
    original_parts: tuple[CalendarPart, ...] = ()


@dataclass(frozen=True)
class InboundMail:
    """One inbound message as the services layer needs it.

    ``from_address`` is the bare lower-cased mailbox of a From header naming
    exactly one mailbox, else None; ``from_header`` is the decoded header as
    one line of text.  ``auto_submitted`` says a machine wrote the mail
    (RFC 3834 Auto-Submitted other than ``no``, Precedence bulk/junk/list,
    X-Autoreply and kin, a null Return-Path, or a delivery report): never
    answer or forward it.  ``authentication_results`` are the raw values of
    every Authentication-Results header, topmost first, for a trust check
    that knows which hosts to believe.  ``problems`` are notes for a person.
    """

    message_id: str | None
    from_address: str | None
    from_header: str
    subject: str
    recipients: Recipients
    auto_submitted: bool
    bounce: Bounce | None
    parts: tuple[CalendarPart, ...]
    authentication_results: tuple[str, ...]
    problems: tuple[str, ...]

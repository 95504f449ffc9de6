"""One ``ItipMessage`` in, one ready-to-send ``EmailMessage`` out (RFC 6047).

Owns the outbound mail: its headers, its subject wording and its MIME
layout.  Pure: the caller passes the time, the Message-ID and the token;
nothing here reads the clock, randomness or the network, and the same
inputs give the same bytes (the MIME boundaries derive from the
Message-ID), so a retried queue job sends an identical message.

Headers (anchors 6.8 #48, 6.3 #20, #22)
    ``From`` is always the service's own address, with "<name> via
    <service>" as display name: never the organizer's address, which would
    fail SPF/DMARC for any organizer outside our domain.  ``Auto-Submitted:
    auto-generated`` (RFC 3834) keeps out-of-office robots from answering;
    ``X-Auto-Response-Suppress: OOF, AutoReply`` asks Exchange for the same
    without suppressing the non-delivery reports that set SCHEDULE-STATUS 5.1.

Who the mail is from
    REQUEST, CANCEL, ADD, DECLINECOUNTER go from the (local) organizer to an
    attendee: ORGANIZER in the calendar and ``Reply-To`` are the token
    address, ``To`` is the attendee.  REPLY (and COUNTER, REFRESH) go from a
    local attendee to an external organizer: no token (the organizer's
    server matches the reply by the ATTENDEE address, which must stay the
    real one), ``To`` is the organizer, ``Reply-To`` is the attendee's real
    address so that a person answering the mail reaches the person, and
    ``From`` is still ours.  Servers that insist on From being the attendee
    (Stalwart, Nextcloud Mail) will not auto-apply such a REPLY; that is the
    price of DMARC-safe mail, and their users can still import the .ics.

Layout (CalConnect iMIP best practices, anchors 6.8 #49)::

    multipart/mixed
    ├─ multipart/alternative
    │  ├─ text/plain; charset=utf-8              quoted-printable
    │  ├─ text/html; charset=utf-8               quoted-printable
    │  └─ text/calendar; charset=utf-8; method=M base64
    └─ application/ics; name="invite.ics"        base64, attachment

Base64 for the calendar keeps its CRLF line ends and folded lines byte for
byte through any relay; quoted-printable keeps the text readable in a raw view.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime
from enum import StrEnum

from icalendar import vCalAddress
from icalendar.cal import Component

from caldav_sched.domain.rsvp import answer_links
from caldav_sched.domain.scheduling import ItipMessage, Method, canonical_partstat, same_address
from caldav_sched.domain.scheduling.addresses import mailbox
from caldav_sched.domain.scheduling.components import attendee_lines

from .headers import MAIL_POLICY, display_name, header_address, scrub
from .summary import (
    NO_TITLE,
    Person,
    Summary,
    attendees_of,
    instance_components,
    primary_component,
    text_of,
    write_html,
    write_text,
)
from .tokens import is_token, token_address
from .when import describe_moment, describe_recurrence, describe_when
from .wire import FROM_ORGANIZER, serialize, wire_calendar

# SMTP's policy (CRLF line ends, what a mail server expects); the Subject
# never folds right after its colon.
POLICY = MAIL_POLICY
ATTACHMENT_NAME = "invite.ics"
AUTO_SUBMITTED = "auto-generated"
AUTO_RESPONSE_SUPPRESS = "OOF, AutoReply"
# ``plan_organizer_change`` gives this reason to an attendee new to the event.
NEWCOMER_REASON = "attendee added"


class Action(StrEnum):
    """What a mail tells its reader; picks the subject prefix and the headline."""

    INVITATION = "Invitation"
    UPDATE = "Updated invitation"
    CANCELLED = "Cancelled"
    ACCEPTED = "Accepted"
    DECLINED = "Declined"
    TENTATIVE = "Tentative"
    DELEGATED = "Delegated"
    REPLY = "Reply"
    COUNTER = "New time proposed"
    COUNTER_DECLINED = "Proposal declined"
    REFRESH = "Refresh request"


REPLY_ACTIONS = {
    "ACCEPTED": Action.ACCEPTED,
    "DECLINED": Action.DECLINED,
    "TENTATIVE": Action.TENTATIVE,
    "DELEGATED": Action.DELEGATED,
}


def render_imip(
    message: ItipMessage,
    *,
    from_address: str,
    organizer_name: str | None,
    organizer_address: str,
    token: str,
    message_id: str,
    now: datetime,
    changes: Sequence[str] = (),
    service_name: str = "caldav_sched",
    is_update: bool | None = None,
    rsvp_url: str | None = None,
) -> EmailMessage:
    """Build the iMIP mail for ``message``.

    ``from_address`` is ``mail.from_address``; ``organizer_name`` and
    ``organizer_address`` name the event's organizer (the local user for a
    REQUEST or CANCEL, the external organizer for a REPLY); ``token`` is the
    reply token for this (event, attendee) and is ignored for REPLY.
    ``changes`` (``OrganizerPlan.changes``) are listed under "What changed".
    Whether a REQUEST reads as an update is guessed as "SEQUENCE > 0 or
    ``changes`` given, unless the engine's reason says the attendee was just
    added"; ``is_update`` overrides the guess (e.g. with whether the
    attendee's token already existed, CCS's rule).
    ``rsvp_url`` (the attendee's answer page) adds Accept, Maybe and Decline
    links to the text and HTML bodies of a REQUEST.
    Raises ValueError for a naive ``now``, a malformed token or Message-ID,
    or a recipient that is not a mailbox.
    """
    method = Method(str(message.method).strip().upper())
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    comp = primary_component(message.calendar)
    action = classify(message, comp, changes, is_update)
    if method in FROM_ORGANIZER:
        if not is_token(token):
            raise ValueError("a message from the organizer needs a reply token")
        parties = _organizer_parties(
            message, comp, from_address, organizer_name, organizer_address, token, service_name
        )
    else:
        parties = _attendee_parties(message, comp, organizer_name, organizer_address)
    calendar = wire_calendar(
        message.calendar,
        method,
        token_mailbox=parties.token_mailbox,
        organizer_name=organizer_name,
    )
    summary = build_summary(message, comp, action, parties, changes)
    if rsvp_url and method is Method.REQUEST:
        summary = dataclasses.replace(summary, answer_links=answer_links(rsvp_url))
    msg_id = _message_id(message_id)
    msg = EmailMessage(policy=POLICY)
    msg["From"] = Address(
        display_name=_via(parties.sender_name, service_name), addr_spec=_bare(from_address)
    )
    msg["Reply-To"] = parties.reply_to
    msg["To"] = parties.to
    msg["Subject"] = subject_for(action, comp, message)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = msg_id
    msg["MIME-Version"] = "1.0"
    msg["Auto-Submitted"] = AUTO_SUBMITTED
    msg["X-Auto-Response-Suppress"] = AUTO_RESPONSE_SUPPRESS
    _fill_body(msg, summary, serialize(calendar), method, msg_id)
    return msg


@dataclass(frozen=True)
class _Parties:
    """Who the mail is from, for and to; computed once per method family.

    ``sender_name`` is the person the mail speaks for (empty if unknown),
    ``actor`` the same person as the subject of a sentence.
    """

    sender_name: str
    reply_to: Address
    to: Address
    organizer: Person | None
    token_mailbox: str | None
    actor: str


def _organizer_parties(
    message: ItipMessage,
    comp: Component | None,
    from_address: str,
    organizer_name: str | None,
    organizer_address: str,
    token: str,
    service_name: str,
) -> _Parties:
    organizer_line = comp.get("ORGANIZER") if comp is not None else None
    real = mailbox(organizer_address) or mailbox(organizer_line) or ""
    name = (
        display_name(organizer_name)
        or display_name(_cn(organizer_line))
        or real
    )
    reply_box = token_address(from_address, token)
    recipient_line = _line_for(comp, message.recipient)
    return _Parties(
        sender_name=name,
        # Named like From: a person pressing "Reply" writes to the service.
        reply_to=header_address(reply_box, _via(name, service_name)),
        to=header_address(message.recipient, _cn(recipient_line)),
        organizer=Person(name=display_name(organizer_name or _cn(organizer_line)) or None, address=real),
        token_mailbox=reply_box,
        actor=name or "The organizer",
    )


def _attendee_parties(
    message: ItipMessage,
    comp: Component | None,
    organizer_name: str | None,
    organizer_address: str,
) -> _Parties:
    organizer_line = comp.get("ORGANIZER") if comp is not None else None
    attendee_line = _line_for(comp, message.sender)
    name = display_name(_cn(attendee_line)) or mailbox(message.sender) or ""
    organizer_cn = display_name(_cn(organizer_line) or organizer_name)
    real = mailbox(organizer_line) or mailbox(organizer_address) or mailbox(message.recipient) or ""
    return _Parties(
        sender_name=name,
        reply_to=header_address(message.sender, name),
        to=header_address(message.recipient, organizer_cn),
        organizer=Person(name=organizer_cn or None, address=real),
        token_mailbox=None,
        actor=name or "The attendee",
    )


def classify(
    message: ItipMessage,
    comp: Component | None,
    changes: Sequence[str] = (),
    is_update: bool | None = None,
) -> Action:
    """What the mail tells its reader (anchors 6.8 #53)."""
    method = Method(str(message.method).strip().upper())
    if method is Method.CANCEL:
        return Action.CANCELLED
    if method is Method.REPLY:
        line = _line_for(comp, message.sender)
        partstat = canonical_partstat(str(line.params.get("PARTSTAT", ""))) if line is not None else ""
        return REPLY_ACTIONS.get(partstat, Action.REPLY)
    if method is Method.COUNTER:
        return Action.COUNTER
    if method is Method.DECLINECOUNTER:
        return Action.COUNTER_DECLINED
    if method is Method.REFRESH:
        return Action.REFRESH
    if is_update is None:
        # The engine's per-recipient reason knows that this attendee has never
        # seen the event, even when its SEQUENCE is high or others saw changes.
        newcomer = message.reason.startswith(NEWCOMER_REASON)
        is_update = not newcomer and (message.sequence > 0 or bool(changes))
    return Action.UPDATE if is_update else Action.INVITATION


def subject_for(action: Action, comp: Component | None, message: ItipMessage) -> str:
    """``<Action>: <SUMMARY> @ <when>``, scrubbed to one header-safe line."""
    title = text_of(comp, "SUMMARY") or NO_TITLE
    when_comp = _when_component(message, comp)
    when = describe_when(when_comp) if when_comp is not None else ""
    if message.includes_master and comp is not None:
        rule = describe_recurrence(comp)
        if rule and not rule.startswith("RRULE:"):  # a raw rule only clutters a subject
            when = f"{when}, {rule}" if when else rule
    text = f"{action.value}: {scrub(title, 120)}"
    return scrub(f"{text} @ {when}" if when else text)


def build_summary(
    message: ItipMessage,
    comp: Component | None,
    action: Action,
    parties: _Parties,
    changes: Sequence[str],
) -> Summary:
    """The facts the text and HTML bodies state."""
    instances = instance_components(message.calendar)
    only_instances = not message.includes_master and bool(instances)
    # A CANCEL either cancels the event (STATUS:CANCELLED) or uninvites one attendee.
    cancelled = action is Action.CANCELLED and (
        comp is None or str(comp.get("STATUS") or "").upper() == "CANCELLED"
    )
    extra = tuple((label, value) for label, value in (("Comment", text_of(comp, "COMMENT")),) if value)
    if only_instances:
        when = "; ".join(describe_when(c) for c in instances)
        originals = tuple(_original_time(c) for c in instances)
    else:
        when = describe_when(comp) if comp is not None else ""
        originals = ()
    return Summary(
        headline=_headline(action, parties.actor, cancelled, only_instances, len(instances)),
        title=text_of(comp, "SUMMARY") or NO_TITLE,
        when=when,
        recurrence=describe_recurrence(comp) if comp is not None and not only_instances else None,
        occurrences=tuple(o for o in originals if o),
        occurrence_note=_occurrence_note(len(instances)) if only_instances else None,
        location=text_of(comp, "LOCATION"),
        organizer=parties.organizer,
        attendees=attendees_of(comp),
        description=text_of(comp, "DESCRIPTION"),
        changes=tuple(scrub(c, 500) for c in changes if scrub(c, 500)) if action is Action.UPDATE else (),
        cancelled=action is Action.CANCELLED,
        extra=extra,
    )


def _original_time(comp: Component) -> str | None:
    """Where a moved occurrence was in the series; None when it did not move."""
    rid = comp.get("RECURRENCE-ID")
    start = comp.get("DTSTART")
    if rid is None or start is None or getattr(rid, "dt", None) == getattr(start, "dt", None):
        return None
    return describe_moment(rid) or None


def _headline(action: Action, actor: str, cancelled: bool, only_instances: bool, count: int) -> str:
    what = "one occurrence of this event" if count == 1 else f"{count} occurrences of this event"
    if action is Action.INVITATION:
        return f"{actor} has invited you to this event."
    if action is Action.UPDATE:
        if only_instances:
            return f"{actor} has updated {what}."
        return f"{actor} has updated this event."
    if action is Action.CANCELLED:
        if not cancelled:
            return f"{actor} has removed you from this event; it is cancelled for you."
        return f"{actor} has cancelled {what}." if only_instances else f"{actor} has cancelled this event."
    if action in (Action.ACCEPTED, Action.DECLINED, Action.TENTATIVE, Action.DELEGATED):
        verb = {
            Action.ACCEPTED: "accepted",
            Action.DECLINED: "declined",
            Action.TENTATIVE: "tentatively accepted",
            Action.DELEGATED: "delegated",
        }[action]
        scope = f" for {what}" if only_instances else ""
        return f"{actor} has {verb} your invitation{scope}."
    if action is Action.COUNTER_DECLINED:
        return f"{actor} has declined your proposed change."
    if action is Action.COUNTER:
        return f"{actor} proposes a change to this event."
    if action is Action.REFRESH:
        return f"{actor} asks for the latest version of this event."
    return f"{actor} has answered your invitation."


def _occurrence_note(count: int) -> str:
    if count == 1:
        return "This message is about one occurrence of a repeating event, not the whole series."
    return f"This message is about {count} occurrences of a repeating event, not the whole series."


def _when_component(message: ItipMessage, comp: Component | None) -> Component | None:
    if message.includes_master:
        return comp
    instances = instance_components(message.calendar)
    return instances[0] if instances else comp


def _line_for(comp: Component | None, address: str) -> vCalAddress | None:
    if comp is None:
        return None
    organizer = comp.get("ORGANIZER")
    for line in attendee_lines(comp) + ([organizer] if organizer is not None else []):
        if same_address(line, address):
            return line
    return None


def _cn(line: object | None) -> str | None:
    params = getattr(line, "params", None) or {}
    value = params.get("CN")
    return str(value) if value else None


def _via(name: str, service_name: str) -> str:
    """``Alice via caldav_sched``: whose mail it is, and who really sent it."""
    service = scrub(service_name, 60) or "caldav_sched"
    return display_name(f"{name} via {service}" if name else service)


def _bare(address: str) -> str:
    return header_address(address).addr_spec


def _message_id(value: str) -> str:
    text = str(value).strip()
    if not text.startswith("<"):
        text = f"<{text}>"
    inner = text[1:-1] if text.endswith(">") else ""
    local, at, domain = inner.partition("@")
    if not (local and at and domain) or scrub(inner, 998) != inner or any(c in inner for c in " <>\"\\"):
        raise ValueError(f"not a Message-ID: {value!r}")
    return text


def _boundary(message_id: str, level: str) -> str:
    # "=_" cannot occur in base64 or quoted-printable output, so the boundary
    # can never collide with a body line.
    digest = hashlib.sha256(f"{message_id}/{level}".encode()).hexdigest()[:32]
    return f"=_{level}_{digest}"


def _fill_body(msg: EmailMessage, summary: Summary, ics: bytes, method: Method, message_id: str) -> None:
    alternative = MIMEPart(policy=POLICY)
    alternative["Content-Type"] = "multipart/alternative"
    alternative.set_boundary(_boundary(message_id, "alt"))
    alternative.attach(_text_part(write_text(summary), "plain"))
    alternative.attach(_text_part(write_html(summary), "html"))
    calendar_part = MIMEPart(policy=POLICY)
    calendar_part.set_content(
        ics, maintype="text", subtype="calendar", cte="base64",
        params={"charset": "utf-8", "method": method.value},
    )
    alternative.attach(calendar_part)
    attachment = MIMEPart(policy=POLICY)
    attachment.set_content(
        ics, maintype="application", subtype="ics", cte="base64",
        disposition="attachment", filename=ATTACHMENT_NAME, params={"name": ATTACHMENT_NAME},
    )
    msg["Content-Type"] = "multipart/mixed"
    msg.set_boundary(_boundary(message_id, "mixed"))
    msg.attach(alternative)
    msg.attach(attachment)


def _text_part(body: str, subtype: str) -> MIMEPart:
    part = MIMEPart(policy=POLICY)
    part.set_content(body, subtype=subtype, charset="utf-8", cte="quoted-printable")
    return part


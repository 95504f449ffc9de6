"""Answering an invitation on the RSVP page: look it up, apply the answer.

The reply token in the page's address is the key (design.md "Mail
addresses"): it names one (event, attendee).  A page is shown only for a
known, unexpired token whose attendee is still in the organizer's copy; a
token revoked by a cancellation of the whole event shows the cancelled event
without its buttons; anything else (unknown token, the attendee removed, the
event deleted, the token expired by ``[mail] token_grace_days``) is "not
valid", with no detail.

An answer becomes an iTIP REPLY (``domain.rsvp.build_reply``) applied by
``inbound.apply_token_reply``, the same code that applies a mailed REPLY:
same trust, stale and replay rules, new ETag, SCHEDULE-STATUS, and an entry
in the event's history that says it came from the web page.
"""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass
from enum import StrEnum

from caldav_sched.domain.ical import parse_calendar
from caldav_sched.domain.imip import is_token
from caldav_sched.domain.rsvp import InvitationView, build_reply, view_invitation
from caldav_sched.domain.scheduling import RefusalCode
from caldav_sched.services import Services
from caldav_sched.services.inbound import apply_token_reply, token_expiry
from caldav_sched.store import itip as itip_store
from caldav_sched.store import objects as object_store
from caldav_sched.store import secrets as secret_store
from caldav_sched.store.itip import TokenRow

log = logging.getLogger("caldav_sched.rsvp")

VIA_WEB = "answered on the web page"
FORM_SECRET = "rsvp-form"


@dataclass(frozen=True)
class Invitation:
    """A page's invitation: the token it answers for and what it shows."""

    token: TokenRow
    view: InvitationView

    @property
    def answerable(self) -> bool:
        return self.token.revoked_at is None and not self.view.cancelled


class Outcome(StrEnum):
    APPLIED = "applied"  # the organizer's copy has the new answer
    UNCHANGED = "unchanged"  # the same answer (and comment) was there already
    STALE = "stale"  # the event changed after the page was shown
    CLOSED = "closed"  # the event is cancelled: nothing to answer
    GONE = "gone"  # no such invitation (any more)
    REFUSED = "refused"  # the engine refused it for another reason


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    reason: str
    invitation: Invitation | None


async def open_invitation(services: Services, token: str) -> Invitation | None:
    """The invitation behind *token*, or None when the page must say "not valid"."""
    invitation, _ = await _find(services, token)
    return invitation


async def _find(services: Services, token: str) -> tuple[Invitation | None, str]:
    """The invitation, or None and why not (for the log, never for the page)."""
    if not is_token(token):
        return None, "not a reply token"
    reader = services.db.reader()
    row = await itip_store.get_token(reader, token)
    if row is None:
        return None, "unknown reply token"
    stored = await object_store.find_owned_object(reader, row.owner_id, row.uid)
    if stored is None or stored.data is None:
        return None, "the event is gone"
    view = view_invitation(parse_calendar(stored.data), row.attendee)
    if view is None:
        return None, f"{row.attendee} is no longer invited"
    if row.revoked_at is not None and not view.cancelled:
        return None, f"the reply token of {row.attendee} was revoked"
    expired = await token_expiry(services, row)
    if expired:
        return None, expired
    return Invitation(row, view), ""


async def answer(
    services: Services,
    token: str,
    partstat: str,
    *,
    comment: str | None,
    seen_version: int,
) -> Answer:
    """Apply the page's answer for *token*; nothing changes unless it is APPLIED."""
    invitation, why = await _find(services, token)
    if invitation is None:
        return Answer(Outcome.GONE, why, None)
    if not invitation.answerable:
        return Answer(Outcome.CLOSED, "the event is cancelled", invitation)
    row = await object_store.find_owned_object(
        services.db.reader(), invitation.token.owner_id, invitation.token.uid
    )
    assert row is not None and row.data is not None
    view = invitation.view
    text = (comment or "").strip() or None
    if seen_version >= view.version and view.answer == partstat and view.comment == text:
        return Answer(Outcome.UNCHANGED, "the same answer is recorded already", invitation)
    reply = build_reply(
        parse_calendar(row.data),
        invitation.token.attendee,
        partstat,
        comment=text,
        seen_version=seen_version,
        now=services.clock.now(),
    )
    verdict = await apply_token_reply(services, invitation.token, reply, via=VIA_WEB)
    after = await open_invitation(services, token)
    if verdict.state == "applied":
        log.info("%s: %s", invitation.token.uid, verdict.reason)
        return Answer(Outcome.APPLIED, verdict.reason, after)
    stale = any(
        f"{VIA_WEB}: {code}" in verdict.reason
        for code in (RefusalCode.STALE_SEQUENCE, RefusalCode.STALE_DTSTAMP)
    )
    if after is None:
        return Answer(Outcome.GONE, verdict.reason, None)
    return Answer(Outcome.STALE if stale else Outcome.REFUSED, verdict.reason, after)


async def form_secret(services: Services) -> bytes:
    """The key that signs the pages' forms: made once, kept in the database.

    Every server process on the database and every restart uses the same
    one, so a page served by one process can be answered through another.
    """
    reader = services.db.reader()
    value = await secret_store.get_secret(reader, FORM_SECRET)
    if value is None:
        fresh = base64.b64encode(os.urandom(32)).decode("ascii")
        async with services.db.transaction() as conn:
            value = await secret_store.keep_secret(conn, FORM_SECRET, fresh, services.timestamp())
    return base64.b64decode(value)

"""Inbound mail: take a message durably, then apply what it says.

``receive`` stores the raw message and queues its processing in one
transaction; the LMTP listener answers 250 and ``ingest`` exits 0 only after
it committed, so an acknowledged reply is never lost.  ``process`` (run by a
job) reads the message and applies it under the trust rules of design.md:

* the recipient address carries a reply token that is known and unrevoked;
* the REPLY names the attendee the token was issued to (other ATTENDEE lines
  are ignored; a reply that speaks only for someone else is refused), and
  its UID is the token's;
* the iTIP engine decides the rest (stale, replayed, unknown instance).

Whatever happens, the message stays stored with its outcome and reason, and
the event's iTIP history records it.  Nothing refused changes anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import icalendar

from caldav_sched.domain.ical import etag_for, parse_calendar, serialise
from caldav_sched.domain.imip.inbound import (
    Bounce,
    CalendarPart,
    InboundMail,
    NotMail,
    read_mail,
    require_mail,
    token_candidates,
)
from caldav_sched.domain.imip.vouching import sender_vouched
from caldav_sched.domain.scheduling import (
    ItipMessage,
    Method,
    ScheduleStatus,
    normalize_address,
    organizer_of,
    ReplyApplied,
    ReplyRefused,
    answer_refresh,
    apply_reply,
    record_counter,
    uid_of,
)
from caldav_sched.domain.time_index import time_index
from caldav_sched.domain.timespan import exceeds_instances_per_year
from caldav_sched.services import Services, local_delivery, scheduling
from caldav_sched.services import users as user_service
from caldav_sched.services.delivery import job_of_message_id, record_schedule_status
from caldav_sched.services.errors import AlreadyStored, InvalidInput, NotFound
from caldav_sched.store import collections as collection_store
from caldav_sched.store import inbound as inbound_store
from caldav_sched.store import itip as itip_store
from caldav_sched.store import jobs as job_store
from caldav_sched.store import objects as object_store
from caldav_sched.store import users as user_store
from caldav_sched.store.db import Connection
from caldav_sched.store.inbound import InboundRow
from caldav_sched.store.jobs import JobRow
from caldav_sched.store.objects import ObjectRow
from caldav_sched.store.users import UserRow
from caldav_sched.store.itip import TokenRow

log = logging.getLogger("caldav_sched.inbound")

PROCESS_INBOUND = "process_inbound"
ATTEMPTS = 5


@dataclass(frozen=True)
class Verdict:
    """What became of one inbound message."""

    state: str  # applied | refused
    reason: str
    method: str | None = None
    uid: str | None = None
    attendee: str | None = None


def _message_id(raw: bytes) -> str | None:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    for line in head.splitlines():
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode("ascii", "replace")[:300] or None
    return None


async def receive(
    services: Services,
    raw: bytes,
    *,
    via: str,
    envelope_from: str | None,
    envelope_to: list[str],
    claim_as: str | None = None,
    origin: str | None = None,
) -> tuple[int, int]:
    """Store one message and queue its processing; returns (message id, job id).

    With *claim_as*, the job is created already claimed by that worker name
    (``ingest`` processes its message itself, and a crash hands it on).
    *origin* is where a message read from a mailbox sits there; one stored
    from the same place (or over IMAP with the same Message-ID) before
    raises ``AlreadyStored`` and nothing is written.
    """
    limit = services.settings.limits.max_mail_size
    if len(raw) > limit:
        raise InvalidInput(f"the message is {len(raw)} bytes; at most {limit} are taken")
    if not raw.strip():
        raise InvalidInput("the message is empty")
    now = services.timestamp()
    epoch = int(services.clock.now().timestamp())
    header_id = _message_id(raw)
    async with services.db.transaction() as conn:
        if origin is not None:
            earlier = await inbound_store.stored_from_mailbox(conn, origin=origin, message_id=header_id)
            if earlier is not None:
                raise AlreadyStored(earlier)
        message_id = await inbound_store.insert_inbound(
            conn,
            raw=raw,
            via=via,
            envelope_from=envelope_from,
            envelope_to=envelope_to,
            message_id=header_id,
            now=now,
            origin=origin,
        )
        job_id = await job_store.enqueue(
            conn, kind=PROCESS_INBOUND, payload={"inbound_id": message_id}, run_after=epoch, now=now
        )
        if claim_as is not None:
            await job_store.claim(conn, job_id, worker=claim_as, lease_until=epoch + 300, now=now)
    if claim_as is None:
        services.jobs_enqueued()
    log.info("received message #%d via %s (%d bytes)", message_id, via, len(raw))
    return message_id, job_id


async def _token(conn: Connection, tokens: tuple[str, ...]) -> tuple[TokenRow | None, str]:
    unknown = None
    for token in tokens:
        row = await itip_store.get_token(conn, token)
        if row is not None:
            return row, ""
        unknown = token
    if unknown is None:
        return None, "no reply token in the recipient addresses"
    return None, f"unknown reply token {unknown}"


async def process(services: Services, inbound_id: int) -> Verdict:
    """Apply one stored message; the verdict is also stored with it."""
    reader = services.db.reader()
    row = await inbound_store.get_inbound(reader, inbound_id)
    if row is None:
        raise NotFound(f"no inbound message {inbound_id}")
    verdict = await _decide(services, row)
    async with services.db.transaction() as conn:
        await inbound_store.settle_inbound(
            conn,
            inbound_id,
            state=verdict.state,
            reason=verdict.reason,
            method=verdict.method,
            uid=verdict.uid,
            attendee=verdict.attendee,
            now=services.timestamp(),
        )
    level = logging.INFO if verdict.state == "applied" else logging.WARNING
    log.log(level, "message #%d %s: %s", inbound_id, verdict.state, verdict.reason)
    return verdict


async def _decide(services: Services, row: InboundRow) -> Verdict:
    assert row.raw is not None
    settings = services.settings
    try:
        mail = read_mail(row.raw, max_calendar_size=settings.limits.max_resource_size)
    except NotMail as exc:
        return Verdict("refused", f"not a mail message: {exc}")
    tokens = token_candidates(
        mail, envelope_recipients=list(row.envelope_to), from_address=settings.mail.from_address
    )
    reader = services.db.reader()
    if mail.bounce is not None:
        return await _record_bounce(services, mail.bounce)
    token, why = await _token(reader, tokens)
    if token is None:
        invitee = await _local_recipient(services, mail, row)
        if invitee is not None:
            return await _accept_invitation(services, mail, invitee)
        return await _refuse(services, None, None, why)
    attendee = token.attendee
    if token.revoked_at is not None:
        return await _refuse(
            services, token, None,
            f"the reply token of {attendee} was revoked on {token.revoked_at} "
            "(the attendee was removed or the event cancelled)",
        )
    expired = await token_expiry(services, token)
    if expired:
        return await _refuse(services, token, None, expired)
    if not mail.parts:
        reason = "no calendar data in the message"
        if mail.auto_submitted:
            reason = "an automatic reply without calendar data"
        if mail.problems:
            reason += " (" + "; ".join(mail.problems) + ")"
        return await _refuse(services, token, None, reason)
    verdicts = [await _apply_part(services, token, part) for part in mail.parts]
    applied = [v for v in verdicts if v.state == "applied"]
    chosen = applied[0] if applied else verdicts[0]
    if len(verdicts) > 1:
        reason = "; ".join(v.reason for v in verdicts)
        return Verdict(chosen.state, reason, chosen.method, chosen.uid, chosen.attendee)
    return chosen


async def token_expiry(services: Services, token: TokenRow) -> str:
    """Why the token has expired ('' while it is good): ``[mail] token_grace_days``
    after the event's last instance ended.  An open-ended series never ends."""
    found, end = await object_store.owned_object_end(
        services.db.reader(), token.owner_id, token.uid
    )
    if not found or end is None:
        return ""
    grace = services.settings.mail.token_grace_days
    ended = datetime.fromtimestamp(end, timezone.utc)
    if services.clock.now() - ended <= timedelta(days=grace):
        return ""
    return (
        f"the reply token of {token.attendee} has expired: the event ended on "
        f"{ended:%Y-%m-%d}, more than {grace} days ago ([mail] token_grace_days)"
    )


async def _local_recipient(
    services: Services, mail: InboundMail, row: InboundRow
) -> UserRow | None:
    """The local user an outside organizer's mail is addressed to, if any."""
    recipients = mail.recipients
    for address in (*row.envelope_to, *recipients.delivered_to, *recipients.x_original_to,
                    *recipients.to, *recipients.cc):
        user = await user_service.local_user(services, address)
        if user is not None:
            return user
    return None


async def _accept_invitation(services: Services, mail: InboundMail, user: UserRow) -> Verdict:
    """An iMIP REQUEST or CANCEL from an outside organizer to a local user.

    Taken only when the mail system vouches for the sender and the sender is
    the ORGANIZER (design.md, "Inbound mail and trust"); otherwise kept as
    refused.  Taken, it lands in the user's inbox and calendar like a local
    organizer's message.
    """
    address = f"mailto:{user.email}"
    parts = [p for p in mail.parts if p.method in ("REQUEST", "CANCEL")]
    if not parts:
        methods = ", ".join(p.method or "none" for p in mail.parts) or "no calendar data"
        return Verdict("refused", f"mail to {user.email} without an invitation ({methods})",
                       attendee=address)
    part = parts[0]
    uid = uid_of(part.calendar)
    organizer = organizer_of(part.calendar)
    sender = mail.from_address
    vouching = sender_vouched(
        mail.authentication_results,
        trusted_hosts=services.settings.inbound.trusted_authserv_ids,
        sender=sender,
    )
    if not vouching.vouched:
        return Verdict("refused", f"{part.method} not taken: {vouching.reason}", part.method,
                       uid, address)
    if organizer is None or normalize_address(organizer) != normalize_address(sender or ""):
        return Verdict("refused",
                       f"{part.method} not taken: the sender {sender} is not the ORGANIZER "
                       f"{(organizer or 'none').removeprefix('mailto:')}", part.method, uid, address)
    limit = services.settings.limits.max_instances
    if part.method == "REQUEST" and exceeds_instances_per_year(part.calendar, limit):
        # What a PUT of the same event would be refused for (CALDAV:max-instances).
        return Verdict("refused",
                       f"REQUEST not taken: a recurrence rule repeats more than {limit} times "
                       "within a year ([limits] max_instances)", part.method, uid, address)
    message = ItipMessage(
        method=Method(part.method),
        recipient=address,
        sender=organizer,
        uid=uid or "",
        sequence=max((int(c.get("SEQUENCE", 0)) for c in part.calendar.walk("VEVENT")), default=0),
        reason=f"{part.method} from {organizer.removeprefix('mailto:')} by mail",
        calendar=part.calendar,
    )
    async with services.db.transaction() as conn:
        outcome = await local_delivery.deliver_to_attendee(
            conn, message, user, now=services.clock.now(), stamp=services.timestamp()
        )
        await itip_store.add_log(
            conn,
            owner_id=user.id,
            uid=message.uid,
            direction="in",
            method=part.method,
            peer=organizer,
            sequence=message.sequence,
            state="applied" if outcome.delivered else "refused",
            reason=f"{vouching.reason}; {outcome.reason}",
            now=services.timestamp(),
        )
    state = "applied" if outcome.delivered else "refused"
    return Verdict(state, f"{message.reason}: {outcome.reason} ({vouching.reason})",
                   part.method, message.uid, address)


async def _record_bounce(services: Services, bounce: Bounce) -> Verdict:
    """A delivery report for one of our invitations: SCHEDULE-STATUS 5.1 (anchors 6.8 #51).

    The report is tied to the invitation by the Message-ID our job gave it,
    so only a failure of a message we sent can mark an attendee.
    """
    job_id = job_of_message_id(bounce.original_message_id, services.settings.mail.from_address)
    job = await job_store.get_job(services.db.reader(), job_id) if job_id else None
    if job is None or job.kind != "send_imip":
        return Verdict("refused", "a delivery report that does not answer one of our invitations")
    p = job.payload
    failure = bounce.failed[0]
    detail = " ".join(x for x in (failure.status, failure.diagnostic) if x) or "no details"
    reason = f"the invitation to {p['recipient'].removeprefix('mailto:')} bounced: {detail}"
    now = services.timestamp()
    async with services.db.transaction() as conn:
        if p["method"] == "REQUEST":
            await record_schedule_status(
                conn,
                collection_id=p["collection_id"],
                owner_id=p.get("owner_id"),
                uid=p["uid"],
                attendee=p["recipient"],
                status=str(ScheduleStatus.NOT_DELIVERED),
                recurrence_ids=None,
                only_from=(str(ScheduleStatus.PENDING), str(ScheduleStatus.SENT)),
                now=now,
            )
        await itip_store.add_log(
            conn,
            owner_id=p["owner_id"],
            uid=p["uid"],
            direction="in",
            method="DSN",
            peer=p["recipient"],
            sequence=p.get("sequence"),
            state="applied",
            reason=reason,
            now=now,
            job_id=None,
        )
    return Verdict("applied", reason, "DSN", p["uid"], p["recipient"])


async def _refuse(
    services: Services, token: TokenRow | None, method: str | None, reason: str
) -> Verdict:
    if token is not None:
        async with services.db.transaction() as conn:
            await itip_store.add_log(
                conn,
                owner_id=token.owner_id,
                uid=token.uid,
                direction="in",
                method=method or "-",
                peer=token.attendee,
                sequence=None,
                state="refused",
                reason=reason,
                now=services.timestamp(),
            )
    return Verdict(
        "refused",
        reason,
        method,
        token.uid if token else None,
        token.attendee if token else None,
    )


async def _apply_part(services: Services, token: TokenRow, part: CalendarPart) -> Verdict:
    calendar = part.calendar
    method = part.method
    uid = uid_of(calendar)
    if uid != token.uid:
        return await _refuse(
            services, token, method, f"the {method} is for UID {uid}, the token for {token.uid}"
        )
    if method == Method.REPLY:
        return await apply_token_reply(services, token, calendar)
    if method == Method.REFRESH:
        return await _answer_refresh(services, token, calendar)
    if method == Method.COUNTER:
        return await _record_counter(services, token, calendar)
    return await _refuse(services, token, method, f"{method} is not taken from attendees by mail")


async def _organizer_copy(
    services: Services, token: TokenRow
) -> tuple[ObjectRow | None, icalendar.Calendar | None]:
    """The organizer's stored copy of the token's event, as stored and parsed."""
    row = await object_store.find_owned_object(services.db.reader(), token.owner_id, token.uid)
    if row is None or row.data is None:
        return None, None
    return row, parse_calendar(row.data)


async def apply_token_reply(
    services: Services, token: TokenRow, calendar: icalendar.Calendar, *, via: str | None = None
) -> Verdict:
    """Apply a REPLY that speaks for *token*'s attendee (by mail, or *via* another path).

    *via* (such as "answered on the web page") leads the history entry.
    """
    lead = f"{via}: " if via else ""
    expired = await token_expiry(services, token)
    if expired:
        return await _refuse(services, token, "REPLY", f"{lead}{expired}")
    for _ in range(ATTEMPTS):
        current, stored = await _organizer_copy(services, token)
        result = apply_reply(
            stored, calendar, attendee=token.attendee, now=services.clock.now(), accept_alias=False
        )
        if isinstance(result, ReplyRefused):
            return await _refuse(services, token, "REPLY", f"{lead}{result.code}: {result.reason}")
        assert isinstance(result, ReplyApplied) and current is not None
        if not result.changed:
            return await _refuse(
                services, token, "REPLY", f"{lead}already applied: the same reply arrived before"
            )
        data = serialise(result.stored)
        index = time_index(result.stored, services.clock.now())
        now = services.timestamp()
        async with services.db.transaction() as conn:
            latest = await object_store.get_object(
                conn, current.collection_id, current.name, with_data=False
            )
            if latest is None or latest.etag != current.etag:
                continue  # the organizer saved meanwhile: apply on the new version
            await object_store.write_object(
                conn,
                collection_id=current.collection_id,
                name=current.name,
                uid=current.uid,
                component=current.component,
                etag=etag_for(data),
                data=data,
                index=index,
                modified_at=now,
                schedule_tag=current.schedule_tag,
            )
            answer = ", ".join(f"{label} {partstat}" for label, partstat in result.partstats)
            reason = f"{result.reason}" + (f" ({answer})" if answer else "")
            reason = lead + reason
            if result.notes:
                reason += "; " + "; ".join(result.notes)
            await itip_store.add_log(
                conn,
                owner_id=token.owner_id,
                uid=token.uid,
                direction="in",
                method="REPLY",
                peer=token.attendee,
                sequence=None,
                state="applied",
                reason=reason,
                now=now,
            )
        return Verdict("applied", reason, "REPLY", token.uid, token.attendee)
    return await _refuse(
        services, token, "REPLY", f"{lead}the event kept changing; the reply was not applied"
    )


async def _answer_refresh(
    services: Services, token: TokenRow, calendar: icalendar.Calendar
) -> Verdict:
    current, stored = await _organizer_copy(services, token)
    result = answer_refresh(
        stored, calendar, attendee=token.attendee, now=services.clock.now(), accept_alias=False
    )
    if isinstance(result, ReplyRefused):
        return await _refuse(services, token, "REFRESH", f"{result.code}: {result.reason}")
    assert current is not None
    reader = services.db.reader()
    owner = await user_store.get_user_by_id(reader, token.owner_id)
    collection_row = await collection_store.get_collection_by_id(reader, current.collection_id)
    if owner is None or collection_row is None:
        return await _refuse(services, token, "REFRESH", "the organizer's calendar is gone")
    plan = scheduling.SchedulingPlan(
        stored=None,
        messages=(result,),
        uid=token.uid,
        organizer_name=owner.name,
    )
    async with services.db.transaction() as conn:
        await scheduling.enqueue_plan(
            conn,
            plan,
            user=owner,
            collection=collection_row,
            now=services.timestamp(),
            now_epoch=int(services.clock.now().timestamp()),
        )
    services.jobs_enqueued()
    return Verdict("applied", f"REFRESH answered: the current REQUEST is sent again to "
                   f"{token.attendee}", "REFRESH", token.uid, token.attendee)


async def _record_counter(
    services: Services, token: TokenRow, calendar: icalendar.Calendar
) -> Verdict:
    _, stored = await _organizer_copy(services, token)
    result = record_counter(
        stored, calendar, attendee=token.attendee, now=services.clock.now(), accept_alias=False
    )
    if isinstance(result, ReplyRefused):
        return await _refuse(services, token, "COUNTER", f"{result.code}: {result.reason}")
    reason = f"proposal recorded for the organizer: {result.reason}"
    async with services.db.transaction() as conn:
        await itip_store.add_log(
            conn,
            owner_id=token.owner_id,
            uid=token.uid,
            direction="in",
            method="COUNTER",
            peer=token.attendee,
            sequence=result.sequence,
            state="applied",
            reason=reason,
            now=services.timestamp(),
            detail=result.proposed.to_ical().decode("utf-8", "replace"),
        )
    return Verdict("applied", reason, "COUNTER", token.uid, token.attendee)


async def list_messages(services: Services, state: str | None = None) -> list[InboundRow]:
    return await inbound_store.list_inbound(services.db.reader(), state=state)




class InboundProcessing:
    """The ``process_inbound`` task: apply one stored message."""

    kind = PROCESS_INBOUND

    def __init__(self, services: Services) -> None:
        self.services = services

    async def run(self, job: JobRow) -> str:
        verdict = await process(self.services, int(job.payload["inbound_id"]))
        return f"{verdict.state}: {verdict.reason}"

    async def settle(self, conn: Connection, job: JobRow, outcome: object, now: str) -> None:
        """Nothing to add: ``process`` stored the verdict with the message."""


async def ingest(services: Services, raw: bytes, *, worker: str) -> tuple[int, Verdict]:
    """Store a message handed over by a pipe, then apply it at once.

    The processing job is created claimed by *worker*; if this process dies
    before it finishes, the job is taken back and run by ``serve``.  Bytes
    that are not mail at all are not stored: ``InvalidInput``, and the mail
    system bounces them.
    """
    if raw.strip():
        try:
            require_mail(raw)
        except NotMail as exc:
            raise InvalidInput(f"not a mail message: {exc}") from exc
    message_id, job_id = await receive(
        services, raw, via="ingest", envelope_from=None, envelope_to=[], claim_as=worker
    )
    verdict = await process(services, message_id)
    async with services.db.transaction() as conn:
        await job_store.finish(conn, job_id, now=services.timestamp())
    return message_id, verdict

"""Delivering one queued iTIP message by mail, and recording what happened.

``ImipDelivery.run`` renders the message (at send time, from the job's
payload, with a Message-ID fixed by the job so a resend after a crash is
recognisable) and hands it to the ``Mailer``.  ``settle`` runs in the same
transaction that closes the job: it marks the history entry and moves the
attendee's SCHEDULE-STATUS in the organizer's copy (1.0 -> 1.1 sent, 5.2
when the file transport only wrote it to a file, or 5.1 when delivery was
given up), which gives that object a new ETag.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from caldav_sched.domain import imip
from caldav_sched.domain.rsvp import rsvp_url
from caldav_sched.domain.ical import etag_for, parse_calendar, serialise
from caldav_sched.domain.scheduling import (
    ItipMessage,
    Method,
    ScheduleStatus,
    is_mailable,
    set_schedule_status,
)
from caldav_sched.domain.time_index import time_index
from caldav_sched.services.mailer import Mailer, UnreachableRecipient
from caldav_sched.services import Services
from caldav_sched.store import itip as itip_store
from caldav_sched.store import objects as object_store
from caldav_sched.store.db import Connection
from caldav_sched.store.jobs import JobRow

log = logging.getLogger("caldav_sched.delivery")


@dataclass(frozen=True)
class Outcome:
    """How a job ended this time: ``done``, ``retry`` or ``failed``.

    ``unreachable``: failed because the recipient's address can never be
    mailed, which the attendee's SCHEDULE-STATUS says with 3.7.
    """

    state: str
    detail: str
    unreachable: bool = False


def message_id(job_id: int, from_address: str) -> str:
    domain = from_address.rpartition("@")[2] or "localhost"
    return f"<caldav-sched.job{job_id}@{domain}>"


def _message(job: JobRow) -> ItipMessage:
    p = job.payload
    return ItipMessage(
        method=Method(p["method"]),
        recipient=p["recipient"],
        sender=p.get("sender") or f"mailto:{p['organizer_address']}",
        uid=p["uid"],
        sequence=int(p["sequence"]),
        reason=p["reason"],
        recurrence_ids=tuple(p.get("recurrence_ids", ())),
        includes_master=bool(p.get("includes_master", True)),
        calendar=parse_calendar(p["calendar"]),
    )


class ImipDelivery:
    """The ``send_imip`` task."""

    kind = "send_imip"

    def __init__(self, services: Services, mailer: Mailer) -> None:
        self.services = services
        self.mailer = mailer

    async def run(self, job: JobRow) -> str:
        p = job.payload
        from_address = self.services.settings.mail.from_address
        if not is_mailable(p["recipient"]):
            raise UnreachableRecipient(f"not a mailable address: {p['recipient']!r}")
        email = imip.render_imip(
            _message(job),
            from_address=from_address,
            organizer_name=p.get("organizer_name"),
            organizer_address=p["organizer_address"],
            token=p["token"],
            message_id=message_id(job.id, from_address),
            now=self.services.clock.now(),
            changes=tuple(p.get("changes", ())),
            rsvp_url=self._rsvp_url(p),
        )
        recipient = p["recipient"].removeprefix("mailto:")
        answer = await self.mailer.send(email, sender=from_address, recipients=[recipient])
        log.info("%s %s to %s sent: %s", p["uid"], p["method"], recipient, answer)
        return answer

    def _rsvp_url(self, payload: dict) -> str | None:
        """The attendee's answer page, when ``[server] public_url`` is set."""
        server = self.services.settings.server
        if not server.public_url or payload["method"] != Method.REQUEST or not payload["token"]:
            return None
        return rsvp_url(server.public_url, server.base_path, payload["token"])

    async def settle(self, conn: Connection, job: JobRow, outcome: Outcome, now: str) -> None:
        p = job.payload
        state = {"done": "sent", "retry": "retrying", "failed": "failed"}[outcome.state]
        await itip_store.update_log_for_job(conn, job.id, state=state, detail=outcome.detail, now=now)
        if p["method"] != Method.REQUEST:
            return
        if outcome.state == "done":
            status = (
                ScheduleStatus.SENT if self.mailer.reaches_recipients
                else ScheduleStatus.NO_WAY_TO_DELIVER
            )
        elif outcome.unreachable:
            status = ScheduleStatus.INVALID_ADDRESS
        elif outcome.state == "failed":
            status = ScheduleStatus.NOT_DELIVERED
        else:
            return
        await self._record_status(conn, job, str(status), now)

    async def _record_status(self, conn: Connection, job: JobRow, status: str, now: str) -> None:
        p = job.payload
        labels = None if p.get("includes_master", True) else tuple(p.get("recurrence_ids", ()))
        await record_schedule_status(
            conn,
            collection_id=p["collection_id"],
            owner_id=p.get("owner_id"),
            uid=p["uid"],
            attendee=p["recipient"],
            status=status,
            recurrence_ids=labels,
            only_from=(str(ScheduleStatus.PENDING),),
            now=now,
        )


async def record_schedule_status(
    conn: Connection,
    *,
    collection_id: int,
    uid: str,
    attendee: str,
    status: str,
    recurrence_ids: tuple[str, ...] | None,
    only_from: tuple[str, ...],
    now: str,
    owner_id: int | None = None,
) -> bool:
    """Move an attendee's SCHEDULE-STATUS on in the organizer's copy.

    Only from one of *only_from*, so a late report never overwrites what a
    reply already proved.  Returns whether the copy changed (new ETag).
    The copy is looked for in the calendar the invitation was sent from,
    then (the organizer may have moved it since) in any of *owner_id*'s.
    """
    name = await object_store.name_for_uid(conn, collection_id, uid)
    if name is None and owner_id is not None:
        moved = await object_store.find_owned_object(conn, owner_id, uid)
        if moved is not None:
            collection_id, name = moved.collection_id, moved.name
    if name is None:
        return False
    row = await object_store.get_object(conn, collection_id, name)
    if row is None or row.data is None:
        return False
    updated = set_schedule_status(
        parse_calendar(row.data), attendee, status, recurrence_ids=recurrence_ids, only_from=only_from
    )
    data = serialise(updated)
    if data == row.data:
        return False
    index = time_index(updated, datetime.fromisoformat(now))
    await object_store.write_object(
        conn,
        collection_id=collection_id,
        name=name,
        uid=row.uid,
        component=row.component,
        etag=etag_for(data),
        data=data,
        index=index,
        modified_at=now,
        schedule_tag=row.schedule_tag,
    )
    return True


def job_of_message_id(message_id: str | None, from_address: str) -> int | None:
    """The job that sent a message, from the Message-ID ``message_id`` gave it."""
    if not message_id:
        return None
    domain = from_address.rpartition("@")[2] or "localhost"
    value = message_id.strip().strip("<>")
    prefix, _, rest = value.partition(".job")
    number, _, host = rest.partition("@")
    if prefix != "caldav-sched" or not number.isdigit() or host.lower() != domain.lower():
        return None
    return int(number)


def now_epoch(now: datetime) -> int:
    return int(now.timestamp())

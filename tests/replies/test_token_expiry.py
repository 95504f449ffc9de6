"""Reply tokens expire ``[mail] token_grace_days`` after the event's last instance ended.

The refusal is recorded like any other (the message's state and reason, the
event's history) and changes nothing; an open-ended series never expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from caldav_sched.domain.conditions import Preconditions
from caldav_sched.services import inbound as inbound_service
from caldav_sched.services import objects as object_service
from caldav_sched.services import rsvp
from caldav_sched.store import collections as collection_store
from caldav_sched.store import itip as itip_store
from caldav_sched.store import objects as object_store
from caldav_sched.store import users as user_store
from tests.conftest import ServerThread, ShiftedClock, make_settings
from tests.replies.helpers import reply_mail

START = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
# The meeting's last instance ends 2026-03-10 11:00 UTC.
MEETING = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n"
    "UID:{uid}\r\nDTSTAMP:20260301T000000Z\r\nDTSTART:20260310T100000Z\r\n"
    "DTEND:20260310T110000Z\r\n{rule}SUMMARY:Budget\r\nORGANIZER:mailto:a@example.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:b@example.com\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
ENDED = datetime(2026, 3, 10, 11, 0, tzinfo=timezone.utc)


@pytest.fixture
def organizer(tmp_path):
    def start(**mail):
        clock = ShiftedClock(START)
        server = ServerThread(make_settings(
            tmp_path, mail={"from_address": "calendar@cal.example.com", **mail},
            queue={"workers": 0},
        ), clock=clock)
        server.start()
        server.add_user("A", "a@example.com")
        started.append(server)
        return server, clock

    started: list[ServerThread] = []
    yield start
    for server in started:
        server.stop()


async def _store(services, uid: str, rule: str = "") -> str:
    reader = services.db.reader()
    user = await user_store.get_user(reader, "A")
    calendar = await collection_store.get_collection(reader, "A", "event")
    body = MEETING.format(uid=uid, rule=rule).encode()
    await object_service.put_object(services, user, calendar, f"{uid}.ics", body, Preconditions())
    token = await itip_store.token_for(reader, user.id, uid, "mailto:b@example.com")
    assert token is not None
    return token.token


async def _copy(services, uid: str) -> bytes:
    row = await object_store.find_owned_object(services.db.reader(), 1, uid)
    return row.data


def _reply(server, token: str, uid: str):
    raw = reply_mail(
        to=f"calendar+{token}@cal.example.com", attendee="b@example.com", partstat="ACCEPTED",
        uid=uid, dtstamp="20260305T120000Z",
    )
    return server.call(inbound_service.ingest(server.services, raw, worker="test"))


def at(clock: ShiftedClock, when: datetime) -> None:
    clock.offset = when - datetime.now(timezone.utc)


def test_a_reply_more_than_the_grace_after_the_end_is_refused_and_recorded(organizer):
    server, clock = organizer()
    token = server.call(_store(server.services, "budget"))
    before = server.call(_copy(server.services, "budget"))
    at(clock, ENDED + timedelta(days=30, hours=1))

    message_id, verdict = _reply(server, token, "budget")

    assert verdict.state == "refused"
    assert "has expired" in verdict.reason and "2026-03-10" in verdict.reason
    assert server.call(_copy(server.services, "budget")) == before
    (row,) = server.call(inbound_service.list_messages(server.services, "refused"))
    assert row.id == message_id and "has expired" in row.reason
    history = server.call(itip_store.log_for_uid(server.services.db.reader(), "budget"))
    assert any(h.direction == "in" and h.state == "refused" and "expired" in h.reason for h in history)


def test_a_reply_within_the_grace_is_applied(organizer):
    server, clock = organizer()
    token = server.call(_store(server.services, "budget"))
    at(clock, ENDED + timedelta(days=29))

    _, verdict = _reply(server, token, "budget")

    assert verdict.state == "applied", verdict.reason
    assert b"PARTSTAT=ACCEPTED" in server.call(_copy(server.services, "budget")).replace(b"\r\n ", b"")


def test_the_grace_is_configurable(organizer):
    server, clock = organizer(token_grace_days=90)
    token = server.call(_store(server.services, "budget"))
    at(clock, ENDED + timedelta(days=60))

    assert _reply(server, token, "budget")[1].state == "applied"


def test_an_open_ended_series_never_expires(organizer):
    server, clock = organizer()
    token = server.call(_store(server.services, "weekly", rule="RRULE:FREQ=WEEKLY\r\n"))
    at(clock, ENDED + timedelta(days=3650))

    _, verdict = _reply(server, token, "weekly")

    assert verdict.state == "applied", verdict.reason


def test_the_answer_page_follows_the_same_rule(organizer):
    server, clock = organizer()
    token = server.call(_store(server.services, "budget"))
    before = server.call(_copy(server.services, "budget"))
    at(clock, ENDED + timedelta(days=31))

    answer = server.call(rsvp.answer(
        server.services, token, "ACCEPTED", comment=None, seen_version=0
    ))

    assert answer.outcome == rsvp.Outcome.GONE and "has expired" in answer.reason
    assert server.call(rsvp.open_invitation(server.services, token)) is None  # the page is a 404
    assert server.call(_copy(server.services, "budget")) == before

"""Shared builders for the iMIP rendering tests.

Messages come from the real iTIP engine (``plan_organizer_change``,
``plan_attendee_change``) run on iCalendar text, so the renderer is tested
on exactly what the services layer will hand it.  Helpers are fixtures
because ``tests/`` is not a package.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from icalendar import Calendar

from caldav_sched.domain.imip import new_token, render_imip
from caldav_sched.domain.scheduling import (
    ItipMessage,
    OrganizerPlan,
    parse_calendar,
    plan_attendee_change,
    plan_organizer_change,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FROM = "calendar@cal.example.com"
ORGANIZER = "mailto:alice@example.com"
TOKEN = new_token(bytes(range(16)))

BASE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//client//EN
BEGIN:VEVENT
UID:evt-1@example.com
DTSTAMP:20250601T100000Z
DTSTART;TZID=Europe/Berlin:20250610T090000
DTEND;TZID=Europe/Berlin:20250610T100000
SUMMARY:Planning
LOCATION:Room 1
DESCRIPTION:Agenda:\\n1. budget\\n2. hiring
ORGANIZER;CN=Alice Smith:mailto:alice@example.com
ATTENDEE;CN=Alice Smith;PARTSTAT=ACCEPTED:mailto:alice@example.com
ATTENDEE;CN=Bob Jones;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;ROLE=REQ-PARTICIPANT:mailto:bob@example.net
ATTENDEE;PARTSTAT=TENTATIVE;ROLE=OPT-PARTICIPANT:mailto:carol@example.org
END:VEVENT
END:VCALENDAR
"""

ATTENDEE_COPY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//client//EN
BEGIN:VEVENT
UID:ext-1@external.example
DTSTAMP:20250601T100000Z
DTSTART;VALUE=DATE:20250610
DTEND;VALUE=DATE:20250612
SUMMARY:Offsite
ORGANIZER;CN=Olga Ext:mailto:olga@external.example
ATTENDEE;CN=Bob Jones;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.com
ATTENDEE;CN=Carl;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:carl@external.example
END:VEVENT
END:VCALENDAR
"""


def edit(text: str, *replacements: tuple[str, str]) -> str:
    """``text`` with each (old, new) pair replaced; fails loudly on a typo."""
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text


def organizer_plan(old: str | None, new: str | None) -> OrganizerPlan:
    """Run the real engine on an organizer's PUT (or DELETE when ``new`` is None)."""
    return plan_organizer_change(
        parse_calendar(old) if old else None,
        parse_calendar(new) if new else None,
        organizer=ORGANIZER,
        now=NOW,
    )


def message_to(plan: OrganizerPlan, recipient: str) -> ItipMessage:
    """The plan's message for ``recipient`` (a bare mailbox)."""
    found = [m for m in plan.messages if m.recipient == f"mailto:{recipient}"]
    assert len(found) == 1, [m.recipient for m in plan.messages]
    return found[0]


def render(message: ItipMessage, **overrides: object) -> EmailMessage:
    """``render_imip`` with this suite's defaults."""
    kwargs: dict[str, object] = {
        "from_address": FROM,
        "organizer_name": "Alice Smith",
        "organizer_address": "alice@example.com",
        "token": TOKEN,
        "message_id": "<m1@cal.example.com>",
        "now": NOW,
    }
    kwargs.update(overrides)
    return render_imip(message, **kwargs)  # type: ignore[arg-type]


def reparse(msg: EmailMessage) -> EmailMessage:
    """What a receiving mail client sees: the rendered bytes parsed again."""
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def calendar_bytes(msg: EmailMessage, content_type: str = "text/calendar") -> bytes:
    """The decoded bytes of the first part of ``content_type``."""
    for part in msg.walk():
        if part.get_content_type() == content_type:
            return part.get_payload(decode=True)
    raise AssertionError(f"no {content_type} part")


def calendar_of(msg: EmailMessage) -> Calendar:
    return Calendar.from_ical(calendar_bytes(msg))


@pytest.fixture
def base() -> str:
    return BASE


@pytest.fixture
def attendee_copy() -> str:
    return ATTENDEE_COPY


@pytest.fixture
def h() -> Callable[..., object]:
    """The helper functions and constants, as one namespace."""

    class Helpers:
        NOW = NOW
        FROM = FROM
        TOKEN = TOKEN
        BASE = BASE
        ATTENDEE_COPY = ATTENDEE_COPY
        edit = staticmethod(edit)
        organizer_plan = staticmethod(organizer_plan)
        message_to = staticmethod(message_to)
        render = staticmethod(render)
        reparse = staticmethod(reparse)
        calendar_bytes = staticmethod(calendar_bytes)
        calendar_of = staticmethod(calendar_of)

        @staticmethod
        def invite(text: str = BASE, to: str = "bob@example.net") -> ItipMessage:
            return message_to(organizer_plan(None, text), to)

        @staticmethod
        def reply(partstat: str) -> ItipMessage:
            new = edit(
                ATTENDEE_COPY,
                ("PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@", f"PARTSTAT={partstat}:mailto:bob@"),
            )
            plan = plan_attendee_change(
                parse_calendar(ATTENDEE_COPY), parse_calendar(new),
                attendee="mailto:bob@example.com", now=NOW,
            )
            assert len(plan.messages) == 1
            return plan.messages[0]

    return Helpers

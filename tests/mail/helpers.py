"""Reading back what the SMTP sink received."""

from __future__ import annotations

from dataclasses import dataclass

import icalendar

from tests.conftest import Received


@dataclass
class Invitation:
    to: str
    method: str
    sequence: int
    partstat: dict[str, str]
    organizer: str
    reply_to: str
    subject: str
    from_header: str
    calendar: icalendar.Calendar
    content_type_method: str


def calendar_part(received: Received):
    for part in received.message.walk():
        if part.get_content_type() == "text/calendar":
            return part
    raise AssertionError("no text/calendar part")


def read(received: Received) -> Invitation:
    part = calendar_part(received)
    cal = icalendar.Calendar.from_ical(part.get_content())
    event = next(c for c in cal.walk("VEVENT"))
    partstat = {}
    attendees = event.get("ATTENDEE", [])
    if not isinstance(attendees, list):
        attendees = [attendees]
    for attendee in attendees:
        partstat[str(attendee).lower().removeprefix("mailto:")] = str(
            attendee.params.get("PARTSTAT", "NEEDS-ACTION")
        )
    [to] = received.recipients
    return Invitation(
        to=to,
        method=str(cal["METHOD"]),
        sequence=int(event.get("SEQUENCE", 0)),
        partstat=partstat,
        organizer=str(event["ORGANIZER"]).lower().removeprefix("mailto:"),
        reply_to=str(received.message["Reply-To"]),
        subject=str(received.message["Subject"]),
        from_header=str(received.message["From"]),
        calendar=cal,
        content_type_method=part.get_param("method"),
    )


def by_recipient(messages: list[Received]) -> dict[str, Invitation]:
    out = {}
    for received in messages:
        invitation = read(received)
        assert invitation.to not in out, f"two messages to {invitation.to}"
        out[invitation.to] = invitation
    return out

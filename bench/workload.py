"""The events the benchmark stores, and the answers it expects back.

Pure: a seeded generator of realistic iCalendar objects (UTC and zoned
times, some weekly or monthly series with a bounded COUNT, some with an
organizer and 3-10 attendees, spread over one year) together with each
object's instances, so the harness can check a calendar-query's result count
without trusting the server it measures.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")

# What a client such as Thunderbird sends along with a zoned event.
VTIMEZONE_BERLIN = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
    "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"
    "DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n"
    "DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
)

SUMMARIES = (
    "Team meeting", "1:1", "Dentist", "Planning", "Lunch with Sam", "Release review",
    "Board call", "Yoga", "Sprint retrospective", "Customer demo", "Budget", "Interview",
)
LOCATIONS = ("Room 4.12", "Online", "Cafe Central", "HQ, 3rd floor", "", "")


@dataclass(frozen=True)
class Event:
    name: str
    uid: str
    body: bytes
    # (start, end) of every instance, in UTC.
    instances: tuple[tuple[datetime, datetime], ...]
    attendees: int

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """RFC 4791 9.9 for events with a positive duration."""
        return any(s < end and e > start for s, e in self.instances)


def _utc(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _local(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def make_event(
    rng: random.Random,
    *,
    year_start: datetime,
    organizer: str,
    summary_suffix: str = "",
    uid: str | None = None,
) -> Event:
    uid = uid or str(uuid.UUID(int=rng.getrandbits(128)))
    day = rng.randrange(365)
    hour = rng.randrange(7, 19)
    minutes = rng.choice((0, 15, 30, 45))
    duration = timedelta(minutes=rng.choice((30, 45, 60, 60, 90, 120)))
    zoned = rng.random() < 0.5
    base = (year_start + timedelta(days=day)).replace(hour=hour, minute=minutes, second=0)
    if zoned:
        start = base.replace(tzinfo=None).replace(tzinfo=BERLIN)
    else:
        start = base.replace(tzinfo=timezone.utc)
    roll = rng.random()
    rrule = ""
    starts = [start]
    if roll < 0.07:
        count = rng.randrange(5, 21)
        rrule = f"RRULE:FREQ=WEEKLY;COUNT={count}\r\n"
        starts = [start + timedelta(weeks=i) for i in range(count)]
    elif roll < 0.10 and start.day <= 28:
        count = rng.randrange(3, 13)
        rrule = f"RRULE:FREQ=MONTHLY;COUNT={count}\r\n"
        starts = []
        for i in range(count):
            month = start.month - 1 + i
            starts.append(start.replace(year=start.year + month // 12, month=month % 12 + 1))
    n_attendees = rng.randrange(3, 11) if rng.random() < 0.15 else 0
    lines = [
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldav_sched//bench//EN\r\n",
        VTIMEZONE_BERLIN if zoned else "",
        "BEGIN:VEVENT\r\n",
        f"UID:{uid}\r\n",
        f"DTSTAMP:{_utc(year_start)}\r\n",
        f"CREATED:{_utc(year_start)}\r\n",
        f"SUMMARY:{rng.choice(SUMMARIES)}{summary_suffix}\r\n",
    ]
    if zoned:
        lines.append(f"DTSTART;TZID=Europe/Berlin:{_local(start)}\r\n")
        lines.append(f"DTEND;TZID=Europe/Berlin:{_local(start + duration)}\r\n")
    else:
        lines.append(f"DTSTART:{_utc(start)}\r\n")
        lines.append(f"DTEND:{_utc(start + duration)}\r\n")
    lines.append(rrule)
    location = rng.choice(LOCATIONS)
    if location:
        lines.append(f"LOCATION:{location}\r\n")
    if rng.random() < 0.3:
        lines.append("DESCRIPTION:Agenda: status\\, risks\\, next steps. Bring the numbers.\r\n")
    if n_attendees:
        lines.append(f"ORGANIZER;CN=Bench User:mailto:{organizer}\r\n")
        lines.append(
            f"ATTENDEE;CN=Bench User;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:{organizer}\r\n"
        )
        for i in range(n_attendees):
            lines.append(
                f"ATTENDEE;CN=Guest {i};PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE"
                f":mailto:guest{i}.{uid[:8]}@example.net\r\n"
            )
    if rng.random() < 0.4:
        lines.append(
            "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\n"
            "TRIGGER:-PT15M\r\nEND:VALARM\r\n"
        )
    lines.append("SEQUENCE:0\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    body = "".join(lines).encode("utf-8")
    instances = tuple(
        (s.astimezone(timezone.utc), (s + duration).astimezone(timezone.utc)) for s in starts
    )
    return Event(f"{uid}.ics", uid, body, instances, n_attendees)


def make_events(n: int, *, seed: int, year_start: datetime, organizer: str) -> list[Event]:
    rng = random.Random(seed)
    return [make_event(rng, year_start=year_start, organizer=organizer) for _ in range(n)]


def updated(event: Event, round_no: int) -> Event:
    """The same event with another SUMMARY (a change that sends nothing)."""
    body = event.body.replace(b"\r\nSUMMARY:", f"\r\nSUMMARY:(v{round_no}) ".encode(), 1)
    return Event(event.name, event.uid, body, event.instances, event.attendees)

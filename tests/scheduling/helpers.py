"""Builders for the iCalendar text the table tests feed the engine."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from caldav_sched.domain.scheduling import parse_calendar
from caldav_sched.domain.scheduling.components import attendee_lines, find_attendee, schedulable
from caldav_sched.domain.scheduling.instances import by_key, label

DATA = Path(__file__).parent / "data"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

A = "mailto:a@example.com"
B = "mailto:b@example.com"
C = "mailto:c@example.com"
D = "mailto:d@example.com"

BERLIN = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
DTSTART:19700329T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""


def att(address: str, partstat: str | None = "NEEDS-ACTION", **params: str) -> str:
    """One ATTENDEE line; keyword names use _ for - (schedule_agent=...)."""
    parts = ["ATTENDEE"]
    if partstat is not None:
        parts.append(f"PARTSTAT={partstat}")
    parts += [f"{k.replace('_', '-').upper()}={v}" for k, v in params.items()]
    return ";".join(parts) + ":" + address


def vevent(
    *lines: str,
    uid: str = "evt-1",
    start: str = "DTSTART:20250610T090000Z",
    end: str = "DTEND:20250610T100000Z",
    summary: str | None = "Planning",
    organizer: str | None = A,
    seq: int | None = None,
    stamp: str = "20250601T100000Z",
) -> str:
    """One VEVENT; ``lines`` are extra lines (ATTENDEE, RRULE, RECURRENCE-ID...)."""
    body = ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{stamp}", start]
    if end:
        body.append(end)
    if summary is not None:
        body.append(f"SUMMARY:{summary}")
    if seq is not None:
        body.append(f"SEQUENCE:{seq}")
    if organizer is not None:
        body.append(f"ORGANIZER;CN=Alice:{organizer}")
    body += list(lines)
    body.append("END:VEVENT")
    return "\n".join(body)


def vcal(*components: str, method: str | None = None, tz: str | None = None) -> str:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//client//EN"]
    if method:
        head.append(f"METHOD:{method}")
    if tz:
        head.append(tz)
    return "\n".join([*head, *components, "END:VCALENDAR"]) + "\n"


def cal(*components: str, method: str | None = None, tz: str | None = None):
    """Parsed :func:`vcal`."""
    return parse_calendar(vcal(*components, method=method, tz=tz))


def outline(plan_or_messages) -> list[tuple]:
    """(METHOD, recipient, SEQUENCE, recurrence ids, includes master) per message."""
    messages = getattr(plan_or_messages, "messages", plan_or_messages)
    return [
        (str(m.method), m.recipient, m.sequence, m.recurrence_ids, m.includes_master)
        for m in messages
    ]


def reasons(plan_or_messages) -> dict[str, str]:
    messages = getattr(plan_or_messages, "messages", plan_or_messages)
    return {f"{m.method} {m.recipient}": m.reason for m in messages}


def line_params(calendar, address: str, rid: str = "master") -> dict[str, str]:
    """The parameters of one attendee's line in one instance, upper-cased keys."""
    comp = by_key(calendar)
    for key, component in comp.items():
        if label(key) == rid:
            line = find_attendee(component, address)
            if line is None:
                return {}
            return {k.upper(): str(v) for k, v in line.params.items()}
    raise KeyError(rid)


def partstats(calendar, rid: str = "master") -> dict[str, str]:
    """address -> PARTSTAT for one instance."""
    for key, component in by_key(calendar).items():
        if label(key) == rid:
            return {str(l).lower(): str(l.params.get("PARTSTAT", "")) for l in attendee_lines(component)}
    raise KeyError(rid)


def prop(calendar, name: str, rid: str = "master"):
    for key, component in by_key(calendar).items():
        if label(key) == rid:
            return component.get(name)
    raise KeyError(rid)


def components(calendar) -> list:
    return schedulable(calendar)

"""The facts of a stored event that an operator asks about, as plain data.

Pure: reads an organizer's copy and returns its UID, summary, start,
SEQUENCE, organizer and each attendee's PARTSTAT and SCHEDULE-STATUS (per
instance for overrides), for the admin CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import icalendar

from caldav_sched.domain.scheduling import normalize_address


@dataclass(frozen=True)
class AttendeeFacts:
    address: str
    name: str | None
    partstat: str
    schedule_status: str | None
    rsvp: bool
    instance: str  # "master" or the RECURRENCE-ID


@dataclass(frozen=True)
class EventFacts:
    uid: str
    component: str
    summary: str | None
    start: str | None
    sequence: int
    organizer: str | None
    attendees: tuple[AttendeeFacts, ...]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _when(component: icalendar.cal.Component, name: str) -> str | None:
    prop = component.get(name)
    if prop is None:
        return None
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(prop.to_ical().decode()) if hasattr(prop, "to_ical") else str(prop)


def facts_of(cal: icalendar.Calendar) -> EventFacts:
    components = [c for c in cal.subcomponents if c.name in ("VEVENT", "VTODO", "VJOURNAL")]
    if not components:
        raise ValueError("no event, task or journal in the calendar")
    master = next((c for c in components if "RECURRENCE-ID" not in c), components[0])
    attendees: list[AttendeeFacts] = []
    for component in components:
        instance = _when(component, "RECURRENCE-ID") or "master"
        lines = component.get("ATTENDEE", [])
        for line in lines if isinstance(lines, list) else [lines]:
            params = line.params
            attendees.append(
                AttendeeFacts(
                    address=normalize_address(line).removeprefix("mailto:"),
                    name=_text(params.get("CN")),
                    partstat=str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
                    schedule_status=_text(params.get("SCHEDULE-STATUS")),
                    rsvp=str(params.get("RSVP", "")).upper() == "TRUE",
                    instance=instance,
                )
            )
    organizer = master.get("ORGANIZER")
    return EventFacts(
        uid=str(master.get("UID", "")),
        component=master.name,
        summary=_text(master.get("SUMMARY")),
        start=_when(master, "DTSTART") or _when(master, "DUE"),
        sequence=int(master.get("SEQUENCE", 0)),
        organizer=normalize_address(organizer).removeprefix("mailto:") if organizer else None,
        attendees=tuple(attendees),
    )

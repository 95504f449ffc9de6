"""The events the benchmark stores, and the answers it expects back.

Pure: a seeded generator of realistic iCalendar objects (UTC and zoned
times, some weekly or monthly series with a bounded COUNT, some with an
organizer and 3-10 attendees, spread over one year) together with each
object's instances, so the harness can check a calendar-query's result count
without trusting the server it measures.

Two workloads: "standard" (only such events) and "lived-in" (a third of
the objects are what real calendars also hold: all-day events, birthdays,
weekly and monthly series without end with an override and EXDATEs,
floating times, and tasks with and without DUE).
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
    # (start, end) of every instance, in UTC (floating and all-day times
    # read in UTC, as a calendar without calendar-timezone does); for a
    # series without end, up to three years past the workload's year.
    instances: tuple[tuple[datetime, datetime], ...]
    attendees: int
    component: str = "VEVENT"
    kind: str = "event"  # in the lived-in workload: all-day, birthday, weekly, monthly, floating, task

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
    return Event(event.name, event.uid, body, event.instances, event.attendees, event.component, event.kind)


# -- the lived-in calendar ------------------------------------------------------------

WORKLOADS = ("standard", "lived-in")
UTC = timezone.utc
_HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldav_sched//bench//EN\r\n"
_TAIL = "END:VCALENDAR\r\n"


def _date(value: datetime) -> str:
    return value.strftime("%Y%m%d")


def _component(name: str, uid: str, year_start: datetime, lines: list[str], extra: str = "") -> str:
    head = [f"BEGIN:{name}", f"UID:{uid}", f"DTSTAMP:{_utc(year_start)}", *lines, f"END:{name}"]
    return "\r\n".join(head) + "\r\n" + extra


def _until(year_start: datetime) -> datetime:
    """How far the instances of a series without end are listed."""
    return year_start + timedelta(days=4 * 365)


def _all_day(rng: random.Random, uid: str, year_start: datetime) -> tuple[str, list]:
    day = (year_start + timedelta(days=rng.randrange(365))).replace(hour=0, minute=0)
    days = rng.choice((1, 1, 1, 2, 3, 7))
    lines = [f"DTSTART;VALUE=DATE:{_date(day)}", f"DTEND;VALUE=DATE:{_date(day + timedelta(days=days))}",
             f"SUMMARY:{rng.choice(('Holiday', 'Conference', 'Off site', 'Trip to Lyon'))}", "TRANSP:TRANSPARENT"]
    return _component("VEVENT", uid, year_start, lines), [(day, day + timedelta(days=days))]


def _birthday(rng: random.Random, uid: str, year_start: datetime) -> tuple[str, list]:
    born = datetime(rng.randrange(1950, 2010), rng.randrange(1, 13), rng.randrange(1, 29), tzinfo=UTC)
    lines = [f"DTSTART;VALUE=DATE:{_date(born)}", "RRULE:FREQ=YEARLY", f"SUMMARY:Birthday of guest {uid[:6]}",
             "TRANSP:TRANSPARENT", "CATEGORIES:Birthday"]
    days = [born.replace(year=year) for year in range(born.year, _until(year_start).year + 1)]
    return _component("VEVENT", uid, year_start, lines), [(d, d + timedelta(days=1)) for d in days]


def _open_series(rng: random.Random, uid: str, year_start: datetime, freq: str) -> tuple[str, list]:
    """A weekly or monthly series without end, zoned or in UTC, one moved instance and EXDATEs."""
    zoned = rng.random() < 0.5
    zone = BERLIN if zoned else UTC
    day = year_start + timedelta(days=rng.randrange(300))
    first = datetime(day.year, day.month, min(day.day, 28), rng.randrange(8, 18), 0, tzinfo=zone)
    length = timedelta(minutes=rng.choice((30, 60, 90)))
    starts = []
    current, k = first, 0
    while current < _until(year_start):
        starts.append(current)
        k += 1
        if freq == "WEEKLY":
            current = first + timedelta(weeks=k)
        else:
            month = first.month - 1 + k
            current = first.replace(year=first.year + month // 12, month=month % 12 + 1)

    def stamp(value: datetime) -> str:
        return f";TZID=Europe/Berlin:{_local(value)}" if zoned else f":{_utc(value)}"

    excluded = set(rng.sample(range(1, min(len(starts), 30)), 2))
    moved_index = next(i for i in range(3, 40) if i not in excluded)
    moved = starts[moved_index]
    new_start = moved + timedelta(hours=2)
    lines = [f"DTSTART{stamp(first)}", f"DTEND{stamp(first + length)}", f"RRULE:FREQ={freq}",
             f"SUMMARY:{rng.choice(SUMMARIES)}", *(f"EXDATE{stamp(starts[i])}" for i in sorted(excluded))]
    override = _component("VEVENT", uid, year_start, [
        f"RECURRENCE-ID{stamp(moved)}", f"DTSTART{stamp(new_start)}", f"DTEND{stamp(new_start + length)}",
        "SUMMARY:Moved this once"])
    body = _component("VEVENT", uid, year_start, lines) + override
    instances = [(s, s + length) for i, s in enumerate(starts) if i not in excluded and i != moved_index]
    instances.append((new_start, new_start + length))
    return (VTIMEZONE_BERLIN if zoned else "") + body, sorted(instances)


def _floating(rng: random.Random, uid: str, year_start: datetime) -> tuple[str, list]:
    start = (year_start + timedelta(days=rng.randrange(365))).replace(
        hour=rng.randrange(6, 21), minute=rng.choice((0, 30)), tzinfo=None)
    end = start + timedelta(minutes=rng.choice((30, 60, 120)))
    lines = [f"DTSTART:{_local(start)}", f"DTEND:{_local(end)}", "SUMMARY:Call home"]
    return _component("VEVENT", uid, year_start, lines), [(start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))]


def _task(rng: random.Random, uid: str, year_start: datetime) -> tuple[str, list]:
    lines = [f"SUMMARY:{rng.choice(('Pay rent', 'Renew passport', 'Call the plumber', 'Read the report'))}",
             "STATUS:NEEDS-ACTION"]
    if rng.random() < 0.5:
        due = (year_start + timedelta(days=rng.randrange(365))).replace(hour=17, minute=0)
        lines.append(f"DUE:{_utc(due)}")
        if rng.random() < 0.5:
            lines.append(f"DTSTART:{_utc(due - timedelta(days=3))}")
    return _component("VTODO", uid, year_start, lines), []


# The third of a lived-in calendar that is not an ordinary event, by share.
_LIVED_IN = (
    (0.08, "all-day"), (0.05, "birthday"), (0.06, "weekly"), (0.03, "monthly"), (0.05, "floating"), (0.06, "task"),
)


def make_lived_in_event(rng: random.Random, *, year_start: datetime, organizer: str) -> Event:
    roll = rng.random()
    for share, kind in _LIVED_IN:
        if roll < share:
            break
        roll -= share
    else:
        return make_event(rng, year_start=year_start, organizer=organizer)
    uid = str(uuid.UUID(int=rng.getrandbits(128)))
    if kind == "all-day":
        text, instances = _all_day(rng, uid, year_start)
    elif kind == "birthday":
        text, instances = _birthday(rng, uid, year_start)
    elif kind in ("weekly", "monthly"):
        text, instances = _open_series(rng, uid, year_start, kind.upper())
    elif kind == "floating":
        text, instances = _floating(rng, uid, year_start)
    else:
        text, instances = _task(rng, uid, year_start)
    utc_instances = tuple((s.astimezone(UTC), e.astimezone(UTC)) for s, e in instances)
    component = "VTODO" if kind == "task" else "VEVENT"
    return Event(f"{uid}.ics", uid, (_HEAD + text + _TAIL).encode(), utc_instances, 0, component, kind)


def make_workload(name: str, n: int, *, seed: int, year_start: datetime, organizer: str) -> list[Event]:
    """The objects of a workload: "standard" or "lived-in"."""
    if name == "standard":
        return make_events(n, seed=seed, year_start=year_start, organizer=organizer)
    if name != "lived-in":
        raise ValueError(f"unknown workload {name!r}")
    rng = random.Random(seed)
    return [make_lived_in_event(rng, year_start=year_start, organizer=organizer) for _ in range(n)]

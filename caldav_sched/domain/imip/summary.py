"""The human-readable part of an iMIP mail: what, when, where, who.

Owns the plain-text and HTML bodies (CalConnect iMIP best practices: the
mail must make sense to a reader whose client shows no RSVP buttons).
The facts are gathered once into a ``Summary`` from the engine's calendar
(before the ORGANIZER rewrite, so real addresses are shown), then written
out twice.  Every value from the calendar is escaped in the HTML; nothing
from it is turned into a link, so a crafted URL or DESCRIPTION cannot become
one.  The only links are the answer page's (``answer_links``), which the
server makes from its own ``public_url`` and the reply token.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from icalendar import Calendar
from icalendar.cal import Component

from caldav_sched.domain.scheduling import canonical_partstat
from caldav_sched.domain.scheduling.addresses import mailbox
from caldav_sched.domain.scheduling.components import attendee_lines

from .headers import scrub

PARTSTAT_WORDS = {
    "NEEDS-ACTION": "has not answered yet",
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "might attend (tentative)",
    "DELEGATED": "delegated",
    "COMPLETED": "completed",
    "IN-PROCESS": "in progress",
}
ROLE_WORDS = {"CHAIR": "chair", "OPT-PARTICIPANT": "optional", "NON-PARTICIPANT": "for information"}
NO_TITLE = "(no title)"
ANSWER_WORDS = {"accepted": "Accept", "tentative": "Maybe", "declined": "Decline"}
ANSWER_INTRO = "Answer on the web, from any mail program:"
MAX_ROW = 2000


@dataclass(frozen=True)
class Person:
    """Someone named in the event: display text and, for attendees, their answer."""

    name: str | None
    address: str
    answer: str | None = None
    role: str | None = None

    def label(self) -> str:
        """``Bob <bob@example.com>`` or just the address."""
        return f"{self.name} <{self.address}>" if self.name else self.address


@dataclass(frozen=True)
class Summary:
    """The facts a mail body states, already in words."""

    headline: str
    title: str
    when: str
    recurrence: str | None = None
    occurrences: tuple[str, ...] = ()  # original times of moved occurrences
    occurrence_note: str | None = None
    location: str | None = None
    organizer: Person | None = None
    attendees: tuple[Person, ...] = ()
    description: str | None = None
    changes: tuple[str, ...] = ()
    cancelled: bool = False  # the event is cancelled for the reader
    extra: tuple[tuple[str, str], ...] = ()
    # (answer name, URL) for the answer page; empty: no links.
    answer_links: tuple[tuple[str, str], ...] = ()


def primary_component(calendar: Calendar) -> Component | None:
    """The master if the message carries it, else its first instance."""
    comps = [c for c in calendar.subcomponents if c.name in ("VEVENT", "VTODO", "VJOURNAL")]
    masters = [c for c in comps if "RECURRENCE-ID" not in c]
    return (masters or comps or [None])[0]


def instance_components(calendar: Calendar) -> list[Component]:
    """Components with a RECURRENCE-ID (overrides or single instances)."""
    return [
        c for c in calendar.subcomponents
        if c.name in ("VEVENT", "VTODO", "VJOURNAL") and "RECURRENCE-ID" in c
    ]


def text_of(comp: Component | None, name: str) -> str | None:
    """A TEXT property as a stripped string, None when absent or blank."""
    if comp is None or comp.get(name) is None:
        return None
    value = comp.get(name)
    if isinstance(value, list):
        value = value[0]
    text = str(value).strip()
    return text or None


def person(line: object) -> Person:
    """A Person from an ORGANIZER/ATTENDEE line (non-mailto addresses shown as written)."""
    params = getattr(line, "params", {}) or {}
    address = mailbox(line) or str(line)
    name = str(params.get("CN") or "").strip()
    partstat = params.get("PARTSTAT")
    answer = None
    if partstat is not None:
        value = canonical_partstat(str(partstat))
        answer = PARTSTAT_WORDS.get(value, value.lower())
    role = ROLE_WORDS.get(str(params.get("ROLE") or "").upper())
    return Person(name=name or None, address=address, answer=answer, role=role)


def attendees_of(comp: Component | None) -> tuple[Person, ...]:
    """Every ATTENDEE of the component, in order."""
    return tuple(person(line) for line in attendee_lines(comp)) if comp is not None else ()


def rows_of(summary: Summary) -> list[tuple[str, str]]:
    """The label/value table both bodies show, each value on one line."""
    rows = [("What", summary.title), ("When", summary.when or "(no time given)")]
    if summary.recurrence:
        rows.append(("Repeats", summary.recurrence))
    if summary.occurrences:
        rows.append(("Originally", "; ".join(summary.occurrences)))
    if summary.location:
        rows.append(("Where", summary.location))
    if summary.organizer is not None:
        rows.append(("Organizer", summary.organizer.label()))
    rows += list(summary.extra)
    # A SUMMARY with a newline must not break the table (or fake a row).
    return [(label, scrub(value, MAX_ROW)) for label, value in rows]


def write_text(summary: Summary) -> str:
    """The text/plain body (LF line ends; the email package writes CRLF)."""
    lines = [scrub(summary.headline, MAX_ROW), ""]
    rows = rows_of(summary)
    width = max(len(label) for label, _ in rows) + 2
    lines += [f"{label + ':':<{width}}{value}" for label, value in rows]
    if summary.occurrence_note:
        lines += ["", summary.occurrence_note]
    if summary.answer_links:
        lines += ["", ANSWER_INTRO]
        lines += [f"  {ANSWER_WORDS.get(name, name)}: {url}" for name, url in summary.answer_links]
    if summary.attendees:
        lines += ["", "Attendees:"]
        lines += [f"  - {scrub(_attendee_text(p), MAX_ROW)}" for p in summary.attendees]
    if summary.changes:
        lines += ["", "What changed:"]
        lines += [f"  - {scrub(change, MAX_ROW)}" for change in summary.changes]
    if summary.description:
        lines += ["", "Description:", *[f"  {line}".rstrip() for line in summary.description.splitlines()]]
    lines += ["", _footer(summary)]
    return "\n".join(lines) + "\n"


def write_html(summary: Summary) -> str:
    """The text/html body; every calendar value is escaped."""
    e = _escape
    rows = rows_of(summary)
    title_style = ' style="text-decoration:line-through"' if summary.cancelled else ""
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"><title>' + e(scrub(summary.title, MAX_ROW)) + "</title></head>",
        '<body style="font-family:sans-serif">',
        f"<p>{e(scrub(summary.headline, MAX_ROW))}</p>",
        f"<h2{title_style}>{e(scrub(summary.title, MAX_ROW))}</h2>",
        "<table>",
        *[
            f'<tr><th style="text-align:left;vertical-align:top;padding-right:1em">{e(label)}</th>'
            f"<td>{e(value)}</td></tr>"
            for label, value in rows
        ],
        "</table>",
    ]
    if summary.occurrence_note:
        parts.append(f"<p>{e(summary.occurrence_note)}</p>")
    if summary.answer_links:
        links = " &middot; ".join(
            f'<a href="{e(url)}" style="font-weight:bold">{e(ANSWER_WORDS.get(name, name))}</a>'
            for name, url in summary.answer_links
        )
        parts.append(f"<p>{e(ANSWER_INTRO)} {links}</p>")
    if summary.attendees:
        parts += ["<h3>Attendees</h3>", "<ul>"]
        parts += [f"<li>{e(scrub(_attendee_text(p), MAX_ROW))}</li>" for p in summary.attendees]
        parts.append("</ul>")
    if summary.changes:
        parts += ["<h3>What changed</h3>", "<ul>"]
        parts += [f"<li>{e(scrub(change, MAX_ROW))}</li>" for change in summary.changes]
        parts.append("</ul>")
    if summary.description:
        body = "<br>\n".join(e(line) for line in summary.description.splitlines())
        parts += ["<h3>Description</h3>", f"<p>{body}</p>"]
    parts += [f'<p style="color:#666">{e(_footer(summary))}</p>', "</body></html>"]
    return "\n".join(parts) + "\n"


def _escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def _attendee_text(p: Person) -> str:
    role = f" ({p.role})" if p.role else ""
    answer = f": {p.answer}" if p.answer else ""
    return f"{p.label()}{role}{answer}"


def _footer(summary: Summary) -> str:
    if summary.cancelled:
        return "The attached calendar data removes this event from calendars that accepted it."
    return "The attached invite.ics holds the event; your calendar program can add it or answer it."


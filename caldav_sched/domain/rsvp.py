"""Answering an invitation on a web page: what the page shows, what it sends.

Layer: ``domain``.  Pure: the organizer's stored copy, the attendee's
address and ``now`` come in; plain data and an iTIP REPLY go out.  The
REPLY is applied by the same engine and the same service as one that came
by mail (``scheduling.apply_reply``), so the stale and token rules are one.

Whole series only: a page answer speaks for the master and for every
override the attendee is in (RFC 5546 §3.2.3 lets a REPLY carry them
together); answers for one occurrence are left to calendar programs.

Which version the attendee saw: the page puts the highest SEQUENCE of the
copy in its form.  A component changed since then has a higher SEQUENCE; the
REPLY then carries the one the attendee saw, which the engine refuses as
stale (anchors 6.6 #35), so nobody answers for a time they were never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from icalendar import Calendar, Event, Todo, vCalAddress
from icalendar.cal import Component

from caldav_sched.domain.imip.summary import NO_TITLE, Person, person, text_of
from caldav_sched.domain.imip.when import describe_recurrence, describe_when
from caldav_sched.domain.scheduling.addresses import normalize_address
from caldav_sched.domain.scheduling.components import (
    ATTENDEE_COMMENT,
    COMMENT_ATTENDEE,
    REPLY_SEQ,
    REPLY_STAMP,
    find_attendee,
    organizer_line,
    param,
    parse_utc,
    schedulable,
    sequence_of,
)
from caldav_sched.domain.scheduling.partstat import (
    ACCEPTED,
    DECLINED,
    NEEDS_ACTION,
    TENTATIVE,
    canonical_partstat,
)

PRODID = "-//caldav_sched//RSVP page//EN"
RSVP_PATH = "/rsvp/"
# The three answers a page offers, by the name its form and links use.
ANSWERS = {"accepted": ACCEPTED, "tentative": TENTATIVE, "declined": DECLINED}
MAX_COMMENT = 1000


@dataclass(frozen=True)
class InvitationView:
    """What the page says about one attendee's invitation."""

    uid: str
    title: str
    when: str  # in the event's own zone, in words
    starts_at: str | None  # UTC ISO 8601, for showing the viewer's own time; None if all-day/floating
    ends_at: str | None
    recurrence: str | None
    recurring: bool
    location: str | None
    description: str | None
    organizer: Person | None
    attendee: Person
    answer: str  # the attendee's PARTSTAT (canonical)
    comment: str | None  # the attendee's last comment, as kept by the engine
    cancelled: bool
    changed: bool  # the event changed since the attendee last answered
    cancelled_occurrences: tuple[str, ...]
    version: int  # the highest SEQUENCE of the copy, carried by the form


def rsvp_url(public_url: str, base_path: str, token: str) -> str:
    """``<public_url>[<base_path>]/rsvp/<token>``.

    ``public_url`` is where people reach the server; the base path is added
    unless ``public_url`` already ends with it (both spellings work).
    """
    root = public_url.rstrip("/")
    base = base_path.rstrip("/")
    if base and not root.endswith(base):
        root += base
    return f"{root}{RSVP_PATH}{token}"


def answer_links(url: str) -> tuple[tuple[str, str], ...]:
    """(answer name, link) for each answer, in the order a page shows them."""
    return tuple((name, f"{url}?answer={name}") for name in ANSWERS)


def parse_answer(value: str | None) -> str | None:
    """The PARTSTAT for an answer name from a form or link, None for anything else."""
    return ANSWERS.get((value or "").strip().lower())


def answer_name(partstat: str) -> str | None:
    """The inverse of ``parse_answer``."""
    return next((name for name, value in ANSWERS.items() if value == partstat), None)


def _components_of(stored: Calendar, attendee: str) -> list[Component]:
    return [c for c in schedulable(stored) if find_attendee(c, attendee) is not None]


def _master(comps: list[Component]) -> Component | None:
    masters = [c for c in comps if "RECURRENCE-ID" not in c]
    return (masters or comps or [None])[0]


def _utc_iso(prop: object) -> str | None:
    value = getattr(prop, "dt", None)
    if not isinstance(value, datetime) or value.tzinfo is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _comment_of(comp: Component, address: str) -> str | None:
    value = comp.get(ATTENDEE_COMMENT)
    for prop in value if isinstance(value, list) else ([value] if value is not None else []):
        if normalize_address(prop.params.get(COMMENT_ATTENDEE)) == address:
            return _unescape(str(prop)) or None
    return None


def _unescape(text: str) -> str:
    """RFC 5545 §3.3.11 TEXT escapes (an X- property is kept as written)."""
    out, chars = [], iter(text)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            out.append("\n" if following in "nN" and following else following)
        else:
            out.append(char)
    return "".join(out)


def view_invitation(stored: Calendar, attendee: str) -> InvitationView | None:
    """The page's facts, or None when the attendee is no longer in the event."""
    address = normalize_address(attendee)
    comps = _components_of(stored, address)
    comp = _master(comps)
    if comp is None:
        return None
    line = find_attendee(comp, address)
    assert line is not None
    answer = canonical_partstat(param(line, "PARTSTAT") or NEEDS_ACTION)
    answered_seq = param(line, REPLY_SEQ)
    changed = (
        answer == NEEDS_ACTION
        and answered_seq is not None
        and answered_seq.isdigit()
        and int(answered_seq) < sequence_of(comp)
    )
    organizer = organizer_line(comp)
    end = comp.get("DTEND") or comp.get("DUE")
    every = schedulable(stored)
    cancelled_occurrences = tuple(
        describe_when(c) for c in every
        if "RECURRENCE-ID" in c and str(c.get("STATUS") or "").upper() == "CANCELLED"
    )
    return InvitationView(
        uid=str(comp.get("UID", "")),
        title=text_of(comp, "SUMMARY") or NO_TITLE,
        when=describe_when(comp),
        starts_at=_utc_iso(comp.get("DTSTART")),
        ends_at=_utc_iso(end),
        recurrence=describe_recurrence(comp),
        recurring=any(k in comp for k in ("RRULE", "RDATE")) or len(comps) > 1,
        location=text_of(comp, "LOCATION"),
        description=text_of(comp, "DESCRIPTION"),
        organizer=person(organizer) if organizer is not None else None,
        attendee=person(line),
        answer=answer,
        comment=_comment_of(comp, address),
        cancelled=str(comp.get("STATUS") or "").upper() == "CANCELLED",
        changed=changed,
        cancelled_occurrences=cancelled_occurrences,
        version=max(sequence_of(c) for c in every),
    )


def build_reply(
    stored: Calendar,
    attendee: str,
    partstat: str,
    *,
    comment: str | None,
    seen_version: int,
    now: datetime,
) -> Calendar:
    """The iTIP REPLY the page's answer stands for (whole series).

    One component per component of the copy the attendee is in (cancelled
    occurrences left out), each with the SEQUENCE the attendee saw: its own,
    or ``seen_version`` when it changed after the page was shown (stale).
    """
    address = normalize_address(attendee)
    reply = Calendar()
    reply.add("PRODID", PRODID)
    reply.add("VERSION", "2.0")
    reply.add("METHOD", "REPLY")
    stamp = now.astimezone(timezone.utc).replace(microsecond=0)
    # A page answer is the attendee's latest word: stamp it after every answer
    # applied so far (two presses within a second, or a mail client's clock
    # ahead of ours), or the ordering rule would refuse it.
    for comp in _components_of(stored, address):
        line = find_attendee(comp, address)
        last = parse_utc(param(line, REPLY_STAMP)) if line is not None else None
        if last is not None and last >= stamp:
            stamp = last + timedelta(seconds=1)
    text = (comment or "").strip()[:MAX_COMMENT] or None
    for comp in _components_of(stored, address):
        if "RECURRENCE-ID" in comp and str(comp.get("STATUS") or "").upper() == "CANCELLED":
            continue
        out: Component = Todo() if comp.name == "VTODO" else Event()
        out.add("UID", comp["UID"])
        if "RECURRENCE-ID" in comp:
            out.add("RECURRENCE-ID", comp["RECURRENCE-ID"], encode=False)
        out.add("SEQUENCE", min(sequence_of(comp), seen_version))
        out.add("DTSTAMP", stamp)
        organizer = organizer_line(comp)
        if organizer is not None:
            out.add("ORGANIZER", organizer, encode=False)
        current = find_attendee(comp, address)
        line = vCalAddress(address)
        cn = param(current, "CN") if current is not None else None
        if cn:
            line.params["CN"] = cn
        line.params["PARTSTAT"] = partstat
        out.add("ATTENDEE", line, encode=False)
        if text is not None:
            out.add("COMMENT", text)
        reply.add_component(out)
    return reply


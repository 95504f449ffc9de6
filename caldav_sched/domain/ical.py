"""Reading a calendar object resource as clients send it.

Pure: no I/O.  ``parse_object`` takes a PUT body and returns the parsed
calendar, its UID and component type, and the exact bytes to store.  Lenient
on input (white space around BEGIN/END values, any case of property names,
stray marker lines before BEGIN:VCALENDAR, bare LF line ends, a METHOD that
has no place in a stored object), strict on output: what is stored is valid
iCalendar with CRLF line ends.  When the body needed no repair its octets are
kept as they are, so a client reads back what it wrote.

Clients send the same VTIMEZONE with every zoned event, and parsing it is
half the cost of parsing a typical event.  A VTIMEZONE at the top of the
calendar is therefore parsed once per distinct text and the parsed component
shared by every calendar that carries that text: VTIMEZONE components that
come out of this module are read-only (nothing in this server edits one).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import date

import icalendar

from caldav_sched.domain.rule_reach import barren_rules
from caldav_sched.errors import CaldavSchedError, InvalidCalendarData

PRODID = "-//caldav_sched//caldav_sched//EN"
# Every component type a calendar object resource may hold (VAVAILABILITY: RFC 7953).
OBJECT_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY")

_BEGIN_END = re.compile(r"^\s*(BEGIN|END)\s*:\s*([A-Za-z0-9-]+)\s*$", re.IGNORECASE)
_CONTENT_LINE = re.compile(r"^([A-Za-z0-9-]+)[;:]")
# RFC 5545 3.1: no control characters but HTAB in a content line (CR and LF
# only end lines).  Clients do send stray ones; they are dropped on input.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# RFC 5545 allows these once per component; the second and later ones are
# dropped on input (clients that send two SUMMARYs or DTSTARTs mean the first).
SINGLE_VALUED: dict[str, frozenset[str]] = {
    "VCALENDAR": frozenset({"PRODID", "VERSION", "CALSCALE", "METHOD"}),
    "VEVENT": frozenset({
        "CLASS", "CREATED", "DESCRIPTION", "DTSTART", "GEO", "LAST-MODIFIED", "LOCATION",
        "ORGANIZER", "PRIORITY", "DTSTAMP", "SEQUENCE", "STATUS", "SUMMARY", "TRANSP", "UID",
        "URL", "RECURRENCE-ID", "DTEND", "DURATION", "RRULE",
    }),
    "VTODO": frozenset({
        "CLASS", "COMPLETED", "CREATED", "DESCRIPTION", "DTSTAMP", "DTSTART", "GEO",
        "LAST-MODIFIED", "LOCATION", "ORGANIZER", "PERCENT-COMPLETE", "PRIORITY",
        "RECURRENCE-ID", "SEQUENCE", "STATUS", "SUMMARY", "UID", "URL", "DUE", "DURATION", "RRULE",
    }),
    "VJOURNAL": frozenset({
        "CLASS", "CREATED", "DTSTART", "DTSTAMP", "LAST-MODIFIED", "ORGANIZER", "RECURRENCE-ID",
        "SEQUENCE", "STATUS", "SUMMARY", "UID", "URL", "RRULE",
    }),
    "VFREEBUSY": frozenset({"CONTACT", "DTSTART", "DTEND", "DTSTAMP", "ORGANIZER", "UID", "URL"}),
    "VTIMEZONE": frozenset({"TZID", "LAST-MODIFIED", "TZURL"}),
    "STANDARD": frozenset({"DTSTART", "TZOFFSETTO", "TZOFFSETFROM", "RRULE"}),
    "DAYLIGHT": frozenset({"DTSTART", "TZOFFSETTO", "TZOFFSETFROM", "RRULE"}),
    "VALARM": frozenset({"ACTION", "TRIGGER", "DURATION", "REPEAT", "DESCRIPTION", "SUMMARY"}),
}


_NONE: frozenset[str] = frozenset()


class InvalidObjectResource(CaldavSchedError):
    """A calendar object resource holds one UID and one type of component."""


@dataclass(frozen=True)
class CalendarObject:
    """A calendar object resource ready to be stored."""

    calendar: icalendar.Calendar
    uid: str
    component: str
    data: bytes


def etag_for(data: bytes) -> str:
    """A strong entity tag: it changes whenever the stored octets change."""
    return '"' + hashlib.blake2b(data, digest_size=10).hexdigest() + '"'


def _normalise_text(text: str) -> tuple[str, bool]:
    """Repair what clients and hand-written bodies get wrong; report if anything changed.

    Besides the line-level repairs of the module docstring: control
    characters are dropped, and of a single-valued property given twice in
    one component (two SUMMARYs, two DTSTARTs) the first is kept.
    """
    if _CONTROL.search(text) is not None:
        text_in, text = text, _CONTROL.sub("", text)
    else:
        text_in = text
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    started = ended = False
    # Per open component: its single-valued names, and those seen so far.
    open_components: list[tuple[frozenset[str], set[str]]] = []
    dropping = False  # the line being dropped goes on in continuation lines
    for line in lines:
        match = _BEGIN_END.match(line)
        if match:
            line = f"{match.group(1).upper()}:{match.group(2).upper()}"
        if not started:
            if line == "BEGIN:VCALENDAR":
                started = True
            else:
                # File-name markers and blank lines ahead of the calendar.
                continue
        elif ended:
            if line.strip():
                raise InvalidCalendarData("data after END:VCALENDAR")
            continue
        if line == "END:VCALENDAR":
            ended = True
        if not line:
            continue
        if line[0] in " \t":
            if not dropping:
                out.append(line)
            continue
        dropping = False
        if match:
            if match.group(1).upper() == "BEGIN":
                open_components.append((SINGLE_VALUED.get(match.group(2).upper(), _NONE), set()))
            elif open_components:
                open_components.pop()
            out.append(line)
            continue
        name_match = _CONTENT_LINE.match(line)
        if name_match is None:
            raise InvalidCalendarData(f"not an iCalendar content line: {line[:60]!r}")
        if open_components:
            single, seen = open_components[-1]
            name = name_match.group(1).upper()
            if name in single:
                if name in seen:
                    dropping = True
                    continue
                seen.add(name)
        out.append(line)
    if not started:
        raise InvalidCalendarData("no BEGIN:VCALENDAR")
    if not ended:
        raise InvalidCalendarData("no END:VCALENDAR")
    fixed = "\r\n".join(out) + "\r\n"
    return fixed, fixed != text_in


def _first_error(cal: icalendar.Calendar) -> str | None:
    for component in cal.walk():
        for prop, message in component.errors:
            return f"{component.name} {prop or ''}: {message}".replace("  ", " ")
    return None


def parse_calendar(data: bytes | str) -> icalendar.Calendar:
    """Parse iCalendar text leniently, refusing what cannot be understood."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidCalendarData("iCalendar data must be UTF-8") from exc
    else:
        text = data
    fixed, _ = _normalise_text(text)
    return _parse_text(fixed)


def single_timezone(text: str) -> icalendar.Timezone:
    """The one VTIMEZONE of a calendar-timezone value (RFC 4791 5.2.2, 9.8).

    The value is an iCalendar object holding exactly one VTIMEZONE and no
    other component; anything else is InvalidCalendarData.
    """
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except Exception as exc:  # noqa: BLE001 - icalendar raises several types on bad input
        raise InvalidCalendarData(f"the time zone is not valid iCalendar: {exc}") from exc
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise InvalidCalendarData("the time zone must be a VCALENDAR object")
    zones = [c for c in calendar.subcomponents if c.name == "VTIMEZONE"]
    others = [c.name for c in calendar.subcomponents if c.name != "VTIMEZONE"]
    if len(zones) != 1 or others:
        raise InvalidCalendarData(
            "the time zone must be a VCALENDAR holding exactly one VTIMEZONE and nothing else"
        )
    if "TZID" not in zones[0] or not zones[0].subcomponents:
        raise InvalidCalendarData("the VTIMEZONE needs a TZID and a STANDARD or DAYLIGHT rule")
    return zones[0]


# Distinct VTIMEZONE texts kept parsed: a server sees a few dozen zones, and
# clients' zones are a few hundred octets to a few KiB; larger ones are parsed
# with their calendar, so the cache holds a megabyte of text at most.
TIMEZONE_CACHE_SIZE = 128
TIMEZONE_CACHE_MAX_TEXT = 8 * 1024
_BEGIN_TIMEZONE = "BEGIN:VTIMEZONE\r\n"
_END_TIMEZONE = "END:VTIMEZONE\r\n"


def _leading_timezones(text: str) -> tuple[list[str], str]:
    """The VTIMEZONE blocks ahead of the calendar's first other component, and the rest.

    ``text`` is normalised (CRLF, upper-case BEGIN/END).  Only blocks at the
    top level qualify: nothing but VCALENDAR properties may come before or
    between them (a stray END line stops the search).
    """
    blocks: list[str] = []
    kept: list[str] = []
    taken = 0  # the text before this is kept or in a block
    search = 0  # the next BEGIN line is found from here
    while True:
        found = text.find("\r\nBEGIN:", search)
        if found < 0 or not text.startswith(_BEGIN_TIMEZONE, found + 2):
            break
        if "\r\nEND:" in text[search:found]:
            break
        end = text.find(_END_TIMEZONE, found)
        if end < 0:
            break
        end += len(_END_TIMEZONE)
        kept.append(text[taken:found + 2])
        blocks.append(text[found + 2:end])
        taken, search = end, end - 2
    if not blocks:
        return [], text
    kept.append(text[taken:])
    return blocks, "".join(kept)


@functools.lru_cache(maxsize=TIMEZONE_CACHE_SIZE)
def _parsed_timezone(block: str) -> icalendar.Timezone | None:
    """One VTIMEZONE, parsed; None when it does not parse cleanly on its own."""
    try:
        zone = icalendar.Calendar.from_ical("BEGIN:VCALENDAR\r\n" + block + "END:VCALENDAR\r\n")
    except (ValueError, IndexError, KeyError, TypeError, AttributeError, OSError):
        return None
    parts = zone.subcomponents
    if len(parts) != 1 or parts[0].name != "VTIMEZONE" or _first_error(zone):
        return None
    return parts[0]


def _from_ical(text: str) -> icalendar.Calendar:
    blocks, rest = _leading_timezones(text)
    if any(len(block) > TIMEZONE_CACHE_MAX_TEXT for block in blocks):
        blocks = []
    zones = [_parsed_timezone(block) for block in blocks]
    if not zones or None in zones:
        # No zone ahead of the components, a large one, or one with errors:
        # the ordinary parse, so that errors are reported as they always are.
        return icalendar.Calendar.from_ical(text)
    cal = icalendar.Calendar.from_ical(rest)
    cal.subcomponents[:0] = zones
    return cal


# Longer than any zone name of the IANA database by far; a longer TZID is
# refused before any zone lookup sees it.
MAX_TZID = 255


def _check_tzids(text: str) -> None:
    for match in re.finditer(r"TZID[=:]", text, re.IGNORECASE):
        end = match.end()
        stop = end
        while stop < len(text) and text[stop] not in ";:\r\n" and stop - end <= MAX_TZID:
            stop += 1
        if stop - end > MAX_TZID:
            raise InvalidCalendarData(f"a TZID longer than {MAX_TZID} characters")


def _parse_text(text: str) -> icalendar.Calendar:
    _check_tzids(text)
    try:
        cal = _from_ical(text)
    except (ValueError, IndexError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidCalendarData(f"cannot parse iCalendar data: {exc}".split("\n")[0]) from exc
    except OSError as exc:  # a zone lookup by a TZID that is no file name
        raise InvalidCalendarData("cannot parse iCalendar data: unusable TZID") from exc
    if not isinstance(cal, icalendar.Calendar) or cal.name != "VCALENDAR":
        raise InvalidCalendarData("the top-level component is not VCALENDAR")
    error = _first_error(cal)
    if error:
        raise InvalidCalendarData(f"invalid iCalendar data: {error}")
    return cal


# The properties that place a component in time: a DATE or a DATE-TIME each.
_WHEN_PROPERTIES = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID")


def _check_resource(cal: icalendar.Calendar) -> tuple[str, str]:
    """RFC 4791 section 4.1: one UID, one component type, at most one master."""
    for zone in cal.walk("VTIMEZONE"):
        if not str(zone.get("TZID", "")).strip():
            raise InvalidCalendarData("a VTIMEZONE without TZID")
    kinds = {c.name for c in cal.subcomponents if c.name != "VTIMEZONE"}
    if not kinds:
        raise InvalidObjectResource("the calendar holds no event, task or journal")
    if len(kinds) > 1:
        raise InvalidObjectResource(
            f"one component type per resource, found {', '.join(sorted(kinds))}"
        )
    (kind,) = kinds
    if kind not in OBJECT_COMPONENTS:
        raise InvalidObjectResource(f"{kind} cannot be stored as a calendar object")
    uids = set()
    masters = 0
    for component in cal.subcomponents:
        if component.name == "VTIMEZONE":
            continue
        uid = component.get("UID")
        if uid is None or not str(uid).strip():
            raise InvalidObjectResource(f"a {kind} without UID")
        uids.add(str(uid))
        if "RECURRENCE-ID" not in component:
            masters += 1
    if len(uids) > 1:
        raise InvalidObjectResource("all components of a resource must share one UID")
    if masters > 1:
        raise InvalidObjectResource(f"more than one {kind} without RECURRENCE-ID")
    if kind == "VEVENT":
        for component in cal.subcomponents:
            if component.name == "VEVENT" and "DTSTART" not in component:
                raise InvalidCalendarData("VEVENT without DTSTART")
    for component in cal.subcomponents:
        for name in _WHEN_PROPERTIES:
            value = getattr(component.get(name), "dt", None)
            if value is not None and not isinstance(value, date):
                raise InvalidCalendarData(
                    f"{name} of a {component.name} must be a DATE or DATE-TIME"
                    " (RFC 5545 3.8.2), not a duration or a time"
                )
    for component in cal.walk():
        if not has_valid_intervals(component):
            raise InvalidCalendarData(
                f"an RRULE of a {component.name} with an INTERVAL below 1"
                " (RFC 5545 3.3.10: a positive integer)"
            )
    problem = zone_rule_problem(cal)
    if problem:
        raise InvalidCalendarData(problem)
    return uids.pop(), kind


def zone_rule_problem(cal: icalendar.Calendar) -> str | None:
    """What is wrong with an RRULE of a time zone observance that never
    recurs, or None.

    An event's such rule is read as DTSTART alone (``rule_reach``); a zone's
    is consulted by the zone object icalendar builds, which dateutil walks to
    the year 9999 on every conversion: refused like a malformed rule.
    """
    for zone in cal.walk("VTIMEZONE"):
        for observance in zone.subcomponents:
            if barren_rules(observance):
                return (
                    f"an RRULE of {zone.get('TZID')} {observance.name} that has no onset"
                    " after its DTSTART (RFC 5545 3.6.5)"
                )
    return None


def has_valid_intervals(component: icalendar.Component) -> bool:
    """Whether every RRULE of ``component`` has no INTERVAL or a positive one.

    dateutil takes INTERVAL=0 and then never moves past the first instance:
    a walk to a later date does not end.
    """
    rules = component.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        interval = rule.get("INTERVAL") if isinstance(rule, dict) else None
        if interval and not (isinstance(interval[0], int) and interval[0] >= 1):
            return False
    return True


_TZID_PARAMETER = re.compile(r';TZID=("?)([^";:\r\n]*)\1[;:]', re.IGNORECASE)


def _may_lack_timezones(text: str, cal: icalendar.Calendar) -> bool:
    """Whether a TZID parameter names a zone the calendar has no VTIMEZONE for.

    icalendar's answer walks every property; most bodies settle it from the
    text: when every TZID parameter is read there and names a VTIMEZONE of
    the calendar, none is missing.  In any doubt (a quoted or odd value)
    the walk decides.
    """
    unfolded = text.replace("\r\n ", "").replace("\r\n\t", "")
    mentions = unfolded.upper().count(";TZID=")
    if not mentions:
        return False
    used = _TZID_PARAMETER.findall(unfolded)
    have = {str(zone.get("TZID")) for zone in cal.subcomponents if zone.name == "VTIMEZONE"}
    if len(used) == mentions and all(value in have for _, value in used):
        return False
    return bool(cal.get_missing_tzids())


def parse_object(body: bytes) -> CalendarObject:
    """Validate a PUT body and decide the octets to store."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidCalendarData("iCalendar data must be UTF-8") from exc
    fixed, repaired = _normalise_text(text)
    cal = _parse_text(fixed)
    uid, kind = _check_resource(cal)
    rewrite = repaired
    # RFC 4791 4.1: no METHOD in a stored object; clients still send PUBLISH.
    if "METHOD" in cal:
        del cal["METHOD"]
        rewrite = True
    if str(cal.get("VERSION", "")) != "2.0":
        cal["VERSION"] = "2.0"
        rewrite = True
    if "PRODID" not in cal:
        cal.add("PRODID", PRODID)
        rewrite = True
    if _may_lack_timezones(fixed, cal):
        try:
            cal.add_missing_timezones()
        except Exception as exc:  # an unknown TZID with no VTIMEZONE
            raise InvalidCalendarData(f"time zone without VTIMEZONE: {exc}") from exc
        rewrite = True
    data = serialise(cal) if rewrite else fixed.encode("utf-8")
    return CalendarObject(calendar=cal, uid=uid, component=kind, data=data)


FOLD_OCTETS = 75


def serialise(cal: icalendar.Calendar) -> bytes:
    """The calendar as iCalendar octets: CRLF line ends, lines of at most 75 octets.

    icalendar's own ``to_ical`` folds character by character, which made
    folding most of the cost of serialising; this folds the same content
    lines with ``fold_line``.
    """
    return "".join(fold_line(line) + "\r\n" for line in cal.content_lines() if line).encode("utf-8")


def fold_line(line: str, limit: int = FOLD_OCTETS) -> str:
    """Fold one content line so each physical line has at most ``limit`` octets.

    Continuation lines start with a space, which counts towards the limit.
    A backslash or RFC 6868 caret stays with the character it escapes,
    since some parsers do not rejoin an escape split across lines; a fold
    never falls inside a UTF-8 sequence.
    """
    if not line.isascii():
        return _fold_by_octets(line, limit)
    # One octet per character: the same cuts as below, found by slicing.
    pieces: list[str] = []
    start, budget = 0, limit
    while len(line) - start > budget:
        cut = start + budget
        if budget > 1 and line[cut - 1] in "\\^":
            cut -= 1
        pieces.append(line[start:cut])
        start, budget = cut, limit - 1
    pieces.append(line[start:])
    return "\r\n ".join(pieces)


def _fold_by_octets(line: str, limit: int) -> str:
    pieces: list[str] = []
    current = ""
    size = 0
    budget = limit
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > budget:
            carry = ""
            if len(current) > 1 and current[-1] in "\\^":
                carry, current = current[-1], current[:-1]
            pieces.append(current)
            current, size = carry, len(carry.encode("utf-8"))
            budget = limit - 1  # the leading space of a continuation line
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)

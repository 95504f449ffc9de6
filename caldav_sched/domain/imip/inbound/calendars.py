"""One MIME leaf in, the iTIP calendars it carries out (RFC 6047 section 2.4).

Owns the decoding of a calendar part (transfer encoding, then charset), the
repairs real clients need (CCS ``sanitizeCalendar``, anchors 6.1 #2, #3, #5)
and the digest used to drop duplicates.  Never raises: a part that cannot be
read is reported in ``problems`` and gives nothing.

Decisions
    Charset: the declared one when the bytes decode with it; else UTF-8;
    else ISO-8859-1, which decodes anything (what undeclared 8-bit calendars
    from old Outlook and Lotus versions are, in practice).
    Method: the body's METHOD wins over the MIME ``method=`` parameter when
    they disagree (the body is what the iTIP engine acts on; the parameter
    is a copy that gateways drop or re-case), and the disagreement is noted.
    Several VCALENDAR objects in one part are each read (RFC 6047 asks for
    one; tolerating more costs nothing).
"""

from __future__ import annotations

import codecs
import hashlib
import re
from email.message import Message

import icalendar

from caldav_sched.domain.ical import has_valid_intervals, parse_calendar, zone_rule_problem

from .model import CalendarPart

_EDGE = re.compile(r"[ \t]*(BEGIN|END)[ \t]*:[ \t]*VCALENDAR[ \t]*", re.IGNORECASE)
# Not str.splitlines: U+2028 and friends may sit inside a SUMMARY.
_LINE_END = re.compile(r"\r\n|\r|\n")
_ITEMS = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY")
MAX_CALENDARS_PER_PART = 20


def payload_bytes(part: Message) -> bytes | None:
    """The part's body with its Content-Transfer-Encoding undone."""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # malformed encodings the stdlib does not forgive
        return None
    return data if isinstance(data, bytes) else None


def decode_text(data: bytes, declared: str | None, problems: list[str]) -> str:
    """The part's bytes as text: declared charset, else UTF-8, else ISO-8859-1."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if declared:
        try:
            return data.decode(declared)
        except Exception:  # unknown name, wrong bytes, or not a text codec at all
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        fallback = "ISO-8859-1"
    else:
        fallback = "UTF-8"
    if declared and fallback.lower() != declared.lower():
        problems.append(f"calendar part is not valid {declared}; read as {fallback}")
    elif not declared and fallback != "UTF-8":
        problems.append("calendar part has no charset and is not UTF-8; read as ISO-8859-1")
    return text


def mime_method_of(part: Message) -> str | None:
    try:
        value = part.get_param("method")
    except Exception:
        return None
    if isinstance(value, tuple):  # RFC 2231 form
        value = value[2]
    text = str(value or "").strip().strip('"').strip()
    return text.upper() or None


def read_calendars(
    part: Message,
    *,
    content_type: str,
    filename: str | None,
    max_size: int,
    problems: list[str],
) -> list[CalendarPart]:
    """Every calendar in one MIME leaf, sanitised; notes what was skipped."""
    label = _label(content_type, filename)
    data = payload_bytes(part)
    if data is None:
        problems.append(f"{label}: body could not be decoded; skipped")
        return []
    if len(data) > max_size:
        problems.append(
            f"{label}: calendar part over the size limit ({len(data)} > {max_size} bytes); skipped"
        )
        return []
    try:
        declared = part.get_content_charset()
    except Exception:
        declared = None
    text = decode_text(data, declared, problems)
    blocks = split_vcalendars(text)
    if not blocks:
        problems.append(f"{label}: no BEGIN:VCALENDAR ... END:VCALENDAR; skipped")
        return []
    if len(blocks) > MAX_CALENDARS_PER_PART:
        problems.append(f"{label}: more than {MAX_CALENDARS_PER_PART} calendars; the rest ignored")
        blocks = blocks[:MAX_CALENDARS_PER_PART]
    mime_method = mime_method_of(part)
    found = []
    for block in blocks:
        calendar = _parse(block, label, problems)
        if calendar is not None:
            found.append(_to_part(calendar, block, mime_method, content_type, filename, label, problems))
    return found


def unique_parts(parts: list[CalendarPart]) -> tuple[CalendarPart, ...]:
    """The parts with repeats of the same calendar dropped, first one kept.

    Google, Outlook.com and Thunderbird mail the same calendar twice (inline
    text/calendar plus an ``invite.ics`` attachment); one mail must make one
    update (anchors 6.1 #4).
    """
    seen: set[str] = set()
    kept = []
    for part in parts:
        if part.digest not in seen:
            seen.add(part.digest)
            kept.append(part)
    return tuple(kept)


def split_vcalendars(text: str) -> list[str]:
    """Each BEGIN:VCALENDAR ... END:VCALENDAR block, in one linear pass.

    Text around the blocks (signatures, a client's preamble) is dropped; a
    BEGIN inside an unfinished block starts over, so a truncated first copy
    does not swallow a good second one.
    """
    blocks: list[str] = []
    current: list[str] | None = None
    for line in _LINE_END.split(text):
        edge = _EDGE.fullmatch(line)
        if edge and edge.group(1).upper() == "BEGIN":
            current = [line]
        elif current is not None:
            current.append(line)
            if edge:
                blocks.append("\r\n".join(current) + "\r\n")
                current = None
    return blocks


def _label(content_type: str, filename: str | None) -> str:
    return f"{content_type} part {filename!r}" if filename else f"{content_type} part"


def _parse(block: str, label: str, problems: list[str]) -> icalendar.Calendar | None:
    try:
        calendar = parse_calendar(block)
    except Exception as exc:  # InvalidCalendarData, or icalendar failing oddly
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        problems.append(f"{label}: calendar could not be parsed ({reason[:200]}); skipped")
        return None
    if not all(has_valid_intervals(c) for c in calendar.walk()):
        # dateutil would walk such a rule forever: refused as a PUT is.
        problems.append(f"{label}: a recurrence rule with an INTERVAL below 1 (RFC 5545 3.3.10); skipped")
        return None
    zone_problem = zone_rule_problem(calendar)
    if zone_problem:
        # Every conversion in that zone would walk the rule to the year 9999: refused as a PUT is.
        problems.append(f"{label}: {zone_problem[:200]}; skipped")
        return None
    if not any(c.name in _ITEMS for c in calendar.subcomponents):
        problems.append(f"{label}: calendar holds no event, task, journal or free-busy")
    return calendar


def _to_part(
    calendar: icalendar.Calendar,
    block: str,
    mime_method: str | None,
    content_type: str,
    filename: str | None,
    label: str,
    problems: list[str],
) -> CalendarPart:
    body_method = str(calendar.get("METHOD", "") or "").strip().upper()
    if body_method and mime_method and body_method != mime_method:
        problems.append(
            f"{label}: MIME method={mime_method} disagrees with METHOD:{body_method}; "
            f"using {body_method}"
        )
    method = body_method or mime_method or ""
    if not method:
        problems.append(f"{label}: calendar without an iTIP method (no METHOD, no method=)")
    _sanitise(calendar, method)
    return CalendarPart(
        method=method,
        mime_method=mime_method,
        calendar=calendar,
        content_type=content_type,
        filename=filename,
        digest=_digest(calendar, block),
    )


def _sanitise(calendar: icalendar.Calendar, method: str) -> None:
    """Upper-case METHOD (``METHOD:Reply`` is real) and drop a REPLY's STATUS."""
    if "METHOD" in calendar:
        del calendar["METHOD"]
    if method:
        calendar.add("METHOD", method)
    if method == "REPLY":
        for component in calendar.subcomponents:
            if component.name in _ITEMS and "STATUS" in component:
                del component["STATUS"]


def _digest(calendar: icalendar.Calendar, block: str) -> str:
    try:
        data = calendar.to_ical()
    except Exception:  # a value icalendar parsed but cannot write back
        data = block.replace("\r\n", "\n").encode("utf-8", "replace")
    return hashlib.sha256(data).hexdigest()

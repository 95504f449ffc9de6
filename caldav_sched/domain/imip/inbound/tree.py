"""The MIME walk: which parts of a mail are calendars, reports or noise.

Owns the discovery rules of anchors 6.1 #1-#8.  A calendar is found at any
depth of multipart nesting, as a body part or an attachment:
``text/calendar``, ``application/ics`` (Google, Thunderbird), the older
``text/x-vcalendar``, and any non-multipart part whose file name ends in
``.ics`` (clients that label attachments ``application/octet-stream``).

Never descended into: ``message/rfc822`` and its kin.  A forwarded message
is someone else's mail; reading its invitation as a fresh reply would let
any forwarder speak for the original sender (anchors 6.1 #8, 6.3 #21).  The
one exception is the returned message inside a ``multipart/report`` (a
bounce), which is collected apart and never becomes one of the mail's own
calendar parts.

Bounded: at most ``MAX_PARTS`` parts, ``MAX_DEPTH`` levels of nesting and
``MAX_CALENDAR_PARTS`` calendar parts are looked at, so a hostile mail costs
little; anything past a bound is noted and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from .calendars import read_calendars
from .fields import clean
from .model import CalendarPart

CALENDAR_TYPES = frozenset(
    {"text/calendar", "application/ics", "text/x-vcalendar", "application/x-ics"}
)
CALENDAR_SUFFIXES = (".ics", ".ical", ".ifb", ".vcs")
EMBEDDED_MESSAGES = frozenset({"message/rfc822", "message/global"})
STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
RETURNED_HEADERS = frozenset({"text/rfc822-headers", "message/global-headers"})
TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
MAX_PARTS = 500
MAX_DEPTH = 40
MAX_CALENDAR_PARTS = 50


@dataclass
class Walk:
    """What one walk collected; filled in as the tree is read."""

    parts: list[CalendarPart] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    status_parts: list[Message] = field(default_factory=list)
    returned: list[Message] = field(default_factory=list)
    returned_headers: list[Message] = field(default_factory=list)
    report_types: list[str] = field(default_factory=list)
    tnef: bool = False
    calendar_leaves: int = 0


def content_type_of(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:  # a Content-Type the header registry could not read
        return "application/octet-stream"


def filename_of(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    if not name:
        return None
    return " ".join(clean(str(name)).split())[:255] or None


def walk(root: Message, *, max_calendar_size: int) -> Walk:
    """Read the tree under ``root`` (itself included) depth-first, in mail order."""
    found = Walk()
    stack: list[tuple[Message, int, bool]] = [(root, 0, False)]
    seen = 0
    while stack:
        part, depth, in_report = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            found.problems.append(f"more than {MAX_PARTS} MIME parts; the rest ignored")
            break
        try:
            children = _visit(part, depth, in_report, found, max_calendar_size)
        except Exception as exc:  # one bad part must not cost the others
            found.problems.append(f"a MIME part could not be read ({type(exc).__name__}); skipped")
            continue
        stack.extend(reversed(children))
    return found


def _visit(
    part: Message, depth: int, in_report: bool, found: Walk, max_size: int
) -> list[tuple[Message, int, bool]]:
    """Handle one part; return its children to walk next."""
    ctype = content_type_of(part)
    if ctype.startswith("multipart/"):
        return _children(part, ctype, depth, found)
    if ctype in EMBEDDED_MESSAGES:
        _embedded(part, in_report, found)
    elif ctype in STATUS_TYPES:
        found.status_parts.append(part)
    elif ctype in RETURNED_HEADERS and in_report:
        found.returned_headers.append(part)
    else:
        _leaf(part, ctype, found, max_size)
    return []


def _children(
    part: Message, ctype: str, depth: int, found: Walk
) -> list[tuple[Message, int, bool]]:
    payload = part.get_payload()
    if not isinstance(payload, list):
        found.problems.append(f"{ctype} without readable parts (missing boundary?); skipped")
        return []
    if depth + 1 > MAX_DEPTH:
        found.problems.append(f"MIME nesting deeper than {MAX_DEPTH}; inner parts ignored")
        return []
    is_report = ctype == "multipart/report"
    if is_report:
        found.report_types.append(_report_type(part))
    return [(child, depth + 1, is_report) for child in payload if isinstance(child, Message)]


def _report_type(part: Message) -> str:
    try:
        value = part.get_param("report-type")
    except Exception:
        return ""
    return str(value or "").strip().lower() if not isinstance(value, tuple) else ""


def _embedded(part: Message, in_report: bool, found: Walk) -> None:
    inner = part.get_payload()
    message = inner[0] if isinstance(inner, list) and inner else None
    if in_report and isinstance(message, Message):
        found.returned.append(message)
    elif not in_report:
        found.problems.append("forwarded message ignored (an attached message/rfc822 is not read)")


def _leaf(part: Message, ctype: str, found: Walk, max_size: int) -> None:
    filename = filename_of(part)
    lower_name = (filename or "").lower()
    if ctype in TNEF_TYPES or lower_name == "winmail.dat":
        found.tnef = True
        return
    if ctype not in CALENDAR_TYPES and not lower_name.endswith(CALENDAR_SUFFIXES):
        return
    found.calendar_leaves += 1
    if found.calendar_leaves > MAX_CALENDAR_PARTS:
        if found.calendar_leaves == MAX_CALENDAR_PARTS + 1:
            found.problems.append(f"more than {MAX_CALENDAR_PARTS} calendar parts; the rest ignored")
        return
    found.parts += read_calendars(
        part,
        content_type=ctype,
        filename=filename,
        max_size=max_size,
        problems=found.problems,
    )

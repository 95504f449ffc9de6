"""The iCalendar object as it is mailed: token ORGANIZER, strict spelling.

Owns the last step between the engine's ``ItipMessage.calendar`` and the
bytes in the mail (RFC 6047 §2, anchors 6.8 #49-50):

* for messages from the organizer, ORGANIZER and the organizer's own
  ATTENDEE line become the token address (``rewrite_organizer``, which
  keeps CN and puts the real address in EMAIL=); a missing CN is filled
  from the organizer's account name, so clients still show a person;
* METHOD and the enumerated parameters (PARTSTAT, ROLE, RSVP, CUTYPE) in
  upper case, because Outlook ignores ``PARTSTAT=Accepted``;
* a VTIMEZONE for every TZID used (the engine adds them; this checks again);
* CRLF line ends and lines folded at 75 octets, never inside a UTF-8
  sequence or a backslash escape, whatever the icalendar version does.
"""

from __future__ import annotations

from icalendar import Calendar

from caldav_sched.domain.ical import serialise
from caldav_sched.domain.scheduling import Method, normalize_address, rewrite_organizer
from caldav_sched.domain.scheduling.components import attendee_lines, clone

from .headers import scrub

UPPER_PARAMS = ("PARTSTAT", "ROLE", "RSVP", "CUTYPE")
# Messages the organizer sends: their ORGANIZER becomes the reply token.
FROM_ORGANIZER = frozenset({Method.REQUEST, Method.CANCEL, Method.ADD, Method.DECLINECOUNTER})


def wire_calendar(
    calendar: Calendar,
    method: str,
    *,
    token_mailbox: str | None,
    organizer_name: str | None,
) -> Calendar:
    """A copy of ``calendar`` ready to mail; ``token_mailbox`` None keeps ORGANIZER."""
    out = (
        rewrite_organizer(calendar, token_mailbox)
        if token_mailbox is not None
        else clone(calendar)
    )
    _set_method(out, method)
    if token_mailbox is not None and organizer_name:
        _fill_organizer_cn(out, normalize_address(token_mailbox), organizer_name)
    _upper_params(out)
    _add_missing_timezones(out)
    return out


def serialize(calendar: Calendar) -> bytes:
    """The calendar as CRLF-terminated lines of at most 75 octets."""
    return serialise(calendar)


def _set_method(cal: Calendar, method: str) -> None:
    value = str(method).strip().upper()
    if str(cal.get("METHOD") or "") != value:
        cal.pop("METHOD", None)
        cal.add("METHOD", value)


def _fill_organizer_cn(cal: Calendar, token: str, name: str) -> None:
    cn = scrub(name, 100)
    for comp in cal.walk():
        if comp.name not in ("VEVENT", "VTODO"):
            continue
        organizer = comp.get("ORGANIZER")
        lines = ([organizer] if organizer is not None else []) + attendee_lines(comp)
        for line in lines:
            if normalize_address(line) == token and not line.params.get("CN"):
                line.params["CN"] = cn


def _upper_params(cal: Calendar) -> None:
    for comp in cal.walk():
        lines = ([comp["ORGANIZER"]] if "ORGANIZER" in comp else []) + attendee_lines(comp)
        for line in lines:
            for name in UPPER_PARAMS:
                value = line.params.get(name)
                if isinstance(value, str) and value != value.upper():
                    line.params[name] = value.upper()


def _add_missing_timezones(cal: Calendar) -> None:
    have = {str(tz.get("TZID")) for tz in cal.walk("VTIMEZONE")}
    if cal.get_used_tzids() <= have:
        return
    try:
        cal.add_missing_timezones()
    except Exception:  # noqa: BLE001 - a custom TZID the zone database lacks: send what we have
        return
    # Clients expect the zones before the components that use them.
    cal.subcomponents.sort(key=lambda s: s.name != "VTIMEZONE")

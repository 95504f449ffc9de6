"""XML of calendar-query and free-busy-query into the domain filter model.

Layer: dav.  Turns already-parsed (hardened parser, elsewhere) lxml elements
into ``domain.query`` dataclasses and raises the DAV precondition errors of
RFC 4791 for bad input:

* ``CALDAV:filter`` (9.7) -> :class:`~caldav_sched.domain.query.CompFilter`,
  ``valid-filter`` when the XML breaks the DTD or the time-range rules,
  ``supported-filter`` for elements this server does not evaluate,
  ``supported-collation`` for unknown text-match collations;
* ``CALDAV:time-range`` (9.9), ``CALDAV:expand`` (9.6.5) and
  ``CALDAV:limit-recurrence-set`` (9.6.6) -> ``TimeRange``;
* ``CALDAV:timezone`` / ``calendar-timezone`` text (5.2.2, 9.8) -> ``tzinfo``;
* ``CALDAV:calendar-data`` (9.6): its media type (``supported-calendar-data``
  for anything but iCalendar 2.0) and the components and properties it asks
  for -> :class:`~caldav_sched.domain.partial.CompSelection`.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo

from lxml import etree

from caldav_sched.dav.errors import (
    BadRequest,
    SupportedCalendarData,
    SupportedCollation,
    SupportedFilter,
    ValidCalendarData,
    ValidFilter,
)
from caldav_sched.domain.ical import single_timezone
from caldav_sched.domain.partial import CompSelection, PropSelection
from caldav_sched.domain.query import (
    MATCH_TYPES,
    SUPPORTED_COLLATIONS,
    TIME_RANGE_COMPONENTS,
    CompFilter,
    ParamFilter,
    PropFilter,
    TextMatch,
    TimeRange,
)
from caldav_sched.errors import InvalidCalendarData

CALDAV = "urn:ietf:params:xml:ns:caldav"
FILTER = f"{{{CALDAV}}}filter"
COMP_FILTER = f"{{{CALDAV}}}comp-filter"
PROP_FILTER = f"{{{CALDAV}}}prop-filter"
PARAM_FILTER = f"{{{CALDAV}}}param-filter"
IS_NOT_DEFINED = f"{{{CALDAV}}}is-not-defined"
TIME_RANGE = f"{{{CALDAV}}}time-range"
TEXT_MATCH = f"{{{CALDAV}}}text-match"
COMP = f"{{{CALDAV}}}comp"
ALLCOMP = f"{{{CALDAV}}}allcomp"
PROP = f"{{{CALDAV}}}prop"
ALLPROP = f"{{{CALDAV}}}allprop"

# Where a component can appear in iCalendar (RFC 5545 3.4-3.6, RFC 7953 3.1):
# a comp-filter that puts a known component anywhere else can never match
# and is refused (valid-filter).  Names not listed (X- and later extensions)
# are left alone.
COMPONENT_PARENTS: dict[str, tuple[str, ...]] = {
    "VEVENT": ("VCALENDAR",),
    "VTODO": ("VCALENDAR",),
    "VJOURNAL": ("VCALENDAR",),
    "VFREEBUSY": ("VCALENDAR",),
    "VTIMEZONE": ("VCALENDAR",),
    "VAVAILABILITY": ("VCALENDAR",),
    "VALARM": ("VEVENT", "VTODO"),
    "STANDARD": ("VTIMEZONE",),
    "DAYLIGHT": ("VTIMEZONE",),
    "AVAILABLE": ("VAVAILABILITY",),
    "VCALENDAR": (),
}

# Properties whose values are dates or times (RFC 5545 3.8.2, 3.8.5, 3.8.7;
# RFC 9074 ACKNOWLEDGED): the only ones a prop-filter's time-range can test.
DATE_PROPERTIES = frozenset(
    {
        "DTSTART", "DTEND", "DUE", "COMPLETED", "CREATED", "DTSTAMP", "LAST-MODIFIED",
        "RECURRENCE-ID", "EXDATE", "RDATE", "TRIGGER", "FREEBUSY", "ACKNOWLEDGED",
    }
)
# Other properties of RFC 5545: their values are never in time.
TIMELESS_PROPERTIES = frozenset(
    {
        "CALSCALE", "METHOD", "PRODID", "VERSION", "ATTACH", "CATEGORIES", "CLASS", "COMMENT",
        "DESCRIPTION", "GEO", "LOCATION", "PERCENT-COMPLETE", "PRIORITY", "RESOURCES",
        "STATUS", "SUMMARY", "DURATION", "TRANSP", "TZID", "TZNAME", "TZOFFSETFROM",
        "TZOFFSETTO", "TZURL", "ATTENDEE", "CONTACT", "ORGANIZER", "RELATED-TO", "URL",
        "UID", "RRULE", "ACTION", "REPEAT", "REQUEST-STATUS", "SEQUENCE", "COLOR",
    }
)

_UTC_FORMAT = "%Y%m%dT%H%M%SZ"


def _children(el: etree._Element) -> list[etree._Element]:
    """Element children only: comments and processing instructions carry no meaning."""
    return [child for child in el if isinstance(child.tag, str)]


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def parse_filter(el: etree._Element) -> CompFilter:
    """RFC 4791 9.7: a ``CALDAV:filter`` element holds exactly one VCALENDAR comp-filter."""
    if el.tag != FILTER:
        raise ValidFilter(f"expected CALDAV:filter, got {el.tag}")
    children = _children(el)
    if len(children) != 1 or children[0].tag != COMP_FILTER:
        raise ValidFilter("CALDAV:filter must contain exactly one CALDAV:comp-filter")
    flt = _parse_comp_filter(children[0])
    if flt.name != "VCALENDAR":
        raise ValidFilter("the top-level comp-filter must be named VCALENDAR")
    _check_nesting(flt)
    return flt


def _check_nesting(flt: CompFilter) -> None:
    """Refuse a comp-filter no iCalendar object can satisfy: a component in the wrong place."""
    for child in flt.comp_filters:
        parents = COMPONENT_PARENTS.get(child.name)
        if parents is not None and flt.name not in parents:
            raise ValidFilter(f"{child.name} never appears inside {flt.name}")
        _check_nesting(child)


def _name(el: etree._Element) -> str:
    name = (el.get("name") or "").strip()
    if not name:
        raise ValidFilter(f"CALDAV:{_local(el)} needs a name attribute")
    return name.upper()


def _parse_comp_filter(el: etree._Element) -> CompFilter:
    """<!ELEMENT comp-filter (is-not-defined | (time-range?, prop-filter*, comp-filter*))>"""
    name = _name(el)
    is_not_defined = False
    time_range: TimeRange | None = None
    props: list[PropFilter] = []
    comps: list[CompFilter] = []
    for child in _children(el):
        if child.tag == IS_NOT_DEFINED:
            is_not_defined = True
        elif child.tag == TIME_RANGE:
            if time_range is not None:
                raise ValidFilter(f"comp-filter {name} has more than one time-range")
            if name == "VCALENDAR":
                raise ValidFilter("a time-range cannot test VCALENDAR; test its components")
            if name not in TIME_RANGE_COMPONENTS:
                raise SupportedFilter(f"time-range is not supported on {name}")
            time_range = parse_time_range(child)
        elif child.tag == PROP_FILTER:
            props.append(_parse_prop_filter(child))
        elif child.tag == COMP_FILTER:
            comps.append(_parse_comp_filter(child))
        else:
            raise SupportedFilter(f"unsupported element {child.tag} in comp-filter {name}")
    if is_not_defined and (time_range or props or comps):
        raise ValidFilter(f"comp-filter {name}: is-not-defined excludes other tests")
    return CompFilter(name, is_not_defined, time_range, tuple(props), tuple(comps))


def _parse_prop_filter(el: etree._Element) -> PropFilter:
    """<!ELEMENT prop-filter (is-not-defined | ((time-range | text-match)?, param-filter*))>"""
    name = _name(el)
    is_not_defined = False
    time_range: TimeRange | None = None
    text_match: TextMatch | None = None
    params: list[ParamFilter] = []
    for child in _children(el):
        if child.tag == IS_NOT_DEFINED:
            is_not_defined = True
        elif child.tag == TIME_RANGE:
            if time_range is not None or text_match is not None:
                raise ValidFilter(f"prop-filter {name} takes one time-range or one text-match")
            if name in TIMELESS_PROPERTIES:
                raise ValidFilter(f"{name} is not a date or time; a time-range cannot test it")
            time_range = parse_time_range(child)
        elif child.tag == TEXT_MATCH:
            if time_range is not None or text_match is not None:
                raise ValidFilter(f"prop-filter {name} takes one time-range or one text-match")
            text_match = _parse_text_match(child)
        elif child.tag == PARAM_FILTER:
            params.append(_parse_param_filter(child))
        else:
            raise SupportedFilter(f"unsupported element {child.tag} in prop-filter {name}")
    if is_not_defined and (time_range or text_match or params):
        raise ValidFilter(f"prop-filter {name}: is-not-defined excludes other tests")
    return PropFilter(name, is_not_defined, time_range, text_match, tuple(params))


def _parse_param_filter(el: etree._Element) -> ParamFilter:
    """<!ELEMENT param-filter (is-not-defined | text-match?)>"""
    name = _name(el)
    is_not_defined = False
    text_match: TextMatch | None = None
    for child in _children(el):
        if child.tag == IS_NOT_DEFINED:
            is_not_defined = True
        elif child.tag == TEXT_MATCH:
            if text_match is not None:
                raise ValidFilter(f"param-filter {name} has more than one text-match")
            text_match = _parse_text_match(child)
        else:
            raise SupportedFilter(f"unsupported element {child.tag} in param-filter {name}")
    if is_not_defined and text_match is not None:
        raise ValidFilter(f"param-filter {name}: is-not-defined excludes text-match")
    return ParamFilter(name, is_not_defined, text_match)


def _parse_text_match(el: etree._Element) -> TextMatch:
    """RFC 4791 9.7.5; ``match-type`` is accepted as in RFC 6352 10.5.4."""
    if _children(el):
        raise ValidFilter("text-match holds text only")
    collation = el.get("collation", "i;ascii-casemap")
    if collation not in SUPPORTED_COLLATIONS:
        raise SupportedCollation(f"collation {collation!r} is not supported")
    negate = el.get("negate-condition", "no").strip().lower()
    if negate not in ("yes", "no"):
        raise ValidFilter("negate-condition must be 'yes' or 'no'")
    match_type = el.get("match-type", "contains").strip().lower()
    if match_type not in MATCH_TYPES:
        raise SupportedFilter(f"match-type {match_type!r} is not supported")
    return TextMatch(el.text or "", collation, negate == "yes", match_type)


def _parse_utc(value: str, what: str, error: type[ValidFilter] | type[BadRequest]) -> datetime:
    try:
        parsed = datetime.strptime(value.strip(), _UTC_FORMAT)
    except ValueError:
        raise error(f"{what} {value!r} is not a UTC date-time like 20240101T000000Z") from None
    return parsed.replace(tzinfo=timezone.utc)


def _parse_range(el: etree._Element, error: type[ValidFilter] | type[BadRequest], *, both: bool) -> TimeRange:
    start_text, end_text = el.get("start"), el.get("end")
    where = f"CALDAV:{_local(el)}"
    if both and (start_text is None or end_text is None):
        raise error(f"{where} needs both start and end")
    if start_text is None and end_text is None:
        raise error(f"{where} needs a start or an end")
    start = _parse_utc(start_text, f"{where} start", error) if start_text is not None else None
    end = _parse_utc(end_text, f"{where} end", error) if end_text is not None else None
    if start is not None and end is not None and start >= end:
        raise error(f"{where} start must be before its end")
    return TimeRange(start, end)


def parse_time_range(el: etree._Element) -> TimeRange:
    """RFC 4791 9.9: at least one of start/end, UTC values, start before end."""
    return _parse_range(el, ValidFilter, both=False)


def parse_expand(el: etree._Element) -> TimeRange:
    """RFC 4791 9.6.5/9.6.6: ``expand`` or ``limit-recurrence-set``, both bounds required."""
    return _parse_range(el, BadRequest, both=True)


def parse_timezone(text: str | None) -> tzinfo | None:
    """The zone of a ``CALDAV:timezone`` element or ``calendar-timezone`` property.

    RFC 4791 5.2.2: a VCALENDAR holding exactly one VTIMEZONE.  A known TZID
    gives the system zone; otherwise the VTIMEZONE's own rules are used.
    """
    if text is None or not text.strip():
        return None
    try:
        zone = single_timezone(text)
    except InvalidCalendarData as exc:
        raise ValidCalendarData(str(exc)) from exc
    try:
        return zone.to_tz()
    except Exception as exc:  # noqa: BLE001 - icalendar raises several types on bad input
        raise ValidCalendarData(f"the time zone is not valid iCalendar: {exc}") from exc


ICALENDAR_TYPE = ("text/calendar", "2.0")


def check_calendar_data_type(el: etree._Element) -> None:
    """RFC 4791 9.6: calendar-data in iCalendar 2.0 is what this server returns."""
    content_type = (el.get("content-type") or "text/calendar").strip().lower()
    version = (el.get("version") or "2.0").strip()
    if (content_type, version) != ICALENDAR_TYPE:
        raise SupportedCalendarData(
            f"calendar data is returned as text/calendar version 2.0, not {content_type} {version}"
        )


def parse_selection(el: etree._Element) -> CompSelection | None:
    """The ``CALDAV:comp`` of a calendar-data element (RFC 4791 9.6.1), if it has one."""
    comp = el.find(COMP)
    if comp is None:
        return None
    selection = _parse_comp(comp)
    if selection.name != "VCALENDAR":
        raise BadRequest("the comp of calendar-data must be named VCALENDAR")
    return selection


def _parse_comp(el: etree._Element) -> CompSelection:
    """<!ELEMENT comp ((allprop | prop*), (allcomp | comp*))>"""
    name = (el.get("name") or "").strip().upper()
    if not name:
        raise BadRequest("CALDAV:comp needs a name attribute")
    allprop = allcomp = False
    props: list[PropSelection] = []
    comps: list[CompSelection] = []
    for child in _children(el):
        if child.tag == ALLPROP:
            allprop = True
        elif child.tag == ALLCOMP:
            allcomp = True
        elif child.tag == PROP:
            prop_name = (child.get("name") or "").strip().upper()
            if not prop_name:
                raise BadRequest("CALDAV:prop needs a name attribute")
            novalue = (child.get("novalue") or "no").strip().lower()
            if novalue not in ("yes", "no"):
                raise BadRequest("novalue must be 'yes' or 'no'")
            props.append(PropSelection(prop_name, novalue == "yes"))
        elif child.tag == COMP:
            comps.append(_parse_comp(child))
        else:
            raise BadRequest(f"unexpected {child.tag} in CALDAV:comp {name}")
    if (allprop and props) or (allcomp and comps):
        raise BadRequest(f"CALDAV:comp {name} names allprop/allcomp and single items at once")
    return CompSelection(name, allprop, tuple(props), allcomp, tuple(comps))

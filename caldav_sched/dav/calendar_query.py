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
* ``CALDAV:timezone`` / ``calendar-timezone`` text (5.2.2, 9.8) -> ``tzinfo``.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo

from lxml import etree

from caldav_sched.dav.errors import (
    BadRequest,
    SupportedCollation,
    SupportedFilter,
    ValidCalendarData,
    ValidFilter,
)
from caldav_sched.domain.ical import single_timezone
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
    return flt


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

"""XML -> filter model: calendar-query filters, expand ranges, and time zones."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from caldav_sched.dav.calendar_query import parse_expand, parse_filter, parse_time_range, parse_timezone
from caldav_sched.dav.errors import (
    BadRequest,
    SupportedCollation,
    SupportedFilter,
    ValidCalendarData,
    ValidFilter,
)
from caldav_sched.domain.query import CompFilter, ParamFilter, PropFilter, TextMatch, TimeRange
from tests.query._query_helpers import BERLIN_VTIMEZONE

NS = 'xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:D="DAV:"'


def xml(body: str) -> etree._Element:
    return etree.fromstring(body.replace("<C:filter>", f"<C:filter {NS}>", 1).encode())


def test_full_filter_is_parsed() -> None:
    el = xml(
        """<C:filter>
             <C:comp-filter name="VCALENDAR">
               <C:comp-filter name="vevent">
                 <C:time-range start="20240101T000000Z" end="20240201T000000Z"/>
                 <C:prop-filter name="SUMMARY">
                   <C:text-match collation="i;octet" negate-condition="yes">Lunch</C:text-match>
                 </C:prop-filter>
                 <C:prop-filter name="ATTENDEE">
                   <C:param-filter name="PARTSTAT"><C:text-match>ACCEPTED</C:text-match></C:param-filter>
                   <C:param-filter name="ROLE"><C:is-not-defined/></C:param-filter>
                 </C:prop-filter>
                 <C:prop-filter name="DESCRIPTION"><C:is-not-defined/></C:prop-filter>
                 <!-- comments are ignored -->
                 <C:comp-filter name="VALARM"><C:time-range start="20240101T000000Z"/></C:comp-filter>
               </C:comp-filter>
             </C:comp-filter>
           </C:filter>"""
    )
    jan = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert parse_filter(el) == CompFilter(
        "VCALENDAR",
        comp_filters=(
            CompFilter(
                "VEVENT",
                time_range=TimeRange(jan, datetime(2024, 2, 1, tzinfo=timezone.utc)),
                prop_filters=(
                    PropFilter("SUMMARY", text_match=TextMatch("Lunch", "i;octet", negate=True)),
                    PropFilter(
                        "ATTENDEE",
                        param_filters=(
                            ParamFilter("PARTSTAT", text_match=TextMatch("ACCEPTED")),
                            ParamFilter("ROLE", is_not_defined=True),
                        ),
                    ),
                    PropFilter("DESCRIPTION", is_not_defined=True),
                ),
                comp_filters=(CompFilter("VALARM", time_range=TimeRange(jan, None)),),
            ),
        ),
    )


def test_match_type_is_accepted_for_leniency() -> None:
    el = xml(
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        '<C:prop-filter name="UID"><C:text-match match-type="equals">abc</C:text-match></C:prop-filter>'
        "</C:comp-filter></C:comp-filter></C:filter>"
    )
    prop = parse_filter(el).comp_filters[0].prop_filters[0]
    assert prop.text_match == TextMatch("abc", match_type="equals")


ERROR_CASES = [
    ("not a filter", f"<C:comp-filter {NS} name='VCALENDAR'/>", ValidFilter, "CALDAV:filter"),
    ("empty filter", "<C:filter></C:filter>", ValidFilter, "exactly one"),
    (
        "two top-level",
        '<C:filter><C:comp-filter name="VCALENDAR"/><C:comp-filter name="VCALENDAR"/></C:filter>',
        ValidFilter,
        "exactly one",
    ),
    ("top-level not vcalendar", '<C:filter><C:comp-filter name="VEVENT"/></C:filter>', ValidFilter, "VCALENDAR"),
    ("missing name", "<C:filter><C:comp-filter/></C:filter>", ValidFilter, "name"),
    (
        "time-range without bounds",
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range/></C:comp-filter></C:comp-filter></C:filter>',
        ValidFilter,
        "start or an end",
    ),
    (
        "time-range not utc",
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240101T000000"/></C:comp-filter></C:comp-filter></C:filter>',
        ValidFilter,
        "UTC",
    ),
    (
        "time-range garbage",
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range end="tomorrow"/></C:comp-filter></C:comp-filter></C:filter>',
        ValidFilter,
        "UTC",
    ),
    (
        "time-range reversed",
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240102T000000Z" end="20240101T000000Z"/></C:comp-filter></C:comp-filter></C:filter>',
        ValidFilter,
        "before",
    ),
    (
        "time-range empty",
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240101T000000Z" end="20240101T000000Z"/></C:comp-filter></C:comp-filter></C:filter>',
        ValidFilter,
        "before",
    ),
    (
        "two time-ranges",
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240101T000000Z"/><C:time-range start="20240101T000000Z"/></C:comp-filter></C:comp-filter></C:filter>',
        ValidFilter,
        "more than one",
    ),
    (
        "is-not-defined with time-range",
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:is-not-defined/><C:time-range start="20240101T000000Z"/></C:comp-filter></C:comp-filter></C:filter>',
        ValidFilter,
        "is-not-defined",
    ),
    (
        "text-match and time-range",
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="DTSTART"><C:time-range start="20240101T000000Z"/><C:text-match>x</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter>',
        ValidFilter,
        "one time-range or one text-match",
    ),
    (
        "bad negate-condition",
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match negate-condition="maybe">x</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter>',
        ValidFilter,
        "negate-condition",
    ),
    (
        "unknown element",
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:regex>.*</C:regex></C:comp-filter></C:comp-filter></C:filter>',
        SupportedFilter,
        "regex",
    ),
    (
        "foreign element",
        '<C:filter><C:comp-filter name="VCALENDAR"><D:prop/></C:comp-filter></C:filter>',
        SupportedFilter,
        "DAV:",
    ),
    (
        "time-range on vtimezone",
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTIMEZONE"><C:time-range start="20240101T000000Z"/></C:comp-filter></C:comp-filter></C:filter>',
        SupportedFilter,
        "VTIMEZONE",
    ),
    (
        "unknown collation",
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match collation="i;klingon">x</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter>',
        SupportedCollation,
        "i;klingon",
    ),
    (
        "unknown match-type",
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match match-type="regex">x</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter>',
        SupportedFilter,
        "regex",
    ),
]


@pytest.mark.parametrize(("body", "error", "message"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_filter_errors(body: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        parse_filter(xml(body))
    assert message in str(caught.value)
    assert type(caught.value) is error  # not a subclass standing in for another precondition


def test_parse_time_range_alone() -> None:
    el = etree.fromstring(f'<C:time-range {NS} end="20240101T000000Z"/>'.encode())
    assert parse_time_range(el) == TimeRange(None, datetime(2024, 1, 1, tzinfo=timezone.utc))


@pytest.mark.parametrize("tag", ["expand", "limit-recurrence-set"])
def test_parse_expand(tag: str) -> None:
    el = etree.fromstring(f'<C:{tag} {NS} start="20240101T000000Z" end="20240108T000000Z"/>'.encode())
    assert parse_expand(el) == TimeRange(datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 8, tzinfo=timezone.utc))


@pytest.mark.parametrize(
    "attrs",
    ['start="20240101T000000Z"', 'end="20240101T000000Z"', "", 'start="2024-01-01" end="20240108T000000Z"',
     'start="20240108T000000Z" end="20240101T000000Z"'],
)
def test_parse_expand_needs_both_bounds(attrs: str) -> None:
    el = etree.fromstring(f"<C:expand {NS} {attrs}/>".encode())
    with pytest.raises(BadRequest):
        parse_expand(el)


def _vcalendar(*blocks: str) -> str:
    return ("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\n" + "".join(blocks) + "END:VCALENDAR\n").replace("\n", "\r\n")


def test_parse_timezone_known_tzid() -> None:
    tz = parse_timezone(_vcalendar(BERLIN_VTIMEZONE))
    assert tz is not None
    assert datetime(2024, 7, 1, 12, tzinfo=tz).utcoffset() == timedelta(hours=2)
    assert datetime(2024, 1, 1, 12, tzinfo=tz).utcoffset() == timedelta(hours=1)


def test_parse_timezone_custom_rules() -> None:
    custom = BERLIN_VTIMEZONE.replace("TZID:Europe/Berlin", "TZID:My Office Time")
    tz = parse_timezone(_vcalendar(custom))
    assert tz is not None
    assert datetime(2024, 7, 1, 12, tzinfo=tz).utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize("text", [None, "", "   "])
def test_parse_timezone_absent(text: str | None) -> None:
    assert parse_timezone(text) is None


@pytest.mark.parametrize(
    "text",
    ["not icalendar at all", _vcalendar(), _vcalendar(BERLIN_VTIMEZONE, BERLIN_VTIMEZONE.replace("Europe/Berlin", "Other"))],
)
def test_parse_timezone_invalid(text: str) -> None:
    with pytest.raises(ValidCalendarData):
        parse_timezone(text)


def test_custom_timezone_reads_floating_times() -> None:
    from caldav_sched.domain.query import matches
    from tests.query._query_helpers import cal, event, in_range

    tz = parse_timezone(_vcalendar(BERLIN_VTIMEZONE.replace("TZID:Europe/Berlin", "TZID:My Office Time")))
    resource = cal(event("DTSTART:20240705T100000", "DURATION:PT1H"))  # 08:00Z in summer time
    assert matches(resource, in_range("VEVENT", "20240705T080000Z", "20240705T083000Z"), tz=tz)
    assert not matches(resource, in_range("VEVENT", "20240705T100000Z", "20240705T103000Z"), tz=tz)

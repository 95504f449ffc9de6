"""Impossible filters, calendar-data media types and partial retrieval (RFC 4791 9.6, 9.7)."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.dav.helpers import CAL, ICS, error_condition

C = "{urn:ietf:params:xml:ns:caldav}"
NS = "xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'"

MEETING = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:meeting\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20260105T100000\r\nDURATION:PT1H\r\nSUMMARY:Planning\r\n"
    "DESCRIPTION:A long agenda nobody reads\r\nLOCATION:Room 1\r\n"
    "ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@example.com\r\n"
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:soon\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def query(filter_body: str, prop: str = "<D:getetag/>") -> str:
    return (
        f"<C:calendar-query {NS}><D:prop>{prop}</D:prop>"
        f"<C:filter><C:comp-filter name='VCALENDAR'>{filter_body}</C:comp-filter></C:filter>"
        "</C:calendar-query>"
    )


@pytest.fixture
async def stored(http):
    assert (await http.request("PUT", CAL + "meeting.ics", MEETING, ICS))[0] == 201
    return http


# -- RFC 4791 9.7: filters no iCalendar object can satisfy are CALDAV:valid-filter -----

IMPOSSIBLE = {
    "VALARM directly under VCALENDAR": "<C:comp-filter name='VALARM'/>",
    "VEVENT inside VEVENT": "<C:comp-filter name='VEVENT'><C:comp-filter name='VEVENT'/></C:comp-filter>",
    "VTODO inside VEVENT": "<C:comp-filter name='VEVENT'><C:comp-filter name='VTODO'/></C:comp-filter>",
    "VALARM inside VJOURNAL": "<C:comp-filter name='VJOURNAL'><C:comp-filter name='VALARM'/></C:comp-filter>",
    "STANDARD under VCALENDAR": "<C:comp-filter name='STANDARD'/>",
    "time-range on VCALENDAR": "<C:time-range start='20260101T000000Z' end='20260201T000000Z'/>",
    "time-range on SUMMARY": (
        "<C:comp-filter name='VEVENT'><C:prop-filter name='SUMMARY'>"
        "<C:time-range start='20260101T000000Z' end='20260201T000000Z'/></C:prop-filter></C:comp-filter>"
    ),
    "time-range on LOCATION": (
        "<C:comp-filter name='VEVENT'><C:prop-filter name='location'>"
        "<C:time-range start='20260101T000000Z'/></C:prop-filter></C:comp-filter>"
    ),
}


@pytest.mark.parametrize("flt", IMPOSSIBLE.values(), ids=IMPOSSIBLE.keys())
async def test_impossible_filters_are_refused_with_valid_filter(stored, flt):
    status, _, body = await stored.request("REPORT", CAL, query(flt), {"Depth": "1"})
    assert status == 403
    assert error_condition(body) == f"{C}valid-filter"


POSSIBLE = {
    "VALARM in VEVENT": "<C:comp-filter name='VEVENT'><C:comp-filter name='VALARM'/></C:comp-filter>",
    "time-range on DTSTART": (
        "<C:comp-filter name='VEVENT'><C:prop-filter name='DTSTART'>"
        "<C:time-range start='20260105T000000Z' end='20260106T000000Z'/></C:prop-filter></C:comp-filter>"
    ),
    "a time-range on an extension property": (
        "<C:comp-filter name='VEVENT'><C:prop-filter name='X-REMINDED'>"
        "<C:time-range start='20260105T000000Z'/></C:prop-filter></C:comp-filter>"
    ),
    "an extension component": "<C:comp-filter name='VEVENT'><C:comp-filter name='X-THING'/></C:comp-filter>",
    "STANDARD in VTIMEZONE": "<C:comp-filter name='VTIMEZONE'><C:comp-filter name='STANDARD'/></C:comp-filter>",
}


@pytest.mark.parametrize("flt", POSSIBLE.values(), ids=POSSIBLE.keys())
async def test_possible_filters_are_answered(stored, flt):
    status, _, _ = await stored.request("REPORT", CAL, query(flt), {"Depth": "1"})
    assert status == 207


# -- RFC 4791 9.6: calendar-data in another media type is supported-calendar-data --------


@pytest.mark.parametrize(
    "attributes",
    ["content-type='application/calendar+json'", "version='3.0'",
     "content-type='text/vcard' version='4.0'"],
)
async def test_calendar_data_in_another_type_is_refused(stored, attributes):
    body = query("<C:comp-filter name='VEVENT'/>", f"<C:calendar-data {attributes}/>")
    status, _, response = await stored.request("REPORT", CAL, body, {"Depth": "1"})
    assert status == 403
    assert error_condition(response) == f"{C}supported-calendar-data"
    multiget = (
        f"<C:calendar-multiget {NS}><D:prop><C:calendar-data {attributes}/></D:prop>"
        f"<D:href>{CAL}meeting.ics</D:href></C:calendar-multiget>"
    )
    status, _, response = await stored.request("REPORT", CAL, multiget)
    assert status == 403


async def test_calendar_data_as_icalendar_2_0_is_served(stored):
    body = query(
        "<C:comp-filter name='VEVENT'/>",
        "<C:calendar-data content-type='text/calendar' version='2.0'/>",
    )
    status, _, response = await stored.request("REPORT", CAL, body, {"Depth": "1"})
    assert status == 207
    assert etree.fromstring(response).findtext(f".//{C}calendar-data") == MEETING


# -- RFC 4791 9.6.1-9.6.4: partial retrieval ------------------------------------------------


def returned(response: bytes) -> str:
    text = etree.fromstring(response).findtext(f".//{C}calendar-data")
    assert text is not None
    return text.replace("\r\n", "\n")


async def test_only_the_asked_components_and_properties_are_returned(stored):
    selection = (
        "<C:calendar-data><C:comp name='VCALENDAR'><C:prop name='VERSION'/>"
        "<C:comp name='VEVENT'><C:prop name='UID'/><C:prop name='SUMMARY'/>"
        "<C:prop name='DTSTART'/><C:prop name='ATTENDEE' novalue='yes'/></C:comp>"
        "</C:comp></C:calendar-data>"
    )
    status, _, response = await stored.request(
        "REPORT", CAL, query("<C:comp-filter name='VEVENT'/>", selection), {"Depth": "1"}
    )
    assert status == 207
    text = returned(response)
    assert "VERSION:2.0" in text and "PRODID" not in text
    assert "SUMMARY:Planning" in text and "UID:meeting" in text
    assert "DTSTART;TZID=Europe/Berlin:20260105T100000" in text
    assert "DESCRIPTION" not in text and "LOCATION" not in text
    assert "BEGIN:VALARM" not in text and "BEGIN:VTIMEZONE" not in text
    # novalue: the property and its parameters, without its value.
    attendee = next(line for line in text.split("\n") if line.startswith("ATTENDEE"))
    assert "CN=Bob" in attendee and attendee.endswith(":")


async def test_allprop_and_allcomp_keep_everything_below(stored):
    selection = (
        "<C:calendar-data><C:comp name='VCALENDAR'><C:allprop/>"
        "<C:comp name='VEVENT'><C:allprop/><C:allcomp/></C:comp></C:comp></C:calendar-data>"
    )
    multiget = (
        f"<C:calendar-multiget {NS}><D:prop>{selection}</D:prop>"
        f"<D:href>{CAL}meeting.ics</D:href></C:calendar-multiget>"
    )
    status, _, response = await stored.request("REPORT", CAL, multiget)
    assert status == 207
    text = returned(response)
    assert "PRODID:-//tests//EN" in text and "DESCRIPTION:A long agenda" in text
    assert "BEGIN:VALARM" in text and "TRIGGER:-PT5M" in text
    assert "BEGIN:VTIMEZONE" not in text


async def test_partial_retrieval_applies_after_expand(stored):
    selection = (
        "<C:calendar-data><C:expand start='20260101T000000Z' end='20260201T000000Z'/>"
        "<C:comp name='VCALENDAR'><C:comp name='VEVENT'><C:prop name='DTSTART'/></C:comp>"
        "</C:comp></C:calendar-data>"
    )
    status, _, response = await stored.request(
        "REPORT", CAL, query("<C:comp-filter name='VEVENT'/>", selection), {"Depth": "1"}
    )
    assert status == 207
    text = returned(response)
    assert "DTSTART:20260105T090000Z" in text and "SUMMARY" not in text


async def test_a_malformed_selection_is_a_400(stored):
    selection = "<C:calendar-data><C:comp name='VCALENDAR'><C:allprop/><C:prop name='UID'/></C:comp></C:calendar-data>"
    status, _, _ = await stored.request(
        "REPORT", CAL, query("<C:comp-filter name='VEVENT'/>", selection), {"Depth": "1"}
    )
    assert status == 400

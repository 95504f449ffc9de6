"""Answers the RFCs prescribe: well-known redirects, Allow on 405, MKCALENDAR's 207,
finite PROPFIND depth, and calendar time zones holding exactly one VTIMEZONE."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.dav.helpers import CAL, ICS, error_condition, event
from tests.query._query_helpers import BERLIN_VTIMEZONE

NS = "xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'"
ONE_ZONE = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//tests//EN\n{BERLIN_VTIMEZONE}END:VCALENDAR\n"
TWO_ZONES = ONE_ZONE.replace(
    "END:VCALENDAR", BERLIN_VTIMEZONE.replace("Europe/Berlin", "Europe/Paris") + "END:VCALENDAR"
)
ZONE_AND_EVENT = ONE_ZONE.replace(
    "END:VCALENDAR",
    "BEGIN:VEVENT\nUID:x\nDTSTAMP:20260101T000000Z\nDTSTART:20260101T000000Z\nEND:VEVENT\nEND:VCALENDAR",
)
NO_ZONE = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//tests//EN\nEND:VCALENDAR\n"
NOT_ICALENDAR = "BEGIN:VTIMEZONE but not really"


# -- RFC 6764 5: the well-known URL, with or without its trailing slash ------------------


@pytest.mark.parametrize("path", ["/.well-known/caldav", "/.well-known/caldav/"])
@pytest.mark.parametrize("method", ["GET", "PROPFIND"])
async def test_well_known_redirects_with_or_without_slash(http, path, method):
    status, headers, _ = await http.request(method, path, auth=None)
    assert status == 301
    assert headers["Location"] == "/"


# -- RFC 9110 15.5.6: every 405 says what is allowed ---------------------------------------


@pytest.mark.parametrize(
    "method, path, body, must_allow",
    [
        ("GET", CAL, None, "PROPFIND"),
        ("PUT", CAL, event(), "DELETE"),
        ("POST", CAL, "x", "REPORT"),
        ("MKCALENDAR", CAL, None, "PROPPATCH"),  # RFC 4918 DAV:resource-must-be-null
        ("LOCK", CAL + "a.ics", None, "GET"),
        ("PUT", "/home/alice/", event(), "PROPFIND"),
        ("GET", "/home/alice/calendar/outbox/", None, "POST"),
    ],
)
async def test_every_405_carries_allow(http, method, path, body, must_allow):
    status, headers, _ = await http.request(method, path, body, ICS if body else None)
    assert status == 405
    allowed = {m.strip() for m in headers["Allow"].split(",")}
    assert must_allow in allowed and method not in allowed


# -- RFC 4791 5.3.1: a MKCALENDAR whose DAV:set fails answers 207 and creates nothing ------


async def test_a_failed_mkcalendar_answers_207_with_each_property(http):
    path = "/home/alice/calendar/broken/"
    body = (
        f"<C:mkcalendar {NS}><D:set><D:prop><D:displayname>Broken</D:displayname>"
        f"<C:calendar-timezone>{TWO_ZONES}</C:calendar-timezone></D:prop></D:set></C:mkcalendar>"
    )
    status, headers, response = await http.request("MKCALENDAR", path, body)
    assert status == 207
    assert headers["Content-Type"].startswith("application/xml")
    root = etree.fromstring(response)
    assert root.tag == "{DAV:}multistatus"
    by_status = {
        ps.findtext("{DAV:}status"): [p.tag for p in ps.find("{DAV:}prop")]
        for ps in root.iter("{DAV:}propstat")
    }
    assert by_status == {
        "HTTP/1.1 403 Forbidden": ["{urn:ietf:params:xml:ns:caldav}calendar-timezone"],
        "HTTP/1.1 424 Failed Dependency": ["{DAV:}displayname"],
    }
    assert (await http.request("PROPFIND", path, headers={"Depth": "0"}))[0] == 404


async def test_a_failed_extended_mkcol_answers_403_with_mkcol_response(http):
    """RFC 5689 3.5: DAV:mkcol-response with the properties' statuses."""
    path = "/home/alice/calendar/broken/"
    body = (
        f"<D:mkcol {NS}><D:set><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype>"
        "<D:getetag>mine</D:getetag></D:prop></D:set></D:mkcol>"
    )
    status, _, response = await http.request("MKCOL", path, body)
    assert status == 403
    root = etree.fromstring(response)
    assert root.tag == "{DAV:}mkcol-response"
    assert "HTTP/1.1 403 Forbidden" in [s.text for s in root.iter("{DAV:}status")]
    assert (await http.request("PROPFIND", path, headers={"Depth": "0"}))[0] == 404


# -- RFC 4918 9.1: PROPFIND Depth: infinity is refused --------------------------------------


@pytest.mark.parametrize("path", ["/home/alice/calendar/", CAL, "/"])
async def test_propfind_depth_infinity_is_refused(http, path):
    status, _, body = await http.request("PROPFIND", path, headers={"Depth": "infinity"})
    assert status == 403
    assert error_condition(body) == "{DAV:}propfind-finite-depth"


async def test_propfind_without_depth_lists_one_level(http):
    await http.request("PUT", CAL + "a.ics", event(), ICS)
    status, _, body = await http.request("PROPFIND", CAL)
    assert status == 207
    assert (CAL + "a.ics").encode() in body


# -- RFC 4791 5.2.2, 9.8: a time zone is one VTIMEZONE in a VCALENDAR ------------------------


def proppatch_timezone(text: str) -> str:
    return (
        f"<D:propertyupdate {NS}><D:set><D:prop><C:calendar-timezone>{text}</C:calendar-timezone>"
        "</D:prop></D:set></D:propertyupdate>"
    )


@pytest.mark.parametrize(
    "text, accepted",
    [(ONE_ZONE, True), (TWO_ZONES, False), (ZONE_AND_EVENT, False), (NO_ZONE, False),
     (NOT_ICALENDAR, False)],
    ids=["one", "two", "zone and event", "none", "not iCalendar"],
)
async def test_calendar_timezone_holds_exactly_one_vtimezone(http, text, accepted):
    status, _, body = await http.request("PROPPATCH", CAL, proppatch_timezone(text))
    assert status == 207
    code = etree.fromstring(body).findtext(".//{DAV:}status")
    assert code == ("HTTP/1.1 200 OK" if accepted else "HTTP/1.1 403 Forbidden")
    _, _, stored = await http.request(
        "PROPFIND", CAL, f"<D:propfind {NS}><D:prop><C:calendar-timezone/></D:prop></D:propfind>",
        {"Depth": "0"},
    )
    assert (b"Europe/Berlin" in stored) == accepted


@pytest.mark.parametrize("text", [TWO_ZONES, ZONE_AND_EVENT, NO_ZONE])
async def test_a_query_timezone_holds_exactly_one_vtimezone(http, text):
    body = (
        f"<C:calendar-query {NS}><D:prop><D:getetag/></D:prop><C:filter>"
        "<C:comp-filter name='VCALENDAR'><C:comp-filter name='VEVENT'>"
        "<C:time-range start='20260101T000000Z' end='20260201T000000Z'/></C:comp-filter>"
        f"</C:comp-filter></C:filter><C:timezone>{text}</C:timezone></C:calendar-query>"
    )
    status, _, response = await http.request("REPORT", CAL, body, {"Depth": "1"})
    assert status == 403
    assert error_condition(response) == "{urn:ietf:params:xml:ns:caldav}valid-calendar-data"

"""Discovery, OPTIONS and the properties clients ask for (RFC 4918, 4791, 6638, 6764)."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.dav.helpers import CAL, ICS, event

NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}


def propfind_body(*names: str) -> str:
    props = "".join(f"<{n}/>" for n in names)
    return (
        '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
        'xmlns:CS="http://calendarserver.org/ns/" xmlns:A="http://apple.com/ns/ical/">'
        f"<D:prop>{props}</D:prop></D:propfind>"
    )


def statuses(body: bytes) -> dict[str, dict[str, str]]:
    """href -> {property local name: status code}."""
    root = etree.fromstring(body)
    out: dict[str, dict[str, str]] = {}
    for response in root.findall("D:response", NS):
        href = response.findtext("D:href", namespaces=NS)
        for propstat in response.findall("D:propstat", NS):
            code = propstat.findtext("D:status", namespaces=NS).split()[1]
            for prop in propstat.find("D:prop", NS):
                out.setdefault(href, {})[etree.QName(prop).localname] = code
    return out


async def test_options_advertises_caldav_and_scheduling(http):
    status, headers, _ = await http.request("OPTIONS", "/", auth=None)
    assert status == 200
    classes = [c.strip() for c in headers["DAV"].split(",")]
    for cls in ("1", "3", "calendar-access", "calendar-auto-schedule"):
        assert cls in classes
    assert "REPORT" in headers["Allow"] and "MKCALENDAR" in headers["Allow"]


async def test_well_known_redirects_to_the_root(http):
    status, headers, _ = await http.request("PROPFIND", "/.well-known/caldav", auth=None)
    assert status in (301, 308)
    assert headers["Location"] == "/"


async def test_principal_discovery_from_the_root(http):
    status, _, body = await http.request(
        "PROPFIND", "/", propfind_body("D:current-user-principal"), {"Depth": "0"}
    )
    assert status == 207
    root = etree.fromstring(body)
    assert root.findtext(".//D:current-user-principal/D:href", namespaces=NS) == "/home/alice/"


PRINCIPAL_PROPS = [
    "D:resourcetype", "D:displayname", "D:principal-URL", "D:owner",
    "D:current-user-principal", "D:current-user-privilege-set", "D:supported-report-set",
    "C:calendar-home-set", "C:calendar-user-address-set", "C:schedule-inbox-URL",
    "C:schedule-outbox-URL",
]
CALENDAR_PROPS = [
    "D:resourcetype", "D:displayname", "D:getetag", "D:sync-token", "CS:getctag", "D:owner",
    "D:current-user-privilege-set", "D:supported-report-set",
    "C:supported-calendar-component-set", "C:supported-calendar-data", "C:max-resource-size",
    "C:max-instances",
]
OBJECT_PROPS = [
    "D:resourcetype", "D:getetag", "D:getcontenttype", "D:getlastmodified",
    "D:getcontentlength", "D:owner", "D:current-user-privilege-set", "C:calendar-data",
]


async def test_principal_properties(http):
    _, _, body = await http.request(
        "PROPFIND", "/home/alice/", propfind_body(*PRINCIPAL_PROPS, "D:no-such-prop"), {"Depth": "0"}
    )
    found = statuses(body)["/home/alice/"]
    for name in PRINCIPAL_PROPS:
        assert found[name.split(":")[1]] == "200", name
    assert found["no-such-prop"] == "404"
    root = etree.fromstring(body)
    assert root.findtext(".//C:calendar-home-set/D:href", namespaces=NS) == "/home/alice/calendar/"
    addresses = [h.text for h in root.findall(".//C:calendar-user-address-set/D:href", NS)]
    assert "mailto:alice@example.com" in addresses


async def test_calendar_and_object_properties_at_depth_one(http):
    await http.request("PUT", CAL + "one.ics", event(uid="one"), ICS)
    await http.request(
        "PROPPATCH", CAL,
        '<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
        'xmlns:A="http://apple.com/ns/ical/"><D:set><D:prop>'
        "<C:calendar-description>Home things</C:calendar-description>"
        "<A:calendar-color>#ff0000ff</A:calendar-color>"
        "<A:calendar-order>3</A:calendar-order>"
        "</D:prop></D:set></D:propertyupdate>",
    )
    names = sorted(set(CALENDAR_PROPS + OBJECT_PROPS)) + [
        "C:calendar-description", "A:calendar-color", "A:calendar-order",
    ]
    status, _, body = await http.request("PROPFIND", CAL, propfind_body(*names), {"Depth": "1"})
    assert status == 207
    found = statuses(body)
    calendar, obj = found[CAL], found[CAL + "one.ics"]
    for name in CALENDAR_PROPS + ["C:calendar-description", "A:calendar-color", "A:calendar-order"]:
        assert calendar[name.split(":")[1]] == "200", name
    for name in OBJECT_PROPS:
        assert obj[name.split(":")[1]] == "200", name
    assert b"Home things" in body and b"#ff0000ff" in body
    assert b"<C:calendar-data>" in body or b"calendar-data>BEGIN:VCALENDAR" in body


async def test_ctag_and_sync_token_move_with_each_change(http):
    async def ctag() -> bytes:
        _, _, body = await http.request("PROPFIND", CAL, propfind_body("CS:getctag"), {"Depth": "0"})
        return etree.fromstring(body).findtext(".//{http://calendarserver.org/ns/}getctag").encode()

    first = await ctag()
    await http.request("PUT", CAL + "a.ics", event(uid="a"), ICS)
    second = await ctag()
    await http.request("DELETE", CAL + "a.ics")
    third = await ctag()
    assert len({first, second, third}) == 3


async def test_sync_reports_changes_and_deletions_only(http):
    for uid in ("a", "b", "c"):
        await http.request("PUT", CAL + f"{uid}.ics", event(uid=uid), ICS)
    sync = (
        '<D:sync-collection xmlns:D="DAV:"><D:sync-token>{}</D:sync-token>'
        "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
    )
    status, _, body = await http.request("REPORT", CAL, sync.format(""))
    assert status == 207
    root = etree.fromstring(body)
    assert len(root.findall("D:response", NS)) == 3
    token = root.findtext("D:sync-token", namespaces=NS)

    await http.request("PUT", CAL + "b.ics", event(uid="b", summary="changed"), ICS)
    await http.request("DELETE", CAL + "c.ics")
    status, _, body = await http.request("REPORT", CAL, sync.format(token))
    root = etree.fromstring(body)
    result = {
        r.findtext("D:href", namespaces=NS): (
            r.findtext("D:status", namespaces=NS) or r.findtext(".//D:status", namespaces=NS)
        )
        for r in root.findall("D:response", NS)
    }
    assert result == {CAL + "b.ics": "HTTP/1.1 200 OK", CAL + "c.ics": "HTTP/1.1 404 Not Found"}


@pytest.mark.parametrize(
    "start, end, expected",
    [
        ("20260112T000000Z", "20260113T000000Z", ["weekly.ics"]),  # a later Monday instance
        ("20260106T000000Z", "20260112T000000Z", ["tuesday.ics"]),
        ("20251201T000000Z", "20251231T000000Z", []),
    ],
)
async def test_calendar_query_time_range_includes_recurring_instances(http, start, end, expected):
    await http.request(
        "PUT", CAL + "weekly.ics",
        event(uid="w", start="20260105T090000Z", end="20260105T100000Z", extra="RRULE:FREQ=WEEKLY\r\n"),
        ICS,
    )
    await http.request(
        "PUT", CAL + "tuesday.ics", event(uid="t", start="20260106T090000Z", end="20260106T100000Z"), ICS
    )
    query = (
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\">"
        f'<C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/>'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )
    status, _, body = await http.request("REPORT", CAL, query, {"Depth": "1"})
    assert status == 207
    hrefs = sorted(
        h.text.rsplit("/", 1)[1] for h in etree.fromstring(body).findall("D:response/D:href", NS)
    )
    assert hrefs == expected


async def test_calendar_data_with_limit_recurrence_set(http):
    """RFC 4791 9.6.6: the master stays, overrides outside the range are left out."""
    body = event(uid="series", start="20260105T090000Z", end="20260105T100000Z",
                 extra="RRULE:FREQ=WEEKLY;COUNT=10\r\n").replace(
        "END:VCALENDAR",
        "BEGIN:VEVENT\r\nUID:series\r\nDTSTAMP:20260101T000000Z\r\n"
        "RECURRENCE-ID:20260302T090000Z\r\nDTSTART:20260302T110000Z\r\n"
        "DTEND:20260302T120000Z\r\nSUMMARY:Moved\r\nEND:VEVENT\r\nEND:VCALENDAR",
    )
    assert (await http.request("PUT", CAL + "series.ics", body, ICS))[0] == 201

    def report(start: str, end: str) -> str:
        return (
            '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f'<D:prop><C:calendar-data><C:limit-recurrence-set start="{start}" end="{end}"/>'
            f"</C:calendar-data></D:prop><D:href>{CAL}series.ics</D:href></C:calendar-multiget>"
        )

    _, _, inside = await http.request("REPORT", CAL, report("20260301T000000Z", "20260401T000000Z"))
    _, _, outside = await http.request("REPORT", CAL, report("20260101T000000Z", "20260201T000000Z"))
    assert b"SUMMARY:Moved" in inside and b"RRULE:FREQ=WEEKLY" in inside
    assert b"SUMMARY:Moved" not in outside and b"RRULE:FREQ=WEEKLY" in outside

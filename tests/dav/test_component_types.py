"""Every component type the server knows, stored and queried (RFC 4791 5.2.3, RFC 7953)."""

from __future__ import annotations

import pytest
from lxml import etree

from caldav_sched.store.migrate import migrate
from tests.dav.helpers import CAL, ICS, error_condition, event

C = "{urn:ietf:params:xml:ns:caldav}"
ALL = ["VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY"]

FREEBUSY = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VFREEBUSY\r\n"
    "UID:fb-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T000000Z\r\n"
    "DTEND:20260112T000000Z\r\nFREEBUSY:20260105T090000Z/20260105T100000Z\r\n"
    "END:VFREEBUSY\r\nEND:VCALENDAR\r\n"
)
AVAILABILITY = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VAVAILABILITY\r\n"
    "UID:office-hours\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T000000Z\r\n"
    "SUMMARY:Office hours\r\nBEGIN:AVAILABLE\r\nUID:office-hours-weekdays\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T170000Z\r\n"
    "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\r\nEND:AVAILABLE\r\n"
    "END:VAVAILABILITY\r\nEND:VCALENDAR\r\n"
)


async def advertised(http, path) -> list[str]:
    body = (
        "<D:propfind xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'><D:prop>"
        "<C:supported-calendar-component-set/></D:prop></D:propfind>"
    )
    status, _, response = await http.request("PROPFIND", path, body, {"Depth": "0"})
    assert status == 207
    return [c.get("name") for c in etree.fromstring(response).iter(f"{C}comp")]


async def query_hrefs(http, path, component) -> list[str]:
    body = (
        "<C:calendar-query xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'>"
        "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name='VCALENDAR'>"
        f"<C:comp-filter name='{component}'/></C:comp-filter></C:filter></C:calendar-query>"
    )
    status, _, response = await http.request("REPORT", path, body, {"Depth": "1"})
    assert status == 207
    return [h.text for h in etree.fromstring(response).iter("{DAV:}href")]


def mkcalendar_body(*components: str, root: str = "C:mkcalendar") -> str:
    comps = "".join(f"<C:comp name='{c}'/>" for c in components)
    resourcetype = (
        "<D:resourcetype><D:collection/><C:calendar/></D:resourcetype>"
        if root == "D:mkcol" else ""
    )
    return (
        f"<{root} xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'><D:set><D:prop>"
        f"{resourcetype}<C:supported-calendar-component-set>{comps}"
        f"</C:supported-calendar-component-set></D:prop></D:set></{root}>"
    )


async def test_a_calendar_created_without_the_property_takes_every_type(http):
    """RFC 4791 5.2.3: absent supported-calendar-component-set, every type is taken."""
    assert await advertised(http, CAL) == ALL
    assert (await http.request("MKCALENDAR", "/home/alice/calendar/plain/"))[0] == 201
    assert await advertised(http, "/home/alice/calendar/plain/") == ALL
    assert (await http.request("PUT", CAL + "fb.ics", FREEBUSY, ICS))[0] == 201
    assert (await http.request("PUT", CAL + "av.ics", AVAILABILITY, ICS))[0] == 201
    status, headers, body = await http.request("GET", CAL + "av.ics")
    assert status == 200 and body == AVAILABILITY.encode()
    assert "component=vavailability" in headers["Content-Type"]


async def test_comp_filters_find_each_type(http):
    await http.request("PUT", CAL + "ev.ics", event(), ICS)
    await http.request("PUT", CAL + "fb.ics", FREEBUSY, ICS)
    await http.request("PUT", CAL + "av.ics", AVAILABILITY, ICS)
    assert await query_hrefs(http, CAL, "VFREEBUSY") == [CAL + "fb.ics"]
    assert await query_hrefs(http, CAL, "VAVAILABILITY") == [CAL + "av.ics"]
    assert await query_hrefs(http, CAL, "VEVENT") == [CAL + "ev.ics"]


@pytest.mark.parametrize("method, root", [("MKCALENDAR", "C:mkcalendar"), ("MKCOL", "D:mkcol")])
async def test_the_component_set_given_at_creation_is_honoured_and_advertised(http, method, root):
    """RFC 4791 5.2.3 and RFC 5689: the set is fixed when the calendar is made."""
    path = "/home/alice/calendar/availability/"
    status, _, _ = await http.request(method, path, mkcalendar_body("VAVAILABILITY", root=root))
    assert status == 201
    assert await advertised(http, path) == ["VAVAILABILITY"]
    assert (await http.request("PUT", path + "av.ics", AVAILABILITY, ICS))[0] == 201
    status, _, body = await http.request("PUT", path + "ev.ics", event(), ICS)
    assert status == 403
    assert error_condition(body) == f"{C}supported-calendar-component"


async def test_an_unknown_component_type_fails_the_mkcalendar(http):
    """RFC 4791 5.3.1: a property that cannot be set fails the request (207), nothing is made."""
    path = "/home/alice/calendar/odd/"
    status, _, body = await http.request("MKCALENDAR", path, mkcalendar_body("VEVENT", "VPOLLISH"))
    assert status == 207
    statuses = etree.fromstring(body).findall(".//{DAV:}status")
    assert [s.text for s in statuses] == ["HTTP/1.1 403 Forbidden"]
    assert (await http.request("PROPFIND", path, headers={"Depth": "0"}))[0] == 404


# SQLite's migration 0009 itself; PostgreSQL's schema starts with its outcome.
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_calendars_with_the_old_default_take_every_type_after_migration_0009(db):
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO users (name, email, created_at) VALUES ('old', 'old@example.com', '')"
        )
        await conn.execute(
            "INSERT INTO collections (owner_id, path, kind, components, created_at)"
            " SELECT id, 'event', 'calendar', 'VEVENT,VTODO,VJOURNAL', '' FROM users"
        )
        await conn.execute(
            "INSERT INTO collections (owner_id, path, kind, components, created_at)"
            " SELECT id, 'todos', 'calendar', 'VTODO', '' FROM users"
        )
        await conn.execute("DELETE FROM schema_migrations WHERE version = 9")
    assert await migrate(db) == ["0009_all_component_types.sql"]
    rows = await db.writer.execute_fetchall("SELECT path, components FROM collections ORDER BY path")
    assert [tuple(r) for r in rows] == [
        ("event", ",".join(ALL)),
        ("todos", "VTODO"),
    ]


async def test_a_time_range_finds_availability_by_its_period(http):
    """RFC 7953 3.1: a VAVAILABILITY covers DTSTART to DTEND (or on without end)."""
    await http.request("PUT", CAL + "ev.ics", event(), ICS)
    await http.request("PUT", CAL + "av.ics", AVAILABILITY, ICS)

    async def in_range(start: str, end: str) -> list[str]:
        body = (
            "<C:calendar-query xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'>"
            "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name='VCALENDAR'>"
            f"<C:comp-filter name='VAVAILABILITY'><C:time-range start='{start}' end='{end}'/>"
            "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
        )
        status, _, response = await http.request("REPORT", CAL, body, {"Depth": "1"})
        assert status == 207
        return [h.text for h in etree.fromstring(response).iter("{DAV:}href")]

    # The office hours start on 2026-01-05 and have no end.
    assert await in_range("20351201T000000Z", "20351202T000000Z") == [CAL + "av.ics"]
    assert await in_range("20260101T000000Z", "20260105T000000Z") == []

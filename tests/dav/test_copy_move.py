"""COPY and MOVE of calendar objects and calendars (RFC 4918 9.8, 9.9; RFC 4791 5.3.2)."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from tests.dav.helpers import CAL, ICS, error_condition, event

WORK = "/home/alice/calendar/work/"
D = "{DAV:}"
CS = "{http://calendarserver.org/ns/}"

SCHEDULED = event(
    uid="scheduled",
    extra="ORGANIZER:mailto:alice@example.com\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;SCHEDULE-AGENT=CLIENT:mailto:dan@elsewhere.example\r\n",
)
TODO = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VTODO\r\n"
    "UID:todo-1\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Buy milk\r\n"
    "END:VTODO\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
async def two_calendars(http):
    assert (await http.request("MKCALENDAR", WORK))[0] == 201
    return http


async def put(http, path, body=None, **headers):
    status, response, _ = await http.request("PUT", path, body or event(), {**ICS, **headers})
    assert status in (201, 204)
    return response["ETag"]


async def collection_state(http, path) -> tuple[str, str]:
    """(getctag, sync-token) of a collection."""
    body = (
        "<D:propfind xmlns:D='DAV:' xmlns:CS='http://calendarserver.org/ns/'>"
        "<D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>"
    )
    status, _, response = await http.request("PROPFIND", path, body, {"Depth": "0"})
    assert status == 207
    root = etree.fromstring(response)
    return root.findtext(f".//{CS}getctag"), root.findtext(f".//{D}sync-token")


async def sync_changes(http, path, token) -> dict[str, str]:
    """href -> 'gone' or the ETag, for every change after *token*."""
    body = (
        "<D:sync-collection xmlns:D='DAV:'>"
        f"<D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>"
        "<D:prop><D:getetag/></D:prop></D:sync-collection>"
    )
    status, _, response = await http.request("REPORT", path, body)
    assert status == 207
    changes = {}
    for r in etree.fromstring(response).iter(f"{D}response"):
        etag = r.findtext(f".//{D}getetag")
        changes[r.findtext(f"{D}href")] = etag if etag else "gone"
    return changes


async def move(http, source, destination, **headers):
    return await http.request(
        "MOVE", source, headers={"Destination": destination, **headers}
    )


async def copy(http, source, destination, **headers):
    return await http.request(
        "COPY", source, headers={"Destination": destination, **headers}
    )


# -- MOVE of an object (RFC 4918 9.9) ------------------------------------------


async def test_move_between_calendars_keeps_the_object_and_advances_both_logs(two_calendars):
    http = two_calendars
    etag = await put(http, CAL + "a.ics")
    ctag_from, token_from = await collection_state(http, CAL)
    ctag_to, token_to = await collection_state(http, WORK)

    status, headers, _ = await move(http, CAL + "a.ics", WORK + "a.ics")

    assert status == 201
    assert headers["ETag"] == etag
    assert (await http.request("GET", CAL + "a.ics"))[0] == 404
    got = await http.request("GET", WORK + "a.ics")
    assert got[0] == 200 and got[1]["ETag"] == etag and got[2] == event().encode()
    # Both collections changed: new getctag and sync-token, and each log says what happened.
    assert (await collection_state(http, CAL))[0] != ctag_from
    assert (await collection_state(http, WORK))[0] != ctag_to
    assert await sync_changes(http, CAL, token_from) == {CAL + "a.ics": "gone"}
    assert await sync_changes(http, WORK, token_to) == {WORK + "a.ics": etag}


async def test_move_renames_within_one_calendar(http):
    await put(http, CAL + "old.ics")
    _, token = await collection_state(http, CAL)
    status, _, _ = await move(http, CAL + "old.ics", CAL + "new.ics")
    assert status == 201
    assert (await http.request("GET", CAL + "old.ics"))[0] == 404
    assert (await http.request("GET", CAL + "new.ics"))[0] == 200
    changes = await sync_changes(http, CAL, token)
    assert changes[CAL + "old.ics"] == "gone" and changes[CAL + "new.ics"] != "gone"


async def test_move_onto_an_existing_resource_honours_overwrite(two_calendars):
    """RFC 4918 9.9.3/10.6: Overwrite F fails with 412; T (the default) replaces, 204."""
    http = two_calendars
    await put(http, CAL + "a.ics", event(uid="a", summary="Moved"))
    await put(http, WORK + "b.ics", event(uid="b", summary="Replaced"))

    status, _, _ = await move(http, CAL + "a.ics", WORK + "b.ics", Overwrite="F")
    assert status == 412
    assert b"Replaced" in (await http.request("GET", WORK + "b.ics"))[2]
    assert (await http.request("GET", CAL + "a.ics"))[0] == 200

    status, _, _ = await move(http, CAL + "a.ics", WORK + "b.ics", Overwrite="T")
    assert status == 204
    assert b"Moved" in (await http.request("GET", WORK + "b.ics"))[2]
    assert (await http.request("GET", CAL + "a.ics"))[0] == 404


async def test_move_checks_if_match_and_schedule_tag_on_the_source(two_calendars):
    http = two_calendars
    etag = await put(http, CAL + "a.ics")
    assert (await move(http, CAL + "a.ics", WORK + "a.ics", **{"If-Match": '"nope"'}))[0] == 412
    assert (
        await move(http, CAL + "a.ics", WORK + "a.ics", **{"If-Schedule-Tag-Match": '"nope"'})
    )[0] == 412
    assert (await http.request("GET", CAL + "a.ics"))[0] == 200
    assert (await move(http, CAL + "a.ics", WORK + "a.ics", **{"If-Match": etag}))[0] == 201


async def test_move_of_a_scheduled_event_checks_its_schedule_tag(two_calendars):
    http = two_calendars
    _, headers, _ = await http.request("PUT", CAL + "s.ics", SCHEDULED, ICS)
    tag = headers["Schedule-Tag"]
    status, moved, _ = await move(
        http, CAL + "s.ics", WORK + "s.ics", **{"If-Schedule-Tag-Match": tag}
    )
    assert status == 201 and moved["Schedule-Tag"] == tag
    got = await http.request("GET", WORK + "s.ics")
    assert got[1]["Schedule-Tag"] == tag


async def test_move_refuses_a_uid_already_in_the_destination(two_calendars):
    """RFC 4791 5.3.2.1 CALDAV:no-uid-conflict, naming the resource that holds the UID."""
    http = two_calendars
    await put(http, CAL + "a.ics", event(uid="same"))
    await put(http, WORK + "other-name.ics", event(uid="same"))
    status, _, body = await move(http, CAL + "a.ics", WORK + "a.ics")
    assert status == 409
    assert error_condition(body) == "{urn:ietf:params:xml:ns:caldav}no-uid-conflict"
    assert WORK.encode() + b"other-name.ics" in body
    assert (await http.request("GET", CAL + "a.ics"))[0] == 200


async def test_move_refuses_a_component_the_destination_does_not_take(http):
    """RFC 4791 5.3.2.1 CALDAV:supported-calendar-component."""
    body = (
        "<C:mkcalendar xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'><D:set><D:prop>"
        "<C:supported-calendar-component-set><C:comp name='VEVENT'/>"
        "</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"
    )
    assert (await http.request("MKCALENDAR", WORK, body))[0] == 201
    await put(http, CAL + "todo.ics", TODO)
    status, _, response = await move(http, CAL + "todo.ics", WORK + "todo.ics")
    assert status == 403
    assert error_condition(response) == "{urn:ietf:params:xml:ns:caldav}supported-calendar-component"
    assert (await http.request("GET", CAL + "todo.ics"))[0] == 200


async def test_move_destination_errors(two_calendars, server):
    http = two_calendars
    await put(http, CAL + "a.ics")
    url = server.url.rstrip("/")
    cases = [
        ({}, 400),  # no Destination
        ({"Destination": "https://elsewhere.example/home/alice/calendar/work/a.ics"}, 502),
        ({"Destination": CAL + "a.ics"}, 403),  # the same resource
        ({"Destination": "/home/alice/calendar/missing/a.ics"}, 409),  # no such calendar
        ({"Destination": "/home/alice/calendar/inbox/a.ics"}, 403),
        ({"Destination": "/home/bob/calendar/event/a.ics"}, 403),  # another user's calendar
        ({"Destination": "/nowhere/a.ics"}, 403),
        ({"Destination": WORK + "a.ics", "Overwrite": "maybe"}, 400),
    ]
    for headers, expected in cases:
        status, _, _ = await http.request("MOVE", CAL + "a.ics", headers=headers)
        assert status == expected, headers
    assert (await http.request("GET", CAL + "a.ics"))[0] == 200
    # An absolute URL naming this server works, as clients send it.
    status, _, _ = await move(http, CAL + "a.ics", url + WORK + "a.ics")
    assert status == 201


async def test_moving_or_copying_another_users_objects_is_forbidden(server, http):
    import dataclasses

    bob = dataclasses.replace(http, user="bob")
    await put(bob, "/home/bob/calendar/event/b.ics")
    for method in ("MOVE", "COPY"):
        status, _, _ = await http.request(
            method, "/home/bob/calendar/event/b.ics", headers={"Destination": CAL + "b.ics"}
        )
        assert status == 403
    assert (await bob.request("GET", "/home/bob/calendar/event/b.ics"))[0] == 200
    assert (await http.request("GET", CAL + "b.ics"))[0] == 404


async def test_move_of_a_missing_object_is_404(two_calendars):
    assert (await move(two_calendars, CAL + "none.ics", WORK + "none.ics"))[0] == 404


# -- COPY of an object (RFC 4918 9.8) --------------------------------------------


async def test_copy_to_another_calendar_leaves_the_source(two_calendars):
    http = two_calendars
    etag = await put(http, CAL + "a.ics")
    _, token_to = await collection_state(http, WORK)
    _, token_from = await collection_state(http, CAL)
    status, headers, _ = await copy(http, CAL + "a.ics", WORK + "copy.ics")
    assert status == 201
    assert (await http.request("GET", CAL + "a.ics"))[0] == 200
    got = await http.request("GET", WORK + "copy.ics")
    assert got[0] == 200 and got[2] == event().encode() and got[1]["ETag"] == headers["ETag"]
    assert await sync_changes(http, WORK, token_to) == {WORK + "copy.ics": etag}
    assert await sync_changes(http, CAL, token_from) == {}


async def test_copy_within_one_calendar_is_a_uid_conflict(http):
    """RFC 4791 5.3.2.1: the copy would be a second resource with the same UID."""
    await put(http, CAL + "a.ics")
    status, _, body = await copy(http, CAL + "a.ics", CAL + "b.ics")
    assert status == 409
    assert error_condition(body) == "{urn:ietf:params:xml:ns:caldav}no-uid-conflict"
    assert (await http.request("GET", CAL + "b.ics"))[0] == 404


async def test_copy_of_a_scheduled_event_is_a_uid_conflict(two_calendars):
    """RFC 6638 3.2.4: one scheduling object resource per UID among a user's calendars;
    the client stores a copy under a new UID instead."""
    http = two_calendars
    await http.request("PUT", CAL + "s.ics", SCHEDULED, ICS)
    status, _, body = await copy(http, CAL + "s.ics", WORK + "s.ics")
    assert status == 409
    assert error_condition(body) == "{urn:ietf:params:xml:ns:caldav}no-uid-conflict"
    assert CAL.encode() + b"s.ics" in body
    assert (await http.request("GET", WORK + "s.ics"))[0] == 404
    # With a new UID it is a new event.
    renamed = SCHEDULED.replace("UID:scheduled", "UID:scheduled-copy")
    assert (await http.request("PUT", WORK + "s.ics", renamed, ICS))[0] == 201


async def test_copy_onto_an_existing_resource_honours_overwrite(two_calendars):
    http = two_calendars
    await put(http, CAL + "a.ics", event(uid="a"))
    await put(http, WORK + "b.ics", event(uid="b", summary="Kept"))
    assert (await copy(http, CAL + "a.ics", WORK + "b.ics", Overwrite="F"))[0] == 412
    assert b"Kept" in (await http.request("GET", WORK + "b.ics"))[2]
    assert (await copy(http, CAL + "a.ics", WORK + "b.ics"))[0] == 204
    assert b"UID:a" in (await http.request("GET", WORK + "b.ics"))[2]


async def test_copied_objects_are_found_by_queries(two_calendars):
    http = two_calendars
    await put(http, CAL + "a.ics")
    await copy(http, CAL + "a.ics", WORK + "a.ics")
    query = (
        "<C:calendar-query xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'>"
        "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name='VCALENDAR'>"
        "<C:comp-filter name='VEVENT'><C:time-range start='20260105T000000Z' end='20260106T000000Z'/>"
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )
    _, _, body = await http.request("REPORT", WORK, query, {"Depth": "1"})
    assert (WORK + "a.ics").encode() in body


# -- MOVE of a calendar ------------------------------------------------------------


async def test_move_of_a_calendar_keeps_its_objects_and_properties(two_calendars):
    http = two_calendars
    proppatch = (
        "<D:propertyupdate xmlns:D='DAV:'><D:set><D:prop><D:displayname>Work</D:displayname>"
        "</D:prop></D:set></D:propertyupdate>"
    )
    await http.request("PROPPATCH", WORK, proppatch)
    etag = await put(http, WORK + "a.ics")
    ctag, _ = await collection_state(http, WORK)

    status, _, _ = await move(http, WORK, "/home/alice/calendar/office/")
    assert status == 201
    assert (await http.request("PROPFIND", WORK, headers={"Depth": "0"}))[0] == 404
    got = await http.request("GET", "/home/alice/calendar/office/a.ics")
    assert got[0] == 200 and got[1]["ETag"] == etag
    _, _, body = await http.request(
        "PROPFIND", "/home/alice/calendar/office/",
        "<D:propfind xmlns:D='DAV:'><D:prop><D:displayname/></D:prop></D:propfind>",
        {"Depth": "0"},
    )
    assert b"Work" in body
    assert (await collection_state(http, "/home/alice/calendar/office/"))[0] != ctag


async def test_move_of_a_calendar_onto_another_honours_overwrite(two_calendars):
    http = two_calendars
    await http.request("MKCALENDAR", "/home/alice/calendar/old/")
    await put(http, "/home/alice/calendar/old/gone.ics", event(uid="gone"))
    await put(http, WORK + "kept.ics", event(uid="kept"))
    assert (await move(http, WORK, "/home/alice/calendar/old/", Overwrite="F"))[0] == 412
    assert (await move(http, WORK, "/home/alice/calendar/old/"))[0] == 204
    assert (await http.request("GET", "/home/alice/calendar/old/kept.ics"))[0] == 200
    assert (await http.request("GET", "/home/alice/calendar/old/gone.ics"))[0] == 404


@pytest.mark.parametrize(
    "source, destination, expected",
    [
        (CAL, "/home/alice/calendar/elsewhere/", 403),  # the default calendar stays
        ("/home/alice/calendar/inbox/", "/home/alice/calendar/box/", 403),
        (WORK, "/home/alice/calendar/outbox/", 403),
        (WORK, "/home/bob/calendar/work/", 403),
        (WORK, "/home/alice/calendar/work/x.ics", 403),
    ],
)
async def test_calendar_moves_that_are_refused(two_calendars, source, destination, expected):
    status, _, _ = await move(two_calendars, source, destination)
    assert status == expected
    assert (await two_calendars.request("PROPFIND", WORK, headers={"Depth": "0"}))[0] == 207


async def test_a_calendar_moved_below_another_breaks_the_location_rule(two_calendars):
    """RFC 4791 5.3.2.1 (MOVE): CALDAV:calendar-collection-location-ok."""
    status, _, body = await move(two_calendars, WORK, CAL + "nested/")
    assert status == 403
    assert error_condition(body) == "{urn:ietf:params:xml:ns:caldav}calendar-collection-location-ok"


async def test_copy_of_a_calendar_is_refused(two_calendars):
    status, _, _ = await copy(two_calendars, WORK, "/home/alice/calendar/twin/")
    assert status == 403
    assert (await two_calendars.request("PROPFIND", "/home/alice/calendar/twin/", headers={"Depth": "0"}))[0] == 404


async def test_options_advertises_copy_and_move(http):
    _, headers, _ = await http.request("OPTIONS", CAL)
    allowed = {m.strip() for m in headers["Allow"].split(",")}
    assert {"COPY", "MOVE"} <= allowed
    assert re.search(r"\b1\b", headers["DAV"])

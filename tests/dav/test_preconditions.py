"""Bad input gets a clear 4xx with the CalDAV precondition, and changes nothing."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import basic
from tests.dav.helpers import CAL, ICS, WALKTHROUGH_PUT, error_condition, event

C = "{urn:ietf:params:xml:ns:caldav}"
D = "{DAV:}"


async def assert_not_stored(http, path: str = CAL + "bad.ics") -> None:
    status, _, _ = await http.request("GET", path)
    assert status == 404


INVALID_BODIES = [
    ("not calendar data", "hello world\r\n", C + "valid-calendar-data"),
    ("unterminated", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n", C + "valid-calendar-data"),
    (
        "a broken DTSTART",
        event(uid="bad", start="yesterday"),
        C + "valid-calendar-data",
    ),
    ("not UTF-8", event(uid="bad", summary="caf\xe9").encode("latin-1"), C + "valid-calendar-data"),
    (
        "two UIDs",
        event(uid="one").replace(
            "END:VCALENDAR", "BEGIN:VEVENT\r\nUID:two\r\nDTSTAMP:20260101T000000Z\r\n"
            "DTSTART:20260101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR"
        ),
        C + "valid-calendar-object-resource",
    ),
    (
        "an event and a task",
        event(uid="one").replace(
            "END:VCALENDAR", "BEGIN:VTODO\r\nUID:one\r\nDTSTAMP:20260101T000000Z\r\n"
            "END:VTODO\r\nEND:VCALENDAR"
        ),
        C + "valid-calendar-object-resource",
    ),
    (
        "no UID",
        event(uid="x").replace("UID:x\r\n", ""),
        C + "valid-calendar-object-resource",
    ),
    (
        "only a time zone",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\n"
        "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0000\r\n"
        "TZOFFSETTO:+0000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n",
        C + "valid-calendar-object-resource",
    ),
]


@pytest.mark.parametrize("what, body, condition", INVALID_BODIES, ids=[c[0] for c in INVALID_BODIES])
async def test_invalid_calendar_data_is_refused(http, what, body, condition):
    status, headers, response = await http.request("PUT", CAL + "bad.ics", body, ICS)
    assert status == 403
    assert error_condition(response) == condition
    await assert_not_stored(http)


async def test_unsupported_media_type_is_refused(http):
    status, _, response = await http.request(
        "PUT", CAL + "bad.ics", event(uid="bad"), {"Content-Type": "text/vcard"}
    )
    assert status == 403
    assert error_condition(response) == C + "supported-calendar-data"
    await assert_not_stored(http)


async def test_oversize_object_is_refused(http, server):
    big = event(uid="big", extra="DESCRIPTION:" + "x" * server.settings.limits.max_resource_size + "\r\n")
    status, _, response = await http.request("PUT", CAL + "bad.ics", big, ICS)
    assert status == 403
    assert error_condition(response) == C + "max-resource-size"
    await assert_not_stored(http)


async def test_uid_conflict_names_the_holder(http):
    assert (await http.request("PUT", CAL + "first.ics", event(uid="same"), ICS))[0] == 201
    status, _, response = await http.request("PUT", CAL + "bad.ics", event(uid="same"), ICS)
    assert status == 409
    assert error_condition(response) == C + "no-uid-conflict"
    assert b"/home/alice/calendar/event/first.ics" in response
    await assert_not_stored(http)


MKCAL_TODO_ONLY = (
    '<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:set><D:prop><C:supported-calendar-component-set><C:comp name=\"VTODO\"/>"
    "</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"
)


async def test_component_not_supported_by_the_calendar(http):
    status, _, _ = await http.request("MKCALENDAR", "/home/alice/calendar/tasks/", MKCAL_TODO_ONLY)
    assert status == 201
    status, _, response = await http.request(
        "PUT", "/home/alice/calendar/tasks/bad.ics", event(uid="e"), ICS
    )
    assert status == 403
    assert error_condition(response) == C + "supported-calendar-component"
    await assert_not_stored(http, "/home/alice/calendar/tasks/bad.ics")


async def test_mkcalendar_on_an_existing_collection(http):
    status, _, response = await http.request("MKCALENDAR", CAL)
    assert status == 405
    assert error_condition(response) == D + "resource-must-be-null"


async def test_put_into_a_missing_calendar_is_a_conflict(http):
    status, _, _ = await http.request("PUT", "/home/alice/calendar/nowhere/x.ics", event(), ICS)
    assert status == 409


# -- authentication and access ------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [None, basic("alice", "wrong"), basic("nobody"), "Basic !!!", "Bearer abc"],
    ids=["none", "wrong password", "unknown user", "garbage", "other scheme"],
)
async def test_unauthenticated_requests_get_401_with_a_challenge(http, auth):
    status, headers, _ = await http.request("PROPFIND", CAL, headers={"Depth": "0"}, auth=auth)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith('Basic realm="')


@pytest.fixture
def counted_verifications(monkeypatch):
    """Counts argon2 verifications and the most that ran at the same time."""
    import threading

    from caldav_sched.services import users as user_service

    seen = {"calls": 0, "running": 0, "most": 0}
    lock = threading.Lock()
    hasher = user_service._hasher

    class CountingHasher:
        def verify(self, password_hash: str, password: str) -> bool:
            with lock:
                seen["calls"] += 1
                seen["running"] += 1
                seen["most"] = max(seen["most"], seen["running"])
            try:
                return hasher.verify(password_hash, password)
            finally:
                with lock:
                    seen["running"] -= 1

    monkeypatch.setattr(user_service, "_hasher", CountingHasher())
    return seen


async def test_a_burst_of_connections_verifies_the_password_once(http, counted_verifications):
    statuses = await asyncio.gather(
        *(http.request("PROPFIND", CAL, headers={"Depth": "0"}) for _ in range(16))
    )
    assert [s for s, _, _ in statuses] == [207] * 16
    assert counted_verifications["calls"] == 1


async def test_wrong_passwords_are_verified_a_few_at_a_time(http, counted_verifications):
    from caldav_sched.services.users import VERIFICATIONS_AT_ONCE

    statuses = await asyncio.gather(
        *(
            http.request("PROPFIND", CAL, headers={"Depth": "0"}, auth=basic("alice", f"guess{i}"))
            for i in range(8)
        )
    )
    assert [s for s, _, _ in statuses] == [401] * 8
    assert counted_verifications["calls"] == 8
    assert counted_verifications["most"] <= VERIFICATIONS_AT_ONCE


async def test_disabled_user_is_refused(http, server):
    from caldav_sched.services import users as user_service

    assert (await http.request("PROPFIND", CAL, headers={"Depth": "0"}))[0] == 207
    server.call(user_service.set_disabled(server.services, "alice"))
    status, _, _ = await http.request("PROPFIND", CAL, headers={"Depth": "0"})
    assert status == 401


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("PROPFIND", "/home/bob/calendar/", None),
        ("PROPFIND", "/home/bob/calendar/event/", None),
        ("GET", "/home/bob/calendar/event/x.ics", None),
        ("PUT", "/home/bob/calendar/event/x.ics", event(uid="intruder")),
        ("DELETE", "/home/bob/calendar/event/", None),
        ("MKCALENDAR", "/home/bob/calendar/new/", None),
    ],
)
async def test_other_users_homes_are_forbidden(http, method, path, body):
    status, _, _ = await http.request(method, path, body, ICS if body else None)
    assert status == 403
    bob = dataclass_replace(http, user="bob")
    status, _, _ = await bob.request("PROPFIND", "/home/bob/calendar/event/", headers={"Depth": "1"})
    assert status == 207


def dataclass_replace(http, **changes):
    import dataclasses

    return dataclasses.replace(http, **changes)


async def test_other_principals_are_readable(http):
    body = (
        '<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><prop>'
        "<C:calendar-user-address-set/></prop></propfind>"
    )
    status, _, response = await http.request("PROPFIND", "/home/bob/", body, {"Depth": "0"})
    assert status == 207
    assert b"mailto:bob@example.com" in response


# -- malformed XML ------------------------------------------------------------------

MALFORMED_XML = [
    ("unclosed", "<propfind xmlns='DAV:'><prop>"),
    ("not XML", "this is not xml"),
    (
        "entity expansion",
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        "<propfind xmlns='DAV:'><prop><displayname>&lol2;</displayname></prop></propfind>",
    ),
    (
        "external entity",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<propertyupdate xmlns='DAV:'><set><prop><displayname>&xxe;</displayname></prop></set>"
        "</propertyupdate>",
    ),
]


@pytest.mark.parametrize("what, body", MALFORMED_XML, ids=[m[0] for m in MALFORMED_XML])
@pytest.mark.parametrize("method", ["PROPFIND", "PROPPATCH", "REPORT", "MKCALENDAR"])
async def test_malformed_xml_is_a_400_and_changes_nothing(http, what, body, method):
    path = "/home/alice/calendar/new/" if method == "MKCALENDAR" else CAL
    status, _, _ = await http.request(method, path, body, {"Depth": "0"})
    assert status == 400
    status, _, response = await http.request(
        "PROPFIND", CAL, "<propfind xmlns='DAV:'><prop><displayname/></prop></propfind>",
        {"Depth": "0"},
    )
    assert b"<D:displayname>Calendar</D:displayname>" in response
    assert (await http.request("PROPFIND", "/home/alice/calendar/new/", headers={"Depth": "0"}))[0] == 404


async def test_invalid_sync_token(http):
    body = (
        '<sync-collection xmlns="DAV:"><sync-token>http://example.com/foreign/1</sync-token>'
        "<sync-level>1</sync-level><prop><getetag/></prop></sync-collection>"
    )
    status, _, response = await http.request("REPORT", CAL, body)
    assert status == 403
    assert error_condition(response) == D + "valid-sync-token"


async def test_invalid_filter(http):
    body = (
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name=\"VEVENT\"/></C:filter>"
        "</C:calendar-query>"
    )
    status, _, response = await http.request("REPORT", CAL, body, {"Depth": "1"})
    assert status == 403
    assert error_condition(response) == C + "valid-filter"


# -- the walkthrough's own request ---------------------------------------------------


async def test_walkthrough_first_put_is_created_with_a_strong_etag(http):
    status, headers, _ = await http.request(
        "PUT",
        "/home/alice/calendar/event/uniqueEventIdentifier.ics",
        WALKTHROUGH_PUT,
        {"If-None-Match": "*", "Content-Type": "text/calendar"},
    )
    assert status == 201
    etag = headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")

    status, headers, body = await http.request(
        "GET", "/home/alice/calendar/event/uniqueEventIdentifier.ics"
    )
    assert status == 200 and headers["ETag"] == etag
    text = body.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert "uniqueEventIdentifier.ics" not in text
    assert "UID:identifier\r\n" in text

    # Step 11 of the walkthrough sends If-None-Match: * on the existing resource.
    status, _, _ = await http.request(
        "PUT",
        "/home/alice/calendar/event/uniqueEventIdentifier.ics",
        WALKTHROUGH_PUT.replace("20180710T180000Z", "20180711T180000Z"),
        {"If-None-Match": "*", "Content-Type": "text/calendar"},
    )
    assert status == 412
    assert (await http.request("GET", "/home/alice/calendar/event/uniqueEventIdentifier.ics"))[2] == body

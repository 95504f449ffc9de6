"""The seed scenario's second form: A, B and C are all users of this server.

The `caldav` client library acts as each of them.  B and C find the event in
their own calendars, answer there, and A's copy changes at once (new ETag,
same Schedule-Tag); A's move updates B's and C's copies and resets them.
No mail is involved.
"""

from __future__ import annotations

from datetime import datetime, timezone

import caldav
import pytest

from tests.conftest import PASSWORD, ServerThread, ShiftedClock, make_settings

SCENARIO_START = datetime(2018, 7, 10, 13, 0, tzinfo=timezone.utc)

EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Company//CalDAV Client//EN\r\n"
    "BEGIN:VEVENT\r\nUID:identifier\r\nDTSTAMP:20180710T130000Z\r\n"
    "DTSTART:20180710T180000Z\r\nDTEND:20180710T200000Z\r\nSUMMARY:Main Event\r\n"
    "ORGANIZER;CN=A.user:mailto:a@example.com\r\n"
    "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=A.user:mailto:a@example.com\r\n"
    "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=B.user:mailto:b@example.com\r\n"
    "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=C.user:mailto:c@example.com\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def office(tmp_path):
    server = ServerThread(make_settings(tmp_path), clock=ShiftedClock(SCENARIO_START))
    server.start()
    for name in "ABC":
        server.add_user(name, f"{name.lower()}@example.com")
    clients = {
        name: caldav.DAVClient(url=server.url, username=name, password=PASSWORD) for name in "ABC"
    }
    yield server, clients
    for client in clients.values():
        client.close()
    server.stop()


def calendar_of(client: caldav.DAVClient) -> caldav.Calendar:
    return next(c for c in client.principal().calendars() if str(c.url).endswith("/event/"))


def answers(event: caldav.Event) -> dict[str, str]:
    component = event.icalendar_component
    return {
        str(a).lower().removeprefix("mailto:"): str(a.params.get("PARTSTAT", "NEEDS-ACTION"))
        for a in component.get("ATTENDEE", [])
    }


def test_local_attendees_schedule_through_their_own_calendars(office):
    server, clients = office
    a_calendar = calendar_of(clients["A"])
    a_calendar.save_event(EVENT)
    a_event = a_calendar.event_by_uid("identifier")
    etag_500 = a_event.get_property(caldav.elements.dav.GetEtag())
    tag = a_event.get_property(caldav.elements.cdav.ScheduleTag())
    assert tag, "the organizer's scheduling object has a Schedule-Tag"
    statuses = {
        str(a).lower(): str(a.params.get("SCHEDULE-STATUS"))
        for a in a_event.icalendar_component.get("ATTENDEE", [])
    }
    assert statuses["mailto:b@example.com"] == "1.2" and statuses["mailto:c@example.com"] == "1.2"

    # B and C find the invitation in their own calendar and scheduling inbox.
    for name in "BC":
        copy = calendar_of(clients[name]).event_by_uid("identifier")
        assert answers(copy)[f"{name.lower()}@example.com"] == "NEEDS-ACTION"
        inbox = clients[name].principal().schedule_inbox()
        [item] = inbox.get_items()
        assert "METHOD:REQUEST" in item.data

    # B accepts in his calendar app: A's copy changes at once.
    b_copy = calendar_of(clients["B"]).event_by_uid("identifier")
    b_copy.change_attendee_status(attendee="b@example.com", PARTSTAT="ACCEPTED")
    b_copy.save()
    a_event = a_calendar.event_by_uid("identifier")
    etag_501 = a_event.get_property(caldav.elements.dav.GetEtag())
    assert etag_501 != etag_500
    assert answers(a_event)["b@example.com"] == "ACCEPTED"
    assert a_event.get_property(caldav.elements.cdav.ScheduleTag()) == tag, (
        "an attendee's answer does not move the organizer's Schedule-Tag"
    )

    # C declines.
    c_copy = calendar_of(clients["C"]).event_by_uid("identifier")
    c_copy.change_attendee_status(attendee="c@example.com", PARTSTAT="DECLINED")
    c_copy.save()
    a_event = a_calendar.event_by_uid("identifier")
    assert answers(a_event) == {
        "a@example.com": "ACCEPTED", "b@example.com": "ACCEPTED", "c@example.com": "DECLINED"
    }
    assert a_event.get_property(caldav.elements.dav.GetEtag()) != etag_501

    # A moves the event: B's and C's copies follow and are reset.
    component = a_event.icalendar_component
    component["DTSTART"].dt = datetime(2018, 7, 11, 18, tzinfo=timezone.utc)
    component["DTEND"].dt = datetime(2018, 7, 11, 20, tzinfo=timezone.utc)
    a_event.save()
    for name in "BC":
        copy = calendar_of(clients[name]).event_by_uid("identifier")
        moved = copy.icalendar_component
        assert moved["DTSTART"].dt == datetime(2018, 7, 11, 18, tzinfo=timezone.utc)
        assert int(moved.get("SEQUENCE", 0)) == 1
        assert answers(copy)[f"{name.lower()}@example.com"] == "NEEDS-ACTION"
    assert answers(a_calendar.event_by_uid("identifier"))["b@example.com"] == "NEEDS-ACTION"

"""iCalendar bodies shared by the DAV tests."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from tests.conftest import basic

CAL = "/home/alice/calendar/event/"


def event(uid: str = "event-1", summary: str = "Planning", start: str = "20260105T100000Z",
          end: str = "20260105T110000Z", extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\n"
        "BEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        f"SUMMARY:{summary}\r\n{extra}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


ICS = {"Content-Type": "text/calendar; charset=utf-8"}


def error_condition(body: bytes) -> str | None:
    """The Clark name of the precondition inside a DAV:error body."""
    from lxml import etree

    root = etree.fromstring(body)
    assert root.tag == "{DAV:}error", body
    return next((child.tag for child in root if child.tag.split("}")[1] != "description"), None)


WALKTHROUGH_PUT = (
    "uniqueEventIdentifier.ics\n"
    "BEGIN: VCALENDAR\n"
    "Version: 2.0\n"
    "PRODID: -//Company//CalDAV Client// EN\n"
    "BEGIN:VEVENT\n"
    "UID:identifier\n"
    "DTSTAMP:20180710T130000Z\n"
    "DTSTART:20180710T180000Z\n"
    "DTEND:20180710T200000Z\n"
    "SUMMARY: Main Event\n"
    'ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ATTENDING;CN="A.user":mailto:a@example.com\n'
    'ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEED-ACTION;CN="B.user":mailto:b@example.com\n'
    'ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEED-ACTION;CN="C.user":mailto:c@example.com\n'
    "END:VEVENT\n"
    "END:VCALENDAR\n"
)


class SyncClient:
    """A blocking HTTP client as alice, for hypothesis tests (one connection per request)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = url.rstrip("/")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def __call__(self, method: str, path: str, body: str | bytes | None = None, **headers: str):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, body=body,
                         headers={"Authorization": basic("alice"), **headers})
            response = conn.getresponse()
            return response.status, response.getheader("ETag"), response.read()
        finally:
            conn.close()

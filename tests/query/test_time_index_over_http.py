"""Queries answered from the time index, through the server.

All-day events read in the calendar's own zone (CALDAV:calendar-timezone, or
the query's timezone element), a series without end asked about years ahead
(the index is kept further and stored), a row written before the index
existed (parsed once, then indexed), tasks, and free-busy from the index.
On both backends: PostgreSQL keeps the same index columns and answers alike.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest

from caldav_sched.domain.time_index import BEYOND, HORIZON
from caldav_sched.queue.worker import holder_name
from caldav_sched.services import time_ranges
from tests.conftest import BACKENDS, USERS, Http, ServerThread, ShiftedClock, make_settings

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)
CAL = "/home/alice/calendar/event/"


def zone(tzid: str, offset: str) -> str:
    """A VCALENDAR holding one VTIMEZONE with a fixed offset, as calendar-timezone takes it."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTIMEZONE\r\n"
        f"TZID:{tzid}\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
        f"TZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n"
    )


PAGO_PAGO = zone("Pacific/Pago_Pago", "-1100")
KIRITIMATI = zone("Pacific/Kiritimati", "+1400")


def body(uid: str, *lines: str, component: str = "VEVENT") -> str:
    inner = "\r\n".join((f"UID:{uid}", "DTSTAMP:20261201T000000Z", *lines))
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:{component}\r\n{inner}\r\n"
            f"END:{component}\r\nEND:VCALENDAR\r\n")


def query(component: str, start: str | None, end: str, tz: str | None = None) -> str:
    timezone_el = f"<C:timezone><![CDATA[{tz}]]></C:timezone>" if tz else ""
    start_attr = f' start="{start}"' if start else ""
    return (
        '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\">"
        f'<C:comp-filter name="{component}"><C:time-range{start_attr} end="{end}"/>'
        f"</C:comp-filter></C:comp-filter></C:filter>{timezone_el}</C:calendar-query>"
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def dated_server(tmp_path: Path) -> Iterator[ServerThread]:
    running = ServerThread(make_settings(tmp_path), clock=ShiftedClock(NOW))
    running.start()
    for name, email in USERS.items():
        running.add_user(name, email)
    yield running
    running.stop()


@pytest.fixture
async def http(dated_server: ServerThread) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(session, dated_server.url.rstrip("/"), "alice")


async def put(http: Http, name: str, text: str) -> None:
    status, _, _ = await http.request("PUT", CAL + name, text, {"Content-Type": "text/calendar"})
    assert status == 201


async def found(http: Http, report: str) -> set[str]:
    status, _, answer = await http.request("REPORT", CAL, report, {"Depth": "1", "Content-Type": "application/xml"})
    assert status == 207, answer
    return {href.rsplit("/", 1)[-1] for href in re.findall(r"<D:href>([^<]+)</D:href>", answer.decode())}


def index_row(server: ServerThread, name: str) -> tuple:
    """(rows in the time table, indexed_until) of an object."""
    reader = server.services.db.reader()
    until = server.call(reader.execute_fetchall("SELECT id, indexed_until FROM objects WHERE name = ?", (name,)))
    rows = server.call(reader.execute_fetchall(
        "SELECT starts_at, ends_at, code FROM object_instances WHERE object_id = ?", (until[0][0],)))
    return [tuple(row) for row in rows], until[0][1]


async def set_calendar_timezone(http: Http, text: str) -> None:
    proppatch = (
        '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:set><D:prop><C:calendar-timezone><![CDATA[{text}]]></C:calendar-timezone></D:prop></D:set>"
        "</D:propertyupdate>"
    )
    status, _, answer = await http.request("PROPPATCH", CAL, proppatch, {"Content-Type": "application/xml"})
    assert status == 207 and b"200" in answer, answer


async def test_an_all_day_event_is_read_in_the_calendars_zone_and_the_querys(http: Http, dated_server: ServerThread) -> None:
    await put(http, "holiday.ics", body("holiday", "DTSTART;VALUE=DATE:20270615", "SUMMARY:Holiday"))
    rows, _ = index_row(dated_server, "holiday.ics")
    assert [code is not None for _, _, code in rows] == [True]  # kept as wall-clock time
    # In UTC the day is 2027-06-15T00:00Z to 2027-06-16T00:00Z.
    assert await found(http, query("VEVENT", "20270615T230000Z", "20270616T000000Z")) == {"holiday.ics"}
    await set_calendar_timezone(http, PAGO_PAGO)  # UTC-11: 11:00Z on the 15th to 11:00Z on the 16th
    assert await found(http, query("VEVENT", "20270616T105959Z", "20270616T110000Z")) == {"holiday.ics"}
    assert await found(http, query("VEVENT", "20270615T100000Z", "20270615T110000Z")) == set()
    # The query's own timezone element wins: UTC+14, 10:00Z on the 14th to 10:00Z on the 15th.
    assert await found(http, query("VEVENT", "20270614T100000Z", "20270614T100001Z", KIRITIMATI)) == {"holiday.ics"}
    assert await found(http, query("VEVENT", "20270615T100000Z", "20270616T000000Z", KIRITIMATI)) == set()


async def test_a_query_years_ahead_extends_and_stores_the_series_index(http: Http, dated_server: ServerThread) -> None:
    await put(http, "weekly.ics", body("weekly", "DTSTART:20261201T090000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY",
                                        "EXDATE:20310304T090000Z"))
    server = dated_server
    _, until = index_row(server, "weekly.ics")
    assert until == int(datetime(2027, 6, 8, 6, 0, tzinfo=timezone.utc).timestamp())  # half a year on
    assert await found(http, query("VEVENT", "20310225T000000Z", "20310226T000000Z")) == {"weekly.ics"}
    assert await found(http, query("VEVENT", "20310304T000000Z", "20310305T000000Z")) == set()  # the EXDATE
    rows, extended = index_row(server, "weekly.ics")
    assert extended > int(datetime(2031, 3, 5, tzinfo=timezone.utc).timestamp())
    assert max(start for start, _, _ in rows) > int(datetime(2031, 3, 5, tzinfo=timezone.utc).timestamp())
    # Now answered from the stored index, the same way.
    assert await found(http, query("VEVENT", "20310225T000000Z", "20310226T000000Z")) == {"weekly.ics"}
    assert await found(http, query("VEVENT", "20310225T100000Z", "20310226T000000Z")) == set()


async def test_a_query_decades_back_keeps_a_birthday_from_there(http: Http, dated_server: ServerThread) -> None:
    await put(http, "ada.ics", body("ada", "DTSTART;VALUE=DATE:19550312", "RRULE:FREQ=YEARLY", "SUMMARY:Ada"))
    reader = dated_server.services.db.reader()

    def kept_from() -> int | None:
        return dated_server.call(reader.execute_fetchall(
            "SELECT indexed_from FROM objects WHERE name = 'ada.ics'"))[0][0]

    rows, _ = index_row(dated_server, "ada.ics")
    assert len(rows) == 1  # next March's, not seventy
    assert kept_from() == int(datetime(2026, 6, 7, 6, 0, tzinfo=timezone.utc).timestamp())  # half a year back
    assert await found(http, query("VEVENT", "20270312T000000Z", "20270313T000000Z")) == {"ada.ics"}
    # Her birthday in 1990: before the rows, so the query parses the object and keeps it from there.
    assert await found(http, query("VEVENT", "19900312T000000Z", "19900313T000000Z")) == {"ada.ics"}
    assert kept_from() <= int(datetime(1990, 3, 12, tzinfo=timezone.utc).timestamp())
    rows, _ = index_row(dated_server, "ada.ics")
    assert len(rows) == 2027 - 1990 + 1
    assert await found(http, query("VEVENT", "19900313T000000Z", "19900314T000000Z")) == set()
    # A range without start, answered by the rows kept from 1990 on.
    assert await found(http, query("VEVENT", None, "20000101T000000Z")) == {"ada.ics"}


async def test_series_running_out_are_kept_ahead_by_the_server(http: Http, dated_server: ServerThread) -> None:
    server = dated_server
    await put(http, "weekly.ics", body("weekly", "DTSTART:20261201T090000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY"))
    await put(http, "once.ics", body("once", "DTSTART:20261210T090000Z", "DURATION:PT1H"))
    _, until = index_row(server, "weekly.ics")
    assert until == int(datetime(2027, 6, 8, 6, 0, tzinfo=timezone.utc).timestamp())
    # Nothing runs out yet: nothing to do.
    assert server.call(time_ranges.keep_ahead(server.services, holder_name())) == 0
    # Five months on, a month of rows is left: the series is kept a horizon past then.
    server.services.clock.offset += timedelta(days=150)
    assert server.call(time_ranges.keep_ahead(server.services, holder_name())) == 1
    rows, until = index_row(server, "weekly.ics")
    later = server.services.clock.now() + HORIZON
    assert abs(until - later.timestamp()) < 60
    assert max(start for start, _, _ in rows) > (later - timedelta(days=7)).timestamp()
    assert index_row(server, "once.ics")[1] == BEYOND
    # Answered from the rows, without parsing: the same answers.
    assert await found(http, query("VEVENT", "20271012T000000Z", "20271013T000000Z")) == {"weekly.ics"}
    assert index_row(server, "weekly.ics")[1] == until


async def test_a_row_written_before_the_index_is_parsed_once_then_indexed(http: Http, dated_server: ServerThread) -> None:
    await put(http, "old.ics", body("old", "DTSTART;VALUE=DATE:20270101", "RRULE:FREQ=YEARLY"))
    server = dated_server
    server.call(server.services.db.write(lambda raw: raw.execute(
        "UPDATE objects SET indexed_until = NULL")))
    server.call(server.services.db.write(lambda raw: raw.execute("DELETE FROM object_instances")))
    assert await found(http, query("VEVENT", "20280101T000000Z", "20280101T010000Z")) == {"old.ics"}
    rows, until = index_row(server, "old.ics")
    assert rows and all(code is not None for _, _, code in rows) and until is not None
    assert await found(http, query("VEVENT", "20280102T000000Z", "20280102T010000Z")) == set()


async def test_tasks_with_and_without_dates(http: Http, dated_server: ServerThread) -> None:
    await put(http, "someday.ics", body("someday", "SUMMARY:Clean the garage", component="VTODO"))
    await put(http, "due.ics", body("due", "DUE:20270110T170000Z", component="VTODO"))
    await put(http, "rent.ics", body("rent", "DUE;VALUE=DATE:20270101", "RRULE:FREQ=MONTHLY", component="VTODO"))
    assert index_row(dated_server, "someday.ics")[1] == BEYOND
    assert await found(http, query("VTODO", "20270110T000000Z", "20270111T000000Z")) == {"someday.ics", "due.ics"}
    # A task due at midnight belongs to the range that ends then (RFC 4791 9.9: start < DUE <= end).
    assert await found(http, query("VTODO", "20270228T120000Z", "20270301T000000Z")) == {"someday.ics", "rent.ics"}
    assert await found(http, query("VTODO", "20270301T000000Z", "20270302T000000Z")) == {"someday.ics"}


async def test_free_busy_reads_all_day_events_in_the_calendars_zone(http: Http) -> None:
    await put(http, "holiday.ics", body("holiday", "DTSTART;VALUE=DATE:20270615"))
    await put(http, "standup.ics", body("standup", "DTSTART:20261201T090000Z", "DURATION:PT15M",
                                        "RRULE:FREQ=DAILY", "STATUS:TENTATIVE"))
    await set_calendar_timezone(http, PAGO_PAGO)
    report = (
        '<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
        '<C:time-range start="20270615T000000Z" end="20270617T000000Z"/></C:free-busy-query>'
    )
    status, _, answer = await http.request("REPORT", CAL, report, {"Depth": "1", "Content-Type": "application/xml"})
    assert status == 200
    text = answer.decode().replace("\r\n ", "")
    assert "FREEBUSY;FBTYPE=BUSY:20270615T110000Z/20270616T110000Z" in text
    assert text.count("FBTYPE=BUSY-TENTATIVE") == 2  # the stand-up on the 15th and the 16th


async def test_objects_stored_before_the_table_are_indexed_in_the_background(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = ServerThread(settings, clock=ShiftedClock(NOW))
    first.start()
    for name, email in USERS.items():
        first.add_user(name, email)
    async with aiohttp.ClientSession() as session:
        client = Http(session, first.url.rstrip("/"), "alice")
        for n in range(45):  # more than one batch
            await put(client, f"e{n}.ics", body(f"e{n}", f"DTSTART:202701{n % 28 + 1:02d}T090000Z", "DURATION:PT1H",
                                                  *(["RRULE:FREQ=WEEKLY"] if n % 3 == 0 else [])))
    # As migration 0011 leaves an installation: objects without rows or a horizon.
    first.call(first.services.db.write(lambda raw: raw.execute("UPDATE objects SET indexed_until = NULL")))
    first.call(first.services.db.write(lambda raw: raw.execute("DELETE FROM object_instances")))
    first.stop()

    second = ServerThread(settings, clock=ShiftedClock(NOW))
    second.start()
    try:
        reader = second.services.db.reader()
        for _ in range(200):
            left = second.call(reader.execute_fetchall("SELECT count(*) FROM objects WHERE indexed_until IS NULL"))
            if left[0][0] == 0:
                break
            time.sleep(0.05)
        assert left[0][0] == 0
        rows = second.call(reader.execute_fetchall("SELECT count(DISTINCT object_id) FROM object_instances"))
        assert rows[0][0] == 45
        async with aiohttp.ClientSession() as session:
            client = Http(session, second.url.rstrip("/"), "alice")
            assert await found(client, query("VEVENT", "20270103T000000Z", "20270104T000000Z")) == {"e2.ics", "e30.ics"}
            # A weekly series (e0 starts 2027-01-01) is answered from its rows a month on.
            assert "e0.ics" in await found(client, query("VEVENT", "20270129T000000Z", "20270130T000000Z"))
    finally:
        second.stop()

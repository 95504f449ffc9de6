"""Rules denser than [limits] max_instances a year are refused (CALDAV:max-instances).

Every time-range query walks a recurrence rule from its start to the window
it asks about, so one minutely event would make every query of its
calendar take seconds.  A PUT of such a rule gets 403 with the CalDAV
precondition and changes nothing; ordinary rules, however long, are taken.
"""

from __future__ import annotations

import aiohttp
import pytest
from lxml import etree

from caldav_sched.domain.timespan import exceeds_instances_per_year
from tests.conftest import Http, ServerThread, make_settings
from tests.dav.helpers import CAL, ICS, error_condition
from tests.query._query_helpers import cal, event

C = "{urn:ietf:params:xml:ns:caldav}"
EVERY_HALF_HOUR = "FREQ=DAILY;BYHOUR=" + ",".join(str(h) for h in range(24)) + ";BYMINUTE=0,30"

RULES = [
    # (rule, DTSTART, more than 3,000 within a year of the first instance?)
    ("FREQ=DAILY", "DTSTART:20260105T100000Z", False),
    ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "DTSTART:20260105T100000Z", False),
    ("FREQ=MONTHLY;BYMONTHDAY=1,2,3,4,5,6,7,8,9,10", "DTSTART:20260105T100000Z", False),
    ("FREQ=DAILY;BYHOUR=8,14,20", "DTSTART:20260105T080000Z", False),  # 1,095 a year
    ("FREQ=HOURLY;INTERVAL=3", "DTSTART:20260105T100000Z", False),  # 2,920 a year
    ("FREQ=HOURLY;COUNT=24", "DTSTART:20260105T100000Z", False),
    ("FREQ=MINUTELY;COUNT=3000", "DTSTART:20260105T100000Z", False),
    ("FREQ=DAILY;COUNT=5000", "DTSTART:20260105T100000Z", False),  # long, not dense
    ("FREQ=HOURLY", "DTSTART:20260105T100000Z", True),  # 8,760 a year
    ("FREQ=HOURLY", "DTSTART;TZID=Europe/Berlin:20260105T100000", True),
    ("FREQ=MINUTELY", "DTSTART:20260105T100000Z", True),
    ("FREQ=SECONDLY;COUNT=5000", "DTSTART:20260105T100000Z", True),
    ("FREQ=MINUTELY;COUNT=100000", "DTSTART:20260105T100000Z", True),
    ("FREQ=MINUTELY;BYMONTH=12", "DTSTART:20260105T100000Z", True),  # dense from December on
    (EVERY_HALF_HOUR, "DTSTART:20260105T000000Z", True),
]


@pytest.mark.parametrize("rule, start, dense", RULES, ids=[r[0][:40] for r in RULES])
def test_rules_are_counted_per_year_from_their_first_instance(rule, start, dense):
    calendar = cal(event(start, "DURATION:PT15M", f"RRULE:{rule}"))
    assert exceeds_instances_per_year(calendar, 3000) is dense


def test_the_limit_is_a_setting_and_counts_daily_rules_too_when_low():
    daily = cal(event("DTSTART:20260105T100000Z", "RRULE:FREQ=DAILY"))
    assert not exceeds_instances_per_year(daily, 3000)
    assert exceeds_instances_per_year(daily, 100)
    assert not exceeds_instances_per_year(cal(event("DTSTART:20260105T100000Z")), 1)


def test_overrides_and_rules_without_a_start_are_not_counted():
    override = event("RECURRENCE-ID:20260105T100000Z", "DTSTART:20260105T100000Z",
                     "RRULE:FREQ=MINUTELY")
    assert not exceeds_instances_per_year(cal(override), 3000)
    assert not exceeds_instances_per_year(cal(event("RRULE:FREQ=MINUTELY")), 3000)


def dav_event(uid: str, rule: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T100000Z\r\n"
        f"DURATION:PT15M\r\nSUMMARY:Ping\r\nRRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


async def test_a_minutely_event_is_refused_and_changes_nothing(http):
    status, _, body = await http.request("PUT", CAL + "ping.ics", dav_event("ping", "FREQ=MINUTELY"), ICS)
    assert status == 403
    assert error_condition(body) == C + "max-instances"
    assert b"3000" in body  # the description says what the limit is
    assert (await http.request("GET", CAL + "ping.ics"))[0] == 404


async def test_replacing_an_event_with_a_dense_rule_keeps_the_old_one(http):
    status, headers, _ = await http.request("PUT", CAL + "ping.ics", dav_event("ping", "FREQ=DAILY"), ICS)
    assert status == 201
    etag = headers["ETag"]
    status, _, body = await http.request(
        "PUT", CAL + "ping.ics", dav_event("ping", "FREQ=SECONDLY;COUNT=5000"), ICS
    )
    assert status == 403 and error_condition(body) == C + "max-instances"
    status, headers, data = await http.request("GET", CAL + "ping.ics")
    assert status == 200 and headers["ETag"] == etag and b"FREQ=DAILY" in data


async def test_ordinary_long_rules_are_stored(http):
    for uid, rule in [("daily", "FREQ=DAILY"), ("shifts", "FREQ=HOURLY;INTERVAL=3"),
                      ("count", "FREQ=HOURLY;COUNT=24")]:
        status, _, _ = await http.request("PUT", CAL + f"{uid}.ics", dav_event(uid, rule), ICS)
        assert status == 201, rule


async def test_the_calendar_announces_its_limit(tmp_path):
    running = ServerThread(make_settings(tmp_path, limits={"max_instances": 500}))
    running.start()
    running.add_user("alice", "alice@example.com")
    try:
        async with aiohttp.ClientSession() as session:
            http = Http(session, running.url.rstrip("/"), "alice")
            status, _, body = await http.request(
                "PROPFIND", CAL,
                '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                "<D:prop><C:max-instances/></D:prop></D:propfind>",
                {"Depth": "0"},
            )
            assert status == 207
            assert etree.fromstring(body).findtext(f".//{C}max-instances") == "500"
            # Three a day is 1,095 a year: above this server's limit.
            status, _, body = await http.request(
                "PUT", CAL + "pills.ics", dav_event("pills", "FREQ=DAILY;BYHOUR=8,14,20"), ICS
            )
            assert status == 403 and error_condition(body) == C + "max-instances"
    finally:
        running.stop()

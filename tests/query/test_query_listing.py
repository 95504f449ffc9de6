"""A time-range query asking only simple properties is a listing.

A calendar view's first question (getetag, with getcontenttype and the
like, of everything in a range) is answered from the time table and the
listing index without reading an object's row, and rendered from one
template.  Its answer must be the one the general path gives, byte for
byte: that path is taken here by adding a filter the index cannot decide
(a prop-filter every event passes).  Names and collection paths with
characters that need escaping (in the URL, in the XML, in a format string)
are among them, as are a series asked about past what its rows keep (parsed,
then listed) and an all-day event (read in the query's zone).  Random
property sets, ranges (open, odd, malformed) and query zones get the same
answer, or the same refusal, from both paths.  On both backends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, unquote

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.conftest import BACKENDS, USERS, Http, ServerThread, make_settings
from tests.dav.helpers import SyncClient

HOME = "/home/alice/calendar/"
SIMPLE = ("D:getcontentlength", "D:resourcetype", "D:getetag", "D:getlastmodified", "D:getcontenttype")

# name -> event lines; the first five are in December 2026's second week.
EVENTS = {
    "plain.ics": ("DTSTART:20261208T090000Z", "DURATION:PT1H"),
    "with space.ics": ("DTSTART;TZID=Europe/Berlin:20261209T100000", "DURATION:PT30M"),
    "a&b<c>.ics": ("DTSTART:20261210T120000Z", "DURATION:PT1H"),
    "{braces} {0}.ics": ("DTSTART:20261211T080000Z", "DURATION:PT2H"),
    "ünïcødé.ics": ("DTSTART;VALUE=DATE:20261212", "DURATION:P1D"),
    "weekly.ics": ("DTSTART:20260105T070000Z", "DURATION:PT15M", "RRULE:FREQ=WEEKLY"),
    "outside.ics": ("DTSTART:20270301T090000Z", "DURATION:PT1H"),
}
IN_WEEK = {"plain.ics", "with space.ics", "a&b<c>.ics", "{braces} {0}.ics", "ünïcødé.ics", "weekly.ics"}
BERLIN = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def event(name: str, lines: tuple[str, ...]) -> str:
    inner = "\r\n".join((f"UID:{name}", "DTSTAMP:20261201T000000Z", "SUMMARY:x", *lines))
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{BERLIN}BEGIN:VEVENT\r\n"
            f"{inner}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def query(start: str, end: str, *, decidable: bool, props: tuple[str, ...] = SIMPLE) -> str:
    # A prop-filter testing only that UID is there: true of every event,
    # and not something the time table answers, so the objects are parsed.
    undecidable = "" if decidable else '<C:prop-filter name="UID"/>'
    return (
        '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:prop>{''.join(f'<{p}/>' for p in props)}</D:prop><C:filter>"
        '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{start}" end="{end}"/>{undecidable}'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )


async def report(http: Http, collection: str, body: str) -> bytes:
    status, _, answer = await http.request(
        "REPORT", collection, body, {"Depth": "1", "Content-Type": "application/xml"}
    )
    assert status == 207, answer
    return answer


def values(answer: bytes) -> dict[str, dict[str, str]]:
    """href -> {property: text} of a multistatus, read as XML."""
    ns = {"D": "DAV:"}
    found = {}
    for response in etree.fromstring(answer).findall("D:response", ns):
        props = response.find("D:propstat/D:prop", ns)
        found[response.findtext("D:href", namespaces=ns)] = {
            etree.QName(el).localname: el.text or "" for el in (props if props is not None else [])
        }
    return found


async def calendar_with_events(http: Http, path: str) -> str:
    collection = HOME + quote(path) + "/"
    if path != "event":
        assert (await http.request("MKCALENDAR", collection))[0] == 201
    for name, lines in EVENTS.items():
        status, _, answer = await http.request(
            "PUT", collection + quote(name), event(name, lines), {"Content-Type": "text/calendar"}
        )
        assert status == 201, answer
    return collection


@pytest.mark.parametrize("path", ["event", "a {b} & c"])
async def test_a_listing_answers_byte_for_byte_as_the_general_path(http: Http, path: str) -> None:
    collection = await calendar_with_events(http, path)
    listed = await report(http, collection, query("20261207T000000Z", "20261214T000000Z", decidable=True))
    parsed = await report(http, collection, query("20261207T000000Z", "20261214T000000Z", decidable=False))
    assert listed == parsed
    names = [unquote(href.rsplit("/", 1)[1]) for href in re.findall(r"<D:href>([^<]+)</D:href>", listed.decode())]
    assert names == sorted(names)
    # The same texts as the element tree gives the same objects (PROPFIND).
    _, _, propfind = await http.request(
        "PROPFIND", collection,
        '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
        + "".join(f"<{p}/>" for p in SIMPLE) + "</D:prop></D:propfind>",
        {"Depth": "1", "Content-Type": "application/xml"},
    )
    every = values(propfind)
    answer = values(listed)
    assert {href.rsplit("/", 1)[1] for href in answer} == {quote(name) for name in IN_WEEK}
    for href, texts in answer.items():
        assert texts == every[href]


async def test_a_listing_past_what_a_series_keeps_parses_it_once(http: Http) -> None:
    collection = await calendar_with_events(http, "event")
    # Five years ahead: the weekly series' rows do not reach it; parsed.
    listed = await report(http, collection, query("20311201T000000Z", "20311208T000000Z", decidable=True))
    parsed = await report(http, collection, query("20311201T000000Z", "20311208T000000Z", decidable=False))
    assert listed == parsed
    assert list(values(listed)) == [collection + "weekly.ics"]


async def test_a_listing_of_etags_alone_and_an_empty_one(http: Http) -> None:
    collection = await calendar_with_events(http, "event")
    week = ("20261207T000000Z", "20261214T000000Z")
    listed = await report(http, collection, query(*week, decidable=True, props=("D:getetag",)))
    parsed = await report(http, collection, query(*week, decidable=False, props=("D:getetag",)))
    assert listed == parsed
    assert len(values(listed)) == len(IN_WEEK)
    empty = ("18010101T000000Z", "18010108T000000Z")
    listed = await report(http, collection, query(*empty, decidable=True))
    assert listed == await report(http, collection, query(*empty, decidable=False))
    assert values(listed) == {}


@pytest.fixture
def odd_base_server(tmp_path: Path) -> Iterator[ServerThread]:
    # Behind a proxy at a path with a character XML escapes: the listing
    # writes the base into its template once, escaped.
    running = ServerThread(make_settings(tmp_path, server={"base_path": "/cal&dav"}))
    running.start()
    for name, email in USERS.items():
        running.add_user(name, email)
    yield running
    running.stop()


async def test_a_listing_under_a_base_path_that_needs_escaping(odd_base_server: ServerThread) -> None:
    async with aiohttp.ClientSession() as session:
        http = Http(session, odd_base_server.url.rstrip("/"), "alice")
        collection = await calendar_with_events(http, "event")
        week = ("20261207T000000Z", "20261214T000000Z")
        listed = await report(http, collection, query(*week, decidable=True))
        parsed = await report(http, collection, query(*week, decidable=False))
    assert listed == parsed
    assert b"<D:href>/cal&amp;dav/home/alice/calendar/event/plain.ics</D:href>" in listed


# Odd input: random property sets, ranges and zones, the listing against
# the general path (the same query with a prop-filter every event passes).
ZONE_ELEMENTS = ["", PAGO_PAGO_ELEMENT := (
    "<C:timezone><![CDATA[BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Pacific/Pago_Pago\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
    "TZOFFSETFROM:-1100\r\nTZOFFSETTO:-1100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n"
    "]]></C:timezone>"), PAGO_PAGO_ELEMENT.replace("Pago_Pago", "Kiritimati").replace("-1100", "+1400"),
    "<C:timezone>not a calendar</C:timezone>"]
instants = st.one_of(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1)).map(
        lambda moment: moment.strftime("%Y%m%dT%H%M%SZ")),
    st.sampled_from(["20261207T000000Z", "20261214T000000Z", "20261212T000000Z", "2026-12-07", "", "x"]),
)


@pytest.fixture
def sync_client(server: ServerThread) -> SyncClient:
    client = SyncClient(server.url)
    for name, lines in EVENTS.items():
        status, _, _ = client("PUT", HOME + "event/" + quote(name), event(name, lines).encode(),
                              **{"Content-Type": "text/calendar"})
        assert status == 201
    return client


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    props=st.lists(st.sampled_from(SIMPLE), min_size=1, max_size=6),
    component=st.sampled_from(["VEVENT", "VEVENT", "VTODO"]),
    start=st.one_of(st.none(), instants),
    end=st.one_of(st.none(), instants),
    zone=st.sampled_from(ZONE_ELEMENTS),
)
def test_random_listings_answer_as_the_general_path(
    sync_client: SyncClient, props: list[str], component: str, start: str | None,
    end: str | None, zone: str,
) -> None:
    bounds = "".join(f' {key}="{value}"' for key, value in (("start", start), ("end", end)) if value is not None)
    answers = []
    for extra in ("", '<C:prop-filter name="UID"/>'):
        body = (
            '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:prop>{''.join(f'<{p}/>' for p in props)}</D:prop><C:filter>"
            f'<C:comp-filter name="VCALENDAR"><C:comp-filter name="{component}">'
            f"<C:time-range{bounds}/>{extra}</C:comp-filter></C:comp-filter></C:filter>{zone}"
            "</C:calendar-query>"
        )
        status, _, answer = sync_client("REPORT", HOME + "event/", body, Depth="1")
        assert status in (207, 400, 403), (status, body, answer)
        answers.append((status, answer))
    assert answers[0] == answers[1]

"""Hypothesis strategies for the odd-input tier, and the registry of what is fuzzed.

Every input path of the server is one line of ``HTTP_TARGETS`` or
``MAIL_TARGETS``: its name, how it is sent, the real bodies it starts from
and the mutations applied to them.  ``tests/fuzz/test_http_fuzz.py`` and
``tests/fuzz/test_mail_fuzz.py`` run a storm per line, so a new endpoint is
fuzzed by adding one line here (and, if its bodies are of a new kind, a
tuple of seed bodies).

Mutations keep the input close to what real, careless or broken clients
send: byte flips, truncations, duplicated or dropped lines, a second value
of a single-valued property, and odd values spliced into property values
(control characters, a TZID hundreds of characters long, malformed DATE,
DATE-TIME and integer values, XML markup, non-UTF-8 bytes).

How many cases: the ``ci`` profile (the default) runs a few thousand in
all across the tier; ``CALDAV_SCHED_FUZZ_CASES=100000`` spreads that many
over the targets (see the README, "Reliability").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from urllib.parse import quote_from_bytes
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# -- how many cases ---------------------------------------------------------

# The default: about this many cases in all across the tier, so the suite stays fast.
DEFAULT_TOTAL_CASES = 3000
TOTAL_CASES = int(os.environ.get("CALDAV_SCHED_FUZZ_CASES", DEFAULT_TOTAL_CASES))


def storm_settings(share: int) -> settings:
    """Hypothesis settings for one storm that takes ``share`` of ``all_shares``."""
    examples = max(20, TOTAL_CASES * share // all_shares())
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        print_blob=True,
    )


# -- seed bodies -------------------------------------------------------------

CAL = "/home/alice/calendar/event/"
CORPUS = Path(__file__).resolve().parents[1] / "inbound" / "corpus"

_VCAL = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fuzz//EN\r\n"
_END = "END:VCALENDAR\r\n"

EVENT = (
    _VCAL + "BEGIN:VEVENT\r\nUID:fuzz-event\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART:20260105T100000Z\r\nDTEND:20260105T110000Z\r\nSUMMARY:Planning\r\n"
    "DESCRIPTION:Agenda\\, notes\\nand more\r\nLOCATION:Room 1\r\nSEQUENCE:0\r\n"
    "END:VEVENT\r\n" + _END
)
TASK = (
    _VCAL + "BEGIN:VTODO\r\nUID:fuzz-task\r\nDTSTAMP:20260101T000000Z\r\n"
    "DUE;VALUE=DATE:20260110\r\nPRIORITY:1\r\nPERCENT-COMPLETE:40\r\nSTATUS:IN-PROCESS\r\n"
    "SUMMARY:Write the report\r\nEND:VTODO\r\n" + _END
)
ZONE = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
    "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n"
    "DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n"
    "DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
)
ZONED_EVENT = (
    _VCAL + ZONE + "BEGIN:VEVENT\r\nUID:fuzz-zoned\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20260105T100000\r\nDTEND;TZID=Europe/Berlin:20260105T110000\r\n"
    "SUMMARY:Standup\r\nEND:VEVENT\r\n" + _END
)
RECURRING_WITH_OVERRIDES = (
    _VCAL + ZONE + "BEGIN:VEVENT\r\nUID:fuzz-series\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20260105T090000\r\nDURATION:PT30M\r\n"
    "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=20\r\nEXDATE;TZID=Europe/Berlin:20260107T090000\r\n"
    "RDATE;TZID=Europe/Berlin:20260110T090000\r\nSUMMARY:Weekly\r\n"
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:Soon\r\nEND:VALARM\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:fuzz-series\r\nDTSTAMP:20260101T000000Z\r\n"
    "RECURRENCE-ID;TZID=Europe/Berlin:20260112T090000\r\n"
    "DTSTART;TZID=Europe/Berlin:20260112T100000\r\nDURATION:PT45M\r\nSUMMARY:Weekly (moved)\r\n"
    "END:VEVENT\r\n" + _END
)
WITH_ATTENDEES = (
    _VCAL + "BEGIN:VEVENT\r\nUID:fuzz-meeting\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART:20300105T100000Z\r\nDTEND:20300105T110000Z\r\nSUMMARY:Review\r\nSEQUENCE:0\r\n"
    "ORGANIZER;CN=Alice:mailto:alice@example.com\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.com\r\n"
    "ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.com\r\n"
    'ATTENDEE;CN="Dana, Ext";ROLE=OPT-PARTICIPANT;RSVP=TRUE:mailto:dana@elsewhere.example\r\n'
    "END:VEVENT\r\n" + _END
)
RECURRING_MEETING = (
    _VCAL + ZONE + "BEGIN:VEVENT\r\nUID:fuzz-series-meeting\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20300107T090000\r\nDTEND;TZID=Europe/Berlin:20300107T100000\r\n"
    "RRULE:FREQ=WEEKLY;UNTIL=20300601T000000Z\r\nSUMMARY:Sync\r\n"
    "ORGANIZER:mailto:alice@example.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:carol@example.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:erin@elsewhere.example\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:fuzz-series-meeting\r\nDTSTAMP:20260101T000000Z\r\n"
    "RECURRENCE-ID;TZID=Europe/Berlin:20300114T090000\r\n"
    "DTSTART;TZID=Europe/Berlin:20300114T110000\r\nDTEND;TZID=Europe/Berlin:20300114T120000\r\n"
    "SUMMARY:Sync (moved)\r\nORGANIZER:mailto:alice@example.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:carol@example.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:erin@elsewhere.example\r\n"
    "END:VEVENT\r\n" + _END
)

ICALENDAR_BODIES = tuple(
    body.encode()
    for body in (EVENT, TASK, ZONED_EVENT, RECURRING_WITH_OVERRIDES, WITH_ATTENDEES, RECURRING_MEETING)
)

_XML = '<?xml version="1.0" encoding="utf-8"?>\n'
_NS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"'

PROPFIND_BODIES = tuple(b.encode() for b in (
    _XML + f'<D:propfind {_NS}><D:prop><D:getetag/><D:displayname/><D:resourcetype/>'
    '<C:calendar-home-set/><C:supported-calendar-component-set/><D:sync-token/>'
    '<D:current-user-principal/></D:prop></D:propfind>',
    _XML + f'<D:propfind {_NS}><D:allprop/></D:propfind>',
    _XML + f'<D:propfind {_NS}><D:propname/></D:propfind>',
))
PROPPATCH_BODIES = tuple(b.encode() for b in (
    _XML + f'<D:propertyupdate {_NS} xmlns:A="http://apple.com/ns/ical/"><D:set><D:prop>'
    '<D:displayname>Work</D:displayname><A:calendar-color>#FF0000FF</A:calendar-color>'
    '<C:calendar-description>Things to do</C:calendar-description>'
    '<C:calendar-timezone>BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n'
    + ZONE.replace("\r\n", "&#13;\n") + 'END:VCALENDAR\r\n</C:calendar-timezone>'
    '</D:prop></D:set><D:remove><D:prop><X:odd xmlns:X="urn:x"/></D:prop></D:remove>'
    '</D:propertyupdate>',
    _XML + f'<D:propertyupdate {_NS}><D:set><D:prop><C:supported-calendar-component-set>'
    '<C:comp name="VEVENT"/></C:supported-calendar-component-set>'
    '<X:note xmlns:X="urn:x">kept <b>as is</b></X:note></D:prop></D:set></D:propertyupdate>',
))
MKCALENDAR_BODIES = tuple(b.encode() for b in (
    _XML + f'<C:mkcalendar {_NS}><D:set><D:prop><D:displayname>New</D:displayname>'
    '<C:supported-calendar-component-set><C:comp name="VEVENT"/><C:comp name="VTODO"/>'
    '</C:supported-calendar-component-set><C:calendar-description>d</C:calendar-description>'
    '</D:prop></D:set></C:mkcalendar>',
    _XML + f'<D:mkcol {_NS}><D:set><D:prop><D:resourcetype><D:collection/><C:calendar/>'
    '</D:resourcetype><D:displayname>Extended</D:displayname></D:prop></D:set></D:mkcol>',
))
CALENDAR_QUERY_BODIES = tuple(b.encode() for b in (
    _XML + f'<C:calendar-query {_NS}><D:prop><D:getetag/><C:calendar-data>'
    '<C:expand start="20260101T000000Z" end="20260201T000000Z"/></C:calendar-data></D:prop>'
    '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
    '<C:time-range start="20260101T000000Z" end="20260201T000000Z"/>'
    '<C:prop-filter name="SUMMARY"><C:text-match collation="i;unicode-casemap" '
    'negate-condition="no">plan</C:text-match></C:prop-filter>'
    '<C:prop-filter name="ATTENDEE"><C:param-filter name="PARTSTAT"><C:text-match>NEEDS-ACTION'
    '</C:text-match></C:param-filter></C:prop-filter>'
    '</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>',
    _XML + f'<C:calendar-query {_NS}><D:prop><D:getetag/><C:calendar-data>'
    '<C:limit-recurrence-set start="20260101T000000Z" end="20260301T000000Z"/>'
    '<C:comp name="VCALENDAR"><C:prop name="VERSION"/><C:comp name="VTODO"><C:prop name="UID"/>'
    '</C:comp></C:comp></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
    '<C:comp-filter name="VTODO"><C:prop-filter name="COMPLETED"><C:is-not-defined/>'
    '</C:prop-filter></C:comp-filter></C:comp-filter></C:filter>'
    '<C:timezone>BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\n'
    + ZONE.replace("\r\n", "&#13;\n") + 'END:VCALENDAR\r\n</C:timezone></C:calendar-query>',
))
MULTIGET_BODIES = (
    (_XML + f'<C:calendar-multiget {_NS}><D:prop><D:getetag/><C:calendar-data/></D:prop>'
     f'<D:href>{CAL}stored-1.ics</D:href><D:href>{CAL}stored-2.ics</D:href>'
     f'<D:href>{CAL}missing.ics</D:href><D:href>/home/bob/calendar/event/x.ics</D:href>'
     '</C:calendar-multiget>').encode(),
)
SYNC_BODIES = tuple(b.encode() for b in (
    _XML + f'<D:sync-collection {_NS}><D:sync-token/><D:sync-level>1</D:sync-level>'
    '<D:prop><D:getetag/><D:getcontenttype/></D:prop></D:sync-collection>',
    _XML + f'<D:sync-collection {_NS}><D:sync-token>http://caldav-sched.invalid/sync/1</D:sync-token>'
    '<D:sync-level>1</D:sync-level><D:limit><D:nresults>2</D:nresults></D:limit>'
    '<D:prop><D:getetag/></D:prop></D:sync-collection>',
))
FREE_BUSY_BODIES = (
    (_XML + f'<C:free-busy-query {_NS}><C:time-range start="20260101T000000Z" '
     'end="20260301T000000Z"/></C:free-busy-query>').encode(),
)
PRINCIPAL_SEARCH_BODIES = tuple(b.encode() for b in (
    _XML + f'<D:principal-property-search {_NS} test="anyof"><D:property-search><D:prop>'
    '<D:displayname/></D:prop><D:match>ali</D:match></D:property-search><D:property-search>'
    '<D:prop><C:calendar-user-address-set/></D:prop><D:match>mailto:bob</D:match>'
    '</D:property-search><D:prop><D:displayname/><C:calendar-home-set/></D:prop>'
    '</D:principal-property-search>',
    _XML + f'<D:principal-search-property-set {_NS}/>',
))
OUTBOX_FREE_BUSY = (
    _VCAL + "METHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\nUID:fuzz-fb\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART:20260101T000000Z\r\nDTEND:20260108T000000Z\r\n"
    "ORGANIZER:mailto:alice@example.com\r\nATTENDEE:mailto:bob@example.com\r\n"
    "ATTENDEE:mailto:nobody@elsewhere.example\r\nEND:VFREEBUSY\r\n" + _END
).encode()

# Reply mails: the inbound corpus (real clients' shapes), all addressed with one token.
REPLY_TOKEN = "abcdefghijklmnopqrstuvwxyz"
MAIL_BODIES = tuple(
    p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))
    if p.name not in ("garbage_bytes.eml", "oversize_calendar.eml")
)

# -- mutations ----------------------------------------------------------------

# Properties that RFC 5545 allows once per component.
SINGLE_VALUED = (
    "UID", "DTSTAMP", "DTSTART", "DTEND", "DURATION", "DUE", "SUMMARY", "DESCRIPTION",
    "LOCATION", "ORGANIZER", "SEQUENCE", "STATUS", "PRIORITY", "RECURRENCE-ID", "RRULE",
    "TRANSP", "CLASS", "PERCENT-COMPLETE", "TZID", "VERSION", "PRODID", "METHOD", "TRIGGER",
)
CONTROL = st.sampled_from([chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 127)])
ODD_VALUES = st.one_of(
    st.builds(lambda c, s: s + c + s, CONTROL, st.sampled_from(["", "a", "mailto:x@y.z"])),
    st.sampled_from([
        "", " ", ":", ";", "\\", "\\n", '"', "^", "=", "<b>", "]]>", "&", "&amp;", "<x:y/>",
        "20260230", "20261301T250000Z", "2026-01-05", "20260105T1000", "19000101T000000Z",
        "99991231T235959Z", "00000000", "20260105TXXXXXXZ", "P", "PT", "-P1Y2M", "P9999999999W",
        "-1", "x", "1e9", "99999999999999999999999", "0x10", "NaN", "FREQ=", "FREQ=SECONDLY",
        "FREQ=WEEKLY;COUNT=x", "FREQ=DAILY;UNTIL=2026", "FREQ=MONTHLY;BYDAY=99MO", "FREQ=YEARLY;BYMONTH=13",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",  # no instance at all
        "mailto:", "mailto:a@", "mailto:@b", "mailto:a b@c", "mailto:a@b\r\nBcc: x@y",
        "mailto:<x>@y", "http://x/", "urn:uuid:1", "mailto:" + "a" * 300 + "@example.com",
        "\u2028", "\ufeff", "\U0001f600", "\ud7ff", "é" * 40,
    ]),
    st.text(max_size=30),
)
ODD_PARAMS = st.sampled_from([
    ";TZID=" + "Europe/" + "A" * 400, ";TZID=../../../../etc/passwd", ";TZID=", ';TZID=""',
    ";TZID=Mars/Olympus", ";TZID=\x01", ";VALUE=DATE", ";VALUE=DATE-TIME", ";VALUE=PERIOD",
    ";VALUE=BOGUS", ";PARTSTAT=", ";PARTSTAT=\x00", ";RSVP=maybe", ";CN=\x07", ';CN="a\x00b"',
    ";SCHEDULE-AGENT=CLIENT", ";SCHEDULE-AGENT=x", ";RANGE=THISANDFUTURE", ";X-A=" + "b" * 200,
    ";", ";=", ";A", ';CN="unterminated',
])


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


@st.composite
def icalendar_mutation(draw: st.DrawFn, seed: bytes) -> bytes:
    """One real iCalendar body with one to four careless edits."""
    lines = _lines(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from([
            "duplicate-property", "splice-value", "splice-param", "duplicate-line", "drop-line",
            "flip", "truncate", "insert-bytes",
        ]))
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        line = lines[at]
        if kind == "duplicate-property":
            candidates = [i for i, l in enumerate(lines) if l.split(b":")[0].split(b";")[0].decode(
                "latin-1").upper() in SINGLE_VALUED]
            if candidates:
                at = draw(st.sampled_from(candidates))
                name = lines[at].split(b":", 1)[0]
                value = draw(st.one_of(st.just(lines[at].split(b":", 1)[-1]), ODD_VALUES.map(
                    lambda v: v.encode("utf-8", "surrogatepass"))))
                lines.insert(at + draw(st.integers(0, 1)), name + b":" + value.rstrip(b"\r") + b"\r")
        elif kind == "splice-value":
            name, sep, _ = line.partition(b":")
            if sep:
                value = draw(ODD_VALUES).encode("utf-8", "surrogatepass")
                lines[at] = name + b":" + value + b"\r"
        elif kind == "splice-param":
            name, sep, value = line.partition(b":")
            if sep and not name.startswith((b"BEGIN", b"END")):
                lines[at] = name + draw(ODD_PARAMS).encode("utf-8", "surrogatepass") + b":" + value
        elif kind == "duplicate-line":
            lines[at:at] = [line] * draw(st.integers(1, 3))
        elif kind == "drop-line":
            del lines[at]
        else:
            data = bytearray(b"\n".join(lines))
            if not data:
                break
            where = draw(st.integers(0, len(data) - 1))
            if kind == "flip":
                data[where] = draw(st.integers(0, 255))
            elif kind == "truncate":
                del data[where:]
            else:
                data[where:where] = draw(st.binary(min_size=1, max_size=8))
            lines = _lines(bytes(data))
    return b"\n".join(lines)


@st.composite
def xml_mutation(draw: st.DrawFn, seed: bytes) -> bytes:
    """One real WebDAV/CalDAV XML body with a few careless edits."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        kind = draw(st.sampled_from([
            "splice-text", "splice-attribute", "flip", "truncate", "repeat", "drop-element",
            "insert-markup",
        ]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "splice-text":
            # Odd character data right after a start tag.
            close = data.find(b">", at)
            if close >= 0:
                text = draw(ODD_VALUES).encode("utf-8", "surrogatepass")
                data[close + 1:close + 1] = text.replace(b"<", b"&lt;").replace(b"&", b"&amp;") \
                    if draw(st.booleans()) else text
        elif kind == "splice-attribute":
            quote = data.find(b'="', at)
            if quote >= 0:
                end = data.find(b'"', quote + 2)
                if end >= 0:
                    value = draw(ODD_VALUES).encode("utf-8", "surrogatepass").replace(b'"', b"")
                    data[quote + 2:end] = value
        elif kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "repeat":
            chunk = bytes(data[at:at + draw(st.integers(1, 200))])
            data[at:at] = chunk * draw(st.integers(1, 3))
        elif kind == "drop-element":
            start = data.find(b"<", at)
            end = data.find(b">", start)
            if 0 <= start < end:
                del data[start:end + 1]
        else:
            data[at:at] = draw(st.sampled_from([
                b"<D:prop/>", b"<D:href>../../etc</D:href>", b"<D:href>%zz</D:href>",
                b"<C:comp-filter/>", b'<C:comp-filter name="VEVENT"><C:time-range/></C:comp-filter>',
                b'<C:time-range start="x" end="y"/>', b"<D:nresults>-1</D:nresults>",
                b"<D:nresults>99999999999999999999</D:nresults>", b"<D:sync-token>\x01</D:sync-token>",
                b"<![CDATA[\x00]]>", b"&#0;", b"&#x1;", b"&#xFFFE;", b"<?pi x?>", b"<!-- c -->",
                b'<X:y xmlns:X="">', b"<a:b>", b"</D:prop>", b"\xff\xfe", b"\x00",
            ]))
    return bytes(data)


@st.composite
def mail_mutation(draw: st.DrawFn, seed: bytes) -> bytes:
    """One real reply mail with edits to its headers, MIME structure, encodings and calendar."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 5))):
        if not data:
            break
        kind = draw(st.sampled_from([
            "flip", "cut", "insert", "repeat", "truncate", "header", "calendar-line",
        ]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:at + draw(st.integers(1, 200))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([
                b"\r\n", b"\r\n\r\n", b"=", b"=0D=0A", b"=\r\n", b"--", b";", b":", b"\x00",
                b"\xff\xfe", b"BEGIN:VCALENDAR\r\n", b"END:VCALENDAR\r\n", b"BEGIN:VEVENT\r\n",
                b"Content-Type: message/rfc822\r\n\r\n", b"charset=rot13;", b"charset=\"\x01\";",
                b"method=", b"boundary=\"\";", b"Content-Transfer-Encoding: base64\r\n",
                b"Content-Transfer-Encoding: x-uuencode\r\n", b"=?utf-8?B?////?=",
                b"=?bogus?Q?x?=", b"ATTENDEE;PARTSTAT=ACCEPTED:mailto:b@example.com\r\n",
                b"ORGANIZER:mailto:calendar+abcdefghijklmnopqrstuvwxyz@cal.example.com\r\n",
            ])) + draw(st.binary(max_size=20))
        elif kind == "repeat":
            chunk = bytes(data[at:at + draw(st.integers(1, 300))])
            data[at:at] = chunk * draw(st.integers(1, 4))
        elif kind == "truncate":
            del data[at:]
        elif kind == "header":
            name = draw(st.sampled_from([
                b"From", b"To", b"Cc", b"Reply-To", b"Subject", b"Message-ID", b"Content-Type",
                b"Content-Transfer-Encoding", b"MIME-Version", b"Delivered-To", b"X-Original-To",
                b"Auto-Submitted", b"Authentication-Results", b"In-Reply-To", b"References",
            ]))
            value = draw(ODD_VALUES).encode("utf-8", "surrogatepass")
            data[0:0] = name + b": " + value + b"\r\n"
        else:
            lines = bytes(data).split(b"\n")
            where = [i for i, l in enumerate(lines) if l[:4] in (b"ATTE", b"UID:", b"SEQU", b"DTST",
                                                                  b"RECU", b"ORGA")]
            if where:
                i = draw(st.sampled_from(where))
                name = lines[i].split(b":", 1)[0]
                value = draw(ODD_VALUES).encode("utf-8", "surrogatepass")
                lines.insert(i + draw(st.integers(0, 1)), name + b":" + value + b"\r")
                data = bytearray(b"\n".join(lines))
    return bytes(data)


@st.composite
def form_mutation(draw: st.DrawFn, seed: bytes) -> bytes:
    """A form post (``a=b&c=d``) with fields dropped, repeated, or given odd values."""
    fields = [field.split(b"=", 1) for field in seed.split(b"&")]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["drop", "repeat", "replace", "flip", "truncate"]))
        if not fields:
            break
        at = draw(st.integers(0, len(fields) - 1))
        if kind == "drop":
            del fields[at]
        elif kind == "repeat":
            fields.append(fields[at])
        elif kind == "replace":
            value = draw(ODD_VALUES).encode("utf-8", "surrogatepass")
            fields[at] = [fields[at][0], value if draw(st.booleans()) else quote_from_bytes(value).encode()]
        else:
            raw = bytearray(b"=".join(fields[at]))
            if raw:
                where = draw(st.integers(0, len(raw) - 1))
                if kind == "flip":
                    raw[where] = draw(st.integers(0, 255))
                else:
                    del raw[where:]
            fields[at] = bytes(raw).split(b"=", 1)
    return b"&".join(b"=".join(field) for field in fields)


ODD_HEADERS = st.dictionaries(
    st.sampled_from([
        "Depth", "If-Match", "If-None-Match", "If-Schedule-Tag-Match", "Content-Type", "Prefer",
        "Brief", "Destination", "Overwrite", "Schedule-Reply", "Accept",
    ]),
    st.sampled_from([
        "", "0", "1", "infinity", "2", "-1", "*", '"x"', "x", '"a", "b"', 'W/"x"', "\t",
        "text/calendar", "text/calendar; charset=latin-1", "text/calendar; component=vtodo",
        "application/xml; charset=\"", "text/plain", "multipart/mixed; boundary=",
        "return=minimal", "T", "F", "/home/alice/calendar/event/x.ics", "http://[::1/",
        "a" * 2000,
    ]),
    max_size=2,
)


DESTINATIONS = st.fixed_dictionaries(
    {"Destination": st.one_of(
        st.sampled_from([
            "/home/alice/calendar/fuzzed/copied.ics", CAL + "renamed-{n}.ics", CAL + "copied.ics",
            "/home/alice/calendar/fuzzed/", "/home/bob/calendar/event/x.ics",
            "/home/alice/calendar/inbox/x.ics", "http://elsewhere.example/home/alice/x.ics",
            "", "/", "..", "%zz", "/home/alice/calendar/event/%00.ics", "http://[::1/",
        ]),
        ODD_VALUES,
    )},
    optional={"Overwrite": st.sampled_from(["T", "F", "", "x", "t"]),
              "If-Match": st.sampled_from(['"x"', "*", ""]), "Depth": st.sampled_from(["0", "1", "infinity", "x"])},
)


# -- the registry ---------------------------------------------------------------


@dataclass(frozen=True)
class HttpTarget:
    """One request path: method, URL (``{n}`` is a fresh name per case), bodies, mutation."""

    name: str
    method: str
    path: str
    seeds: tuple[bytes, ...]
    mutation: Callable[[bytes], st.SearchStrategy[bytes]]
    headers: dict[str, str] = field(default_factory=dict)
    share: int = 1  # weight among the tier's cases
    # Headers drawn per case (COPY and MOVE's Destination), on top of ``headers``.
    header_cases: st.SearchStrategy[dict[str, str]] | None = None
    # The one 5xx RFC 4918 gives COPY and MOVE: 502 for a Destination on another server.
    answers_5xx: frozenset[int] = frozenset()


@dataclass(frozen=True)
class MailTarget:
    """One way a mail reaches the server: ``lmtp``, ``ingest`` or ``imap``."""

    name: str
    via: str
    seeds: tuple[bytes, ...]
    mutation: Callable[[bytes], st.SearchStrategy[bytes]]
    share: int = 1


ICS = {"Content-Type": "text/calendar; charset=utf-8"}
XML = {"Content-Type": "application/xml; charset=utf-8"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
RSVP_FORM = b"answer=accepted&comment=See+you+there&version=0&nonce=AAAAAAAAAAAAAAAAAAAAAA"

HTTP_TARGETS: tuple[HttpTarget, ...] = (
    HttpTarget("put-new", "PUT", CAL + "fuzz-{n}.ics", ICALENDAR_BODIES, icalendar_mutation,
               {**ICS, "If-None-Match": "*"}, share=4),
    HttpTarget("put-over-stored", "PUT", CAL + "target.ics", ICALENDAR_BODIES, icalendar_mutation,
               ICS, share=2),
    HttpTarget("propfind-calendar", "PROPFIND", CAL, PROPFIND_BODIES, xml_mutation,
               {**XML, "Depth": "1"}),
    HttpTarget("propfind-home", "PROPFIND", "/home/alice/", PROPFIND_BODIES, xml_mutation,
               {**XML, "Depth": "0"}),
    HttpTarget("proppatch", "PROPPATCH", "/home/alice/calendar/fuzzed/", PROPPATCH_BODIES,
               xml_mutation, XML),
    HttpTarget("mkcalendar", "MKCALENDAR", "/home/alice/calendar/made-{n}/", MKCALENDAR_BODIES,
               xml_mutation, XML),
    HttpTarget("mkcol", "MKCOL", "/home/alice/calendar/col-{n}/", MKCALENDAR_BODIES[1:],
               xml_mutation, XML),
    HttpTarget("report-calendar-query", "REPORT", CAL, CALENDAR_QUERY_BODIES, xml_mutation,
               {**XML, "Depth": "1"}, share=2),
    HttpTarget("report-multiget", "REPORT", CAL, MULTIGET_BODIES, xml_mutation,
               {**XML, "Depth": "1"}),
    HttpTarget("report-sync-collection", "REPORT", CAL, SYNC_BODIES, xml_mutation, XML),
    HttpTarget("report-free-busy", "REPORT", CAL, FREE_BUSY_BODIES, xml_mutation,
               {**XML, "Depth": "1"}),
    HttpTarget("report-principal-search", "REPORT", "/home/", PRINCIPAL_SEARCH_BODIES,
               xml_mutation, {**XML, "Depth": "0"}),
    HttpTarget("outbox-free-busy", "POST", "/home/alice/calendar/outbox/", (OUTBOX_FREE_BUSY,),
               icalendar_mutation, ICS),
    HttpTarget("copy", "COPY", CAL + "target.ics", (b"",), st.just, header_cases=DESTINATIONS,
               answers_5xx=frozenset({502})),
    HttpTarget("move", "MOVE", CAL + "movable-{n}.ics", (b"",), st.just, header_cases=DESTINATIONS,
               answers_5xx=frozenset({502})),
    # The answer page of a stored invitation ({token}: the external attendee's reply token).
    HttpTarget("rsvp-answer", "POST", "/rsvp/{token}", (RSVP_FORM,), form_mutation, FORM),
)

MAIL_TARGETS: tuple[MailTarget, ...] = (
    MailTarget("lmtp", "lmtp", MAIL_BODIES, mail_mutation, share=2),
    MailTarget("ingest", "ingest", MAIL_BODIES, mail_mutation, share=2),
    MailTarget("imap", "imap", MAIL_BODIES, mail_mutation),
)


def all_shares() -> int:
    return sum(t.share for t in HTTP_TARGETS) + sum(t.share for t in MAIL_TARGETS)


def case(seeds: tuple[bytes, ...], mutation: Callable[[bytes], st.SearchStrategy[bytes]]
         ) -> st.SearchStrategy[bytes]:
    """A seed body, mutated."""
    return st.sampled_from(seeds).flatmap(mutation)

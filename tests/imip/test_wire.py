"""The calendar as mailed: folding at 75 octets, CRLF, spelling (anchors 6.8 #50)."""

from __future__ import annotations

import pytest
from icalendar import Calendar

from caldav_sched.domain.ical import _fold_by_octets, fold_line
from caldav_sched.domain.imip import serialize


def physical(folded: str) -> list[bytes]:
    return [p.encode("utf-8") for p in folded.split("\r\n")]


@pytest.mark.parametrize(
    "line",
    [
        "SUMMARY:short",
        "SUMMARY:" + "a" * 67,  # exactly 75 octets: no fold
        "SUMMARY:" + "a" * 68,
        "DESCRIPTION:" + "x" * 500,
        "SUMMARY:" + "ü" * 100,  # 2-octet characters
        "SUMMARY:" + "会" * 100,  # 3-octet characters
        "SUMMARY:" + "🎉" * 60,  # 4-octet characters
        "SUMMARY:" + "aü会🎉" * 40,
        "DESCRIPTION:" + "\\n" * 80,  # escapes everywhere
        "ATTENDEE;CN=" + "^n" * 50 + ":mailto:x@example.com",
    ],
)
def test_fold_line(line):
    folded = fold_line(line)
    parts = physical(folded)
    assert all(len(p) <= 75 for p in parts)
    assert all(p.startswith(b" ") for p in parts[1:])
    assert "".join(folded.split("\r\n ")) == line  # unfolding gives the line back
    for part in parts:
        part.decode("utf-8")  # never a split multi-byte character
    for first, second in zip(parts, parts[1:], strict=False):
        # an escape character stays with what it escapes
        assert not first.endswith((b"\\", b"^")) or first.endswith((b"\\\\", b"^^"))


def test_fold_is_needed_only_past_75_octets():
    assert fold_line("X" * 75) == "X" * 75
    assert fold_line("X" * 76) == "X" * 75 + "\r\n X"


@pytest.mark.parametrize("line", [
    "ATTENDEE;CN=Guest 3;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:g3@example.net",
    "DESCRIPTION:" + "\\," * 90,
    "X-A:" + "^" * 200,
    "X-B:" + "a" * 70 + "\\" + "b" * 80,
    "X-C:" + "a" * 71 + "\\\\" + "b" * 80,
])
def test_ascii_lines_are_cut_where_the_octet_walk_cuts_them(line):
    assert fold_line(line) == _fold_by_octets(line, 75)


def test_serialize_round_trips_and_is_strict():
    cal = Calendar.from_ical(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nMETHOD:REQUEST\r\n"
        "BEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20250601T120000Z\r\nDTSTART:20250610T090000Z\r\n"
        "SUMMARY:" + "Ünïcödé " * 30 + "\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    data = serialize(cal)
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines)
    assert b"\n" not in data.replace(b"\r\n", b"")
    again = Calendar.from_ical(data)
    assert str(again.walk("VEVENT")[0]["SUMMARY"]) == str(cal.walk("VEVENT")[0]["SUMMARY"])

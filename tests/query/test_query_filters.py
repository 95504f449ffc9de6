"""RFC 4791 9.7: comp-filter, prop-filter, param-filter and text-match semantics."""

from __future__ import annotations

import pytest
from tests.query._query_helpers import alarm, cal, event, rng, todo

from caldav_sched.domain.query import (
    CompFilter,
    ParamFilter,
    PropFilter,
    TextMatch,
    UnsupportedCollation,
    component_type,
    index_range,
    matches,
)

MEETING = cal(
    event(
        "DTSTART:20240105T100000Z",
        "DTEND:20240105T110000Z",
        "SUMMARY:Team Meeting über Straße",
        "CATEGORIES:Work,Travel",
        "CATEGORIES:Quarterly",
        "RESOURCES:Projector,Room 1",
        "LOCATION:Room 1\\, Floor 2",
        "ORGANIZER;CN=Alice:mailto:alice@example.com",
        "ATTENDEE;PARTSTAT=ACCEPTED;CN=Bob;MEMBER=\"mailto:team@example.com\",\"mailto:all@example.com\":mailto:bob@example.com",
        "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:carol@example.com",
        "LAST-MODIFIED:20240102T120000Z",
        alarms=alarm("TRIGGER:-PT15M"),
    )
)


def on_event(*props: PropFilter, comps: tuple[CompFilter, ...] = ()) -> CompFilter:
    return CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT", prop_filters=props, comp_filters=comps),))


def text(name: str, value: str, **options: object) -> PropFilter:
    return PropFilter(name, text_match=TextMatch(value, **options))  # type: ignore[arg-type]


TEXT_CASES = [
    ("contains ascii-casemap", text("SUMMARY", "meeting"), True),
    ("contains missing", text("SUMMARY", "lunch"), False),
    ("octet is case-sensitive", text("SUMMARY", "meeting", collation="i;octet"), False),
    ("octet exact case", text("SUMMARY", "Meeting", collation="i;octet"), True),
    ("ascii-casemap folds only ascii", text("SUMMARY", "ÜBER"), False),
    ("unicode-casemap folds non-ascii", text("SUMMARY", "ÜBER", collation="i;unicode-casemap"), True),
    ("unicode-casemap sharp s", text("SUMMARY", "STRASSE", collation="i;unicode-casemap"), True),
    ("negate of a hit", text("SUMMARY", "meeting", negate=True), False),
    ("negate of a miss", text("SUMMARY", "lunch", negate=True), True),
    ("equals folds ascii", text("SUMMARY", "team meeting über straße", match_type="equals"), True),
    ("equals keeps non-ascii case", text("SUMMARY", "TEAM MEETING ÜBER STRAßE", match_type="equals"), False),
    ("equals octet", text("SUMMARY", "Team Meeting über Straße", collation="i;octet", match_type="equals"), True),
    ("starts-with", text("SUMMARY", "team", match_type="starts-with"), True),
    ("starts-with miss", text("SUMMARY", "meeting", match_type="starts-with"), False),
    ("ends-with", text("SUMMARY", "straße", match_type="ends-with"), True),
    ("escaped text is unescaped", text("LOCATION", "Room 1, Floor", collation="i;octet"), True),
    ("cal-address", text("ORGANIZER", "MAILTO:ALICE@"), True),
    ("any of several properties", text("ATTENDEE", "carol"), True),
    ("categories any value equals", text("CATEGORIES", "travel", match_type="equals"), True),
    ("categories second line", text("CATEGORIES", "quarterly", match_type="equals"), True),
    ("categories not joined", text("CATEGORIES", "work,travel", match_type="equals"), False),
    ("categories negate", text("CATEGORIES", "holiday", negate=True), True),
    ("resources split", text("RESOURCES", "room 1", match_type="equals"), True),
    ("absent property never matches", text("DESCRIPTION", ""), False),
    ("absent property even negated", text("DESCRIPTION", "x", negate=True), False),
]


@pytest.mark.parametrize(("flt", "expected"), [c[1:] for c in TEXT_CASES], ids=[c[0] for c in TEXT_CASES])
def test_text_match(flt: PropFilter, expected: bool) -> None:
    assert matches(MEETING, on_event(flt)) is expected


def test_unknown_collation_raises() -> None:
    with pytest.raises(UnsupportedCollation):
        matches(MEETING, on_event(text("SUMMARY", "x", collation="i;basic")))


DEFINED_CASES = [
    ("property present", PropFilter("SUMMARY"), True),
    ("property absent", PropFilter("DESCRIPTION"), False),
    ("property not defined, absent", PropFilter("DESCRIPTION", is_not_defined=True), True),
    ("property not defined, present", PropFilter("SUMMARY", is_not_defined=True), False),
    ("property name any case", PropFilter("summary"), True),
]


@pytest.mark.parametrize(("flt", "expected"), [c[1:] for c in DEFINED_CASES], ids=[c[0] for c in DEFINED_CASES])
def test_prop_is_not_defined(flt: PropFilter, expected: bool) -> None:
    assert matches(MEETING, on_event(flt)) is expected


def attendee(*params: ParamFilter, value: TextMatch | None = None) -> PropFilter:
    return PropFilter("ATTENDEE", text_match=value, param_filters=params)


PARAM_CASES = [
    ("param text", attendee(ParamFilter("PARTSTAT", text_match=TextMatch("accepted", match_type="equals"))), True),
    ("param text miss", attendee(ParamFilter("PARTSTAT", text_match=TextMatch("declined"))), False),
    ("param present", attendee(ParamFilter("CN")), True),
    ("param absent", attendee(ParamFilter("ROLE")), False),
    ("param not defined", attendee(ParamFilter("ROLE", is_not_defined=True)), True),
    # Both tests must hold on the same ATTENDEE line.
    ("same property", attendee(ParamFilter("PARTSTAT", text_match=TextMatch("NEEDS-ACTION")), value=TextMatch("carol")), True),
    ("different properties", attendee(ParamFilter("PARTSTAT", text_match=TextMatch("ACCEPTED")), value=TextMatch("carol")), False),
    ("multi-valued param", attendee(ParamFilter("MEMBER", text_match=TextMatch("all@", collation="i;octet"))), True),
    ("param negate", attendee(ParamFilter("PARTSTAT", text_match=TextMatch("ACCEPTED", negate=True))), True),
]


@pytest.mark.parametrize(("flt", "expected"), [c[1:] for c in PARAM_CASES], ids=[c[0] for c in PARAM_CASES])
def test_param_filter(flt: PropFilter, expected: bool) -> None:
    assert matches(MEETING, on_event(flt)) is expected


PROP_RANGE_CASES = [
    ("dtstamp inside", "DTSTAMP", "20240101T000000Z", "20240101T000001Z", True),
    ("dtstamp end exclusive", "DTSTAMP", "20231231T000000Z", "20240101T000000Z", False),
    ("last-modified open end", "LAST-MODIFIED", "20240102T000000Z", None, True),
    ("last-modified before", "LAST-MODIFIED", None, "20240102T000000Z", False),
    ("dtstart", "DTSTART", "20240105T100000Z", "20240105T100001Z", True),
    ("text property never in range", "SUMMARY", None, None, False),
]


@pytest.mark.parametrize(("name", "start", "end", "expected"), [c[1:] for c in PROP_RANGE_CASES], ids=[c[0] for c in PROP_RANGE_CASES])
def test_prop_filter_time_range(name: str, start: str | None, end: str | None, expected: bool) -> None:
    assert matches(MEETING, on_event(PropFilter(name, time_range=rng(start, end)))) is expected


def test_completed_prop_time_range_on_todo() -> None:
    resource = cal(todo("COMPLETED:20240110T080000Z", "STATUS:COMPLETED"))
    inside = PropFilter("COMPLETED", time_range=rng("20240110T000000Z", "20240111T000000Z"))
    outside = PropFilter("COMPLETED", time_range=rng("20240111T000000Z", None))
    assert matches(resource, CompFilter("VCALENDAR", comp_filters=(CompFilter("VTODO", prop_filters=(inside,)),)))
    assert not matches(resource, CompFilter("VCALENDAR", comp_filters=(CompFilter("VTODO", prop_filters=(outside,)),)))


COMP_CASES = [
    ("empty vcalendar filter", CompFilter("VCALENDAR"), True),
    ("vcalendar is-not-defined", CompFilter("VCALENDAR", is_not_defined=True), False),
    ("wrong top-level name", CompFilter("VEVENT"), False),
    ("vevent exists", CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT"),)), True),
    ("vtodo exists", CompFilter("VCALENDAR", comp_filters=(CompFilter("VTODO"),)), False),
    ("vtodo not defined", CompFilter("VCALENDAR", comp_filters=(CompFilter("VTODO", is_not_defined=True),)), True),
    ("vevent not defined", CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT", is_not_defined=True),)), False),
    ("valarm exists", on_event(comps=(CompFilter("VALARM"),)), True),
    ("valarm not defined", on_event(comps=(CompFilter("VALARM", is_not_defined=True),)), False),
    ("all children must match", CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT"), CompFilter("VTODO"))), False),
    ("calendar-level property", CompFilter("VCALENDAR", prop_filters=(PropFilter("VERSION", text_match=TextMatch("2.0")),)), True),
]


@pytest.mark.parametrize(("flt", "expected"), [c[1:] for c in COMP_CASES], ids=[c[0] for c in COMP_CASES])
def test_comp_filter(flt: CompFilter, expected: bool) -> None:
    assert matches(MEETING, flt) is expected


def test_component_without_alarm_matches_valarm_not_defined() -> None:
    resource = cal(event("DTSTART:20240105T100000Z"))
    assert matches(resource, on_event(comps=(CompFilter("VALARM", is_not_defined=True),)))


# -- what the store may use ------------------------------------------------------------

WEEK = rng("20240101T000000Z", "20240108T000000Z")

INDEX_CASES = [
    ("vevent range", CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT", time_range=WEEK),)), WEEK, "VEVENT"),
    ("vtodo without range", CompFilter("VCALENDAR", comp_filters=(CompFilter("VTODO"),)), None, "VTODO"),
    ("bare vcalendar", CompFilter("VCALENDAR"), None, None),
    ("negated", CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT", is_not_defined=True),)), None, None),
    (
        "nested alarm range is not indexable",
        CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT", comp_filters=(CompFilter("VALARM", time_range=WEEK),)),)),
        None,
        "VEVENT",
    ),
    (
        "prop range is not indexable",
        CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT", prop_filters=(PropFilter("DTSTAMP", time_range=WEEK),)),)),
        None,
        "VEVENT",
    ),
    ("timezone is not a type", CompFilter("VCALENDAR", comp_filters=(CompFilter("VTIMEZONE"),)), None, None),
]


@pytest.mark.parametrize(("flt", "expected_range", "expected_type"), [c[1:] for c in INDEX_CASES], ids=[c[0] for c in INDEX_CASES])
def test_index_range_and_component_type(flt, expected_range, expected_type) -> None:
    assert index_range(flt) == expected_range
    assert component_type(flt) == expected_type

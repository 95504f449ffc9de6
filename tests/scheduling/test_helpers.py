"""Address and PARTSTAT helpers, SCHEDULE-STATUS, past events, token ORGANIZER."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from caldav_sched.domain.scheduling import (
    canonical_partstat,
    effective_partstat,
    has_instance_after,
    is_mailable,
    normalize_address,
    organizer_of,
    plan_organizer_change,
    rewrite_organizer,
    same_address,
    set_schedule_status,
    uid_of,
)
from caldav_sched.domain.scheduling.components import attendee_lines
from caldav_sched.services.scheduling import _has_instance_after as services_has_instance_after

from .helpers import A, B, C, NOW, att, cal, line_params, vevent


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("mailto:bob@example.com", "mailto:bob@example.com"),
        ("MAILTO:Bob@Example.COM", "mailto:bob@example.com"),
        ("Mailto: <bob@example.com> ", "mailto:bob@example.com"),
        ("bob@example.com", "mailto:bob@example.com"),
        ("urn:uuid:1234-ABCD", "urn:uuid:1234-ABCD"),
        ("HTTPS://cal.example.com/p/bob", "https://cal.example.com/p/bob"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_address(raw, normal):
    assert normalize_address(raw) == normal


def test_same_address_is_exact_after_normalising():
    assert same_address("MAILTO:Me@X.org", "me@x.org")
    assert not same_address("me@x.org", "joe.me@x.org")  # anchors #11: no substring match
    assert not same_address("", "")


@pytest.mark.parametrize(
    ("address", "ok"),
    [("mailto:a@example.com", True), ("mailto:not-an-address", False),
     ("urn:uuid:1", False), ("mailto:a b@example.com", False), ("mailto:a@localhost", True)],
)
def test_is_mailable(address, ok):
    assert is_mailable(address) is ok


@pytest.mark.parametrize(
    ("value", "canonical", "effective"),
    [
        ("ATTENDING", "ACCEPTED", "ACCEPTED"),
        ("NEED-ACTION", "NEEDS-ACTION", "NEEDS-ACTION"),
        ("NOT-ATTENDING", "DECLINED", "DECLINED"),
        ("accepted", "ACCEPTED", "ACCEPTED"),
        ("Tentative", "TENTATIVE", "TENTATIVE"),
        ("X-MAYBE", "X-MAYBE", "NEEDS-ACTION"),
        ("whatever", "whatever", "NEEDS-ACTION"),
        (None, "NEEDS-ACTION", "NEEDS-ACTION"),
    ],
)
def test_partstat_spellings(value, canonical, effective):
    assert canonical_partstat(value) == canonical
    assert effective_partstat(value) == effective


def test_set_schedule_status_moves_pending_on():
    stored = plan_organizer_change(None, cal(vevent(att(A, "ACCEPTED"), att(B), att(C))),
                                   organizer=A, now=NOW).stored
    updated = set_schedule_status(stored, "MAILTO:B@example.com", "1.1")
    assert line_params(updated, B)["SCHEDULE-STATUS"] == "1.1"
    assert line_params(updated, C)["SCHEDULE-STATUS"] == "1.0"
    assert line_params(stored, B)["SCHEDULE-STATUS"] == "1.0"  # input untouched


@pytest.mark.parametrize(
    ("lines", "when", "expected"),
    [
        ((), datetime(2025, 6, 11, tzinfo=UTC), False),
        ((), datetime(2025, 6, 1, tzinfo=UTC), True),
        (("RRULE:FREQ=WEEKLY",), datetime(2040, 1, 1, tzinfo=UTC), True),  # unbounded
        (("RRULE:FREQ=WEEKLY;COUNT=2",), datetime(2025, 7, 1, tzinfo=UTC), False),
        ((), datetime(2025, 6, 10, 9, 30, tzinfo=UTC), True),  # under way
        ((), datetime(2025, 6, 10, 10, tzinfo=UTC), False),  # just ended
        # The span reaches the EXDATE'd second instance; the expansion knows better.
        (("RRULE:FREQ=WEEKLY;COUNT=2", "EXDATE:20250617T090000Z"),
         datetime(2025, 6, 12, tzinfo=UTC), False),
        (("RRULE:FREQ=WEEKLY;COUNT=3", "EXDATE:20250617T090000Z"),
         datetime(2025, 6, 18, tzinfo=UTC), True),
    ],
)
def test_has_instance_after(lines, when, expected):
    assert has_instance_after(cal(vevent(att(B), *lines)), when) is expected
    # The services answer most objects from their span first; same answers.
    assert services_has_instance_after(cal(vevent(att(B), *lines)), when) is expected


def test_rewrite_organizer_also_rewrites_the_organizers_attendee_line():
    """anchors #46: otherwise clients show the organizer twice."""
    message = plan_organizer_change(None, cal(vevent(att(A, "ACCEPTED"), att(B))),
                                    organizer=A, now=NOW).messages[0]
    token = "calendar+tok123@cal.example.com"
    rewritten = rewrite_organizer(message.calendar, token)
    event = rewritten.walk("VEVENT")[0]
    assert str(event["ORGANIZER"]) == f"mailto:{token}"
    assert event["ORGANIZER"].params["EMAIL"] == "a@example.com"
    assert event["ORGANIZER"].params["CN"] == "Alice"
    assert [str(l) for l in attendee_lines(event)] == [f"mailto:{token}", B]
    assert str(message.calendar.walk("VEVENT")[0]["ORGANIZER"]) == A  # message untouched


def test_small_accessors():
    calendar = cal(vevent(att(B), organizer="MAILTO:A@EXAMPLE.COM"))
    assert organizer_of(calendar) == A
    assert uid_of(calendar) == "evt-1"

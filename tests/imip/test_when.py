"""Times and recurrence rules in words (what the subject and body say)."""

from __future__ import annotations

import pytest
from icalendar import Calendar

from caldav_sched.domain.imip.when import describe_moment, describe_recurrence, describe_when


def vevent(*lines: str):
    text = "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN", "BEGIN:VEVENT", "UID:u",
        "DTSTAMP:20250601T000000Z", *lines, "END:VEVENT", "END:VCALENDAR", "",
    ])
    return Calendar.from_ical(text).walk("VEVENT")[0]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (("DTSTART;TZID=Europe/Berlin:20250610T090000", "DTEND;TZID=Europe/Berlin:20250610T100000"),
         "Tue 10 Jun 2025 09:00-10:00 (Europe/Berlin)"),
        (("DTSTART:20250610T090000Z", "DTEND:20250610T093000Z"), "Tue 10 Jun 2025 09:00-09:30 (UTC)"),
        (("DTSTART:20250610T090000", "DTEND:20250610T100000"),
         "Tue 10 Jun 2025 09:00-10:00 (floating time)"),
        (("DTSTART;TZID=America/New_York:20250610T220000", "DURATION:PT3H"),
         "Tue 10 Jun 2025 22:00 - Wed 11 Jun 2025 01:00 (America/New_York)"),
        # an end in another zone is shown in the start's zone
        (("DTSTART;TZID=Europe/Berlin:20250610T090000", "DTEND;TZID=Europe/London:20250610T090000"),
         "Tue 10 Jun 2025 09:00-10:00 (Europe/Berlin)"),
        (("DTSTART;TZID=Asia/Tokyo:20250610T090000",), "Tue 10 Jun 2025 09:00 (Asia/Tokyo)"),
        (("DTSTART;VALUE=DATE:20250610",), "Tue 10 Jun 2025 (all day)"),
        (("DTSTART;VALUE=DATE:20250610", "DTEND;VALUE=DATE:20250611"), "Tue 10 Jun 2025 (all day)"),
        (("DTSTART;VALUE=DATE:20250610", "DTEND;VALUE=DATE:20250613"),
         "Tue 10 Jun 2025 - Thu 12 Jun 2025 (all day)"),
        (("DTSTART;VALUE=DATE:20251231", "DURATION:P2D"),
         "Wed 31 Dec 2025 - Thu 1 Jan 2026 (all day)"),
        (("SUMMARY:no start",), ""),
        # Stored before a PUT refused them: a start that is a duration is no time to tell.
        (("DTSTART:P1D",), ""),
        (("DTSTART:P1D", "RRULE:FREQ=WEEKLY"), ""),
    ],
)
def test_describe_when(lines, expected):
    assert describe_when(vevent(*lines)) == expected


@pytest.mark.parametrize(
    ("rule", "start", "expected"),
    [
        ("FREQ=DAILY", "20250610T090000Z", "every day"),
        ("FREQ=DAILY;INTERVAL=3;COUNT=10", "20250610T090000Z", "every 3 days, 10 times"),
        ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "20250610T090000Z", "every day on weekdays"),
        ("FREQ=WEEKLY", "20250610T090000Z", "every week on Tuesday"),
        ("FREQ=WEEKLY;BYDAY=MO", "20250609T090000Z", "every week on Monday"),
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "20250609T090000Z", "every week on Monday, Wednesday and Friday"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "20250609T090000Z", "every week on weekdays"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;UNTIL=20251231T235959Z", "20250612T090000Z",
         "every 2 weeks on Thursday, until Wed 31 Dec 2025"),
        ("FREQ=WEEKLY;COUNT=1", "20250610T090000Z", "every week on Tuesday, once"),
        ("FREQ=MONTHLY", "20250615T090000Z", "every month on day 15"),
        ("FREQ=MONTHLY;BYMONTHDAY=1", "20250601T090000Z", "every month on day 1"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", "20250630T090000Z", "every month on the last day"),
        ("FREQ=MONTHLY;BYDAY=2TU", "20250610T090000Z", "every month on the second Tuesday"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "20250627T090000Z", "every month on the last Friday"),
        ("FREQ=YEARLY", "20250610T090000Z", "every year on 10 June"),
        ("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "20250330T090000Z", "every year on the last Sunday of March"),
        ("FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", "20280229T090000Z",
         "every 4 years on 29 February"),
        # unusual rules are shown as written rather than described wrongly
        ("FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1", "20250630T090000Z",
         "RRULE:FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1"),
        ("FREQ=HOURLY;INTERVAL=2", "20250610T090000Z", "RRULE:FREQ=HOURLY;INTERVAL=2"),
        ("FREQ=WEEKLY;BYDAY=1MO", "20250609T090000Z", "RRULE:FREQ=WEEKLY;BYDAY=1MO"),
        ("FREQ=YEARLY;BYMONTH=1,7", "20250110T090000Z", "RRULE:FREQ=YEARLY;BYMONTH=1,7"),
    ],
)
def test_describe_recurrence(rule, start, expected):
    assert describe_recurrence(vevent(f"DTSTART:{start}", f"RRULE:{rule}")) == expected


def test_all_day_rule_until_a_date():
    comp = vevent("DTSTART;VALUE=DATE:20250610", "RRULE:FREQ=WEEKLY;UNTIL=20250701")
    assert describe_recurrence(comp) == "every week on Tuesday, until Tue 1 Jul 2025"


def test_until_is_shown_in_the_event_zone():
    comp = vevent("DTSTART;TZID=Pacific/Auckland:20250610T090000",
                  "RRULE:FREQ=DAILY;UNTIL=20250630T210000Z")
    assert describe_recurrence(comp) == "every day, until Tue 1 Jul 2025"


def test_no_rule():
    assert describe_recurrence(vevent("DTSTART:20250610T090000Z")) is None


def test_describe_moment():
    comp = vevent("DTSTART:20250610T090000Z", "RECURRENCE-ID;TZID=Europe/Berlin:20250617T090000")
    assert describe_moment(comp["RECURRENCE-ID"]) == "Tue 17 Jun 2025 09:00 (Europe/Berlin)"

"""The RSVP pieces without a server: links, the nonce, the limiter, the REPLY a page sends."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from caldav_sched.domain.rsvp import answer_links, build_reply, parse_answer, rsvp_url, view_invitation
from caldav_sched.domain.scheduling import apply_reply, parse_calendar
from caldav_sched.domain.scheduling.model import ReplyApplied, ReplyRefused
from caldav_sched.web.forms import NONCE_LIFETIME, check_nonce, make_nonce
from caldav_sched.web.limits import RateLimiter
from caldav_sched.web.strings import DEFAULT

TOKEN = "a" * 32
NOW = datetime(2018, 7, 10, 14, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("public_url, base_path, expected", [
    ("https://cal.example.com", "", "https://cal.example.com/rsvp/" + TOKEN),
    ("https://cal.example.com/", "", "https://cal.example.com/rsvp/" + TOKEN),
    ("https://cal.example.com", "/dav", "https://cal.example.com/dav/rsvp/" + TOKEN),
    ("https://cal.example.com/dav", "/dav", "https://cal.example.com/dav/rsvp/" + TOKEN),
    ("https://example.com/calendar", "", "https://example.com/calendar/rsvp/" + TOKEN),
])
def test_the_page_address_survives_the_base_path(public_url, base_path, expected):
    assert rsvp_url(public_url, base_path, TOKEN) == expected
    assert [name for name, _ in answer_links(expected)] == ["accepted", "tentative", "declined"]


@pytest.mark.parametrize("value, partstat", [
    ("accepted", "ACCEPTED"), ("Tentative", "TENTATIVE"), (" declined ", "DECLINED"),
    ("needs-action", None), ("", None), (None, None), ("delegated", None),
])
def test_only_three_answers_are_offered(value, partstat):
    assert parse_answer(value) == partstat


SECRET = b"k" * 32


@pytest.mark.parametrize("nonce, now, good", [
    (make_nonce(SECRET, TOKEN, 1000), 1000, True),
    (make_nonce(SECRET, TOKEN, 1000), 1000 + NONCE_LIFETIME, True),
    (make_nonce(SECRET, TOKEN, 1000), 1001 + NONCE_LIFETIME, False),  # too old
    (make_nonce(SECRET, TOKEN, 2000), 1000, False),  # from the future
    (make_nonce(SECRET, "b" * 32, 1000), 1000, False),  # another invitation's
    (make_nonce(b"x" * 32, TOKEN, 1000), 1000, False),  # another server's
    ("1000." + "A" * 43, 1000, False),
    ("", 1000, False), ("1000", 1000, False), ("x.y", 1000, False), ("-5.abc", 1000, False),
])
def test_the_nonce_binds_token_time_and_secret(nonce, now, good):
    assert check_nonce(SECRET, TOKEN, nonce, now) is good


def test_the_limiter_allows_a_burst_then_one_a_refill():
    clock = [0.0]
    limiter = RateLimiter(3, clock=lambda: clock[0])
    assert [limiter.allow("192.0.2.1") for _ in range(4)] == [True, True, True, False]
    assert limiter.retry_after("192.0.2.1") == 20
    assert limiter.allow("192.0.2.2")  # another address has its own bucket
    clock[0] = 20.0
    assert limiter.allow("192.0.2.1") and not limiter.allow("192.0.2.1")


def test_the_limiter_forgets_the_oldest_addresses_first():
    from caldav_sched.web import limits

    limiter = RateLimiter(1, clock=lambda: 0.0)
    for n in range(limits.MAX_ADDRESSES + 5):
        limiter.allow(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter._buckets) == limits.MAX_ADDRESSES


def test_zero_turns_the_limit_off():
    limiter = RateLimiter(0)
    assert all(limiter.allow("192.0.2.1") for _ in range(100))


SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:weekly
DTSTAMP:20180701T000000Z
DTSTART;TZID=Europe/Berlin:20180710T180000
DTEND;TZID=Europe/Berlin:20180710T190000
RRULE:FREQ=WEEKLY;COUNT=4
SEQUENCE:2
SUMMARY:Team meeting
LOCATION:Room 4
ORGANIZER;CN=Alice:mailto:alice@example.com
ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.com
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:carol@example.com
END:VEVENT
BEGIN:VEVENT
UID:weekly
DTSTAMP:20180701T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20180717T180000
DTSTART;TZID=Europe/Berlin:20180717T200000
DTEND;TZID=Europe/Berlin:20180717T210000
SEQUENCE:2
SUMMARY:Team meeting
ORGANIZER;CN=Alice:mailto:alice@example.com
ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION:mailto:bob@example.com
END:VEVENT
BEGIN:VEVENT
UID:weekly
DTSTAMP:20180701T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20180724T180000
DTSTART;TZID=Europe/Berlin:20180724T180000
DTEND;TZID=Europe/Berlin:20180724T190000
SEQUENCE:2
STATUS:CANCELLED
SUMMARY:Team meeting
ORGANIZER;CN=Alice:mailto:alice@example.com
ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION:mailto:bob@example.com
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")


def test_the_page_shows_the_series_in_its_own_zone():
    view = view_invitation(parse_calendar(SERIES), "mailto:BOB@example.com")
    assert view is not None
    assert view.title == "Team meeting" and view.location == "Room 4"
    assert view.when == "Tue 10 Jul 2018 18:00-19:00 (Europe/Berlin)"
    assert view.starts_at == "2018-07-10T16:00:00Z" and view.ends_at == "2018-07-10T17:00:00Z"
    assert view.recurring and view.recurrence == "every week on Tuesday, 4 times"
    assert view.organizer.label() == "Alice <alice@example.com>"
    assert view.answer == "NEEDS-ACTION" and not view.changed and not view.cancelled
    assert view.cancelled_occurrences == ("Tue 24 Jul 2018 18:00-19:00 (Europe/Berlin)",)
    assert view.version == 2
    assert view_invitation(parse_calendar(SERIES), "mailto:dave@example.com") is None


def test_a_page_answer_covers_the_series_and_the_engine_applies_it():
    stored = parse_calendar(SERIES)
    reply = build_reply(stored, "mailto:bob@example.com", "DECLINED", comment=" Away ",
                        seen_version=2, now=NOW)
    comps = list(reply.walk("VEVENT"))
    # The master and the moved occurrence; not the cancelled one.
    assert len(comps) == 2 and str(reply["METHOD"]) == "REPLY"
    assert all(int(c["SEQUENCE"]) == 2 and str(c["COMMENT"]) == "Away" for c in comps)
    result = apply_reply(stored, reply, attendee="mailto:bob@example.com", now=NOW,
                         accept_alias=False)
    assert isinstance(result, ReplyApplied) and result.changed
    assert [p for _, p in result.partstats] == ["DECLINED", "DECLINED"]
    after = view_invitation(result.stored, "mailto:bob@example.com")
    assert after.answer == "DECLINED" and after.comment == "Away"

    # Pressed again within the same second: still later than the last answer.
    again = build_reply(result.stored, "mailto:bob@example.com", "ACCEPTED", comment=None,
                        seen_version=2, now=NOW)
    second = apply_reply(result.stored, again, attendee="mailto:bob@example.com", now=NOW,
                         accept_alias=False)
    assert isinstance(second, ReplyApplied) and second.changed


def test_an_answer_to_an_older_version_is_refused_as_stale():
    stored = parse_calendar(SERIES)
    reply = build_reply(stored, "mailto:bob@example.com", "ACCEPTED", comment=None,
                        seen_version=1, now=NOW)
    result = apply_reply(stored, reply, attendee="mailto:bob@example.com", now=NOW,
                         accept_alias=False)
    assert isinstance(result, ReplyRefused) and result.code == "stale-sequence"


TEMPLATES = Path(__file__).resolve().parents[2] / "caldav_sched" / "web" / "templates"


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_templates_take_every_word_from_the_strings(path):
    text = re.sub(r"{%.*?%}|{{.*?}}|<[^>]*>", " ", path.read_text(), flags=re.S)
    assert re.findall(r"[A-Za-z]{2,}", text) == [], "words outside strings.py"


def test_every_answer_has_words():
    for name in ("accepted", "tentative", "declined"):
        assert DEFAULT.buttons[name] and DEFAULT.answer_word(parse_answer(name))


@pytest.mark.parametrize("value", ["cal.example.com", "ftp://cal.example.com", "https://",
                                   "https://cal.example.com/?x=1", "https://u@cal.example.com",
                                   "https://cal example.com", "https://cal.example.com/#top"])
def test_a_wrong_public_url_names_the_key(value):
    from caldav_sched.config import settings_from_dict
    from caldav_sched.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[server\] public_url: must look like"):
        settings_from_dict({"server": {"public_url": value}})


@pytest.mark.parametrize("value, kept", [
    ("https://cal.example.com/", "https://cal.example.com"),
    ("http://127.0.0.1:5232/dav", "http://127.0.0.1:5232/dav"),
    ("", ""),
])
def test_a_public_url_is_kept_without_its_trailing_slash(value, kept):
    from caldav_sched.config import settings_from_dict

    assert settings_from_dict({"server": {"public_url": value}}).server.public_url == kept


def _rendered(method_text: str, rsvp: str | None):
    from caldav_sched.domain.imip import new_token, render_imip
    from caldav_sched.domain.scheduling import plan_organizer_change

    cal = parse_calendar(SERIES)
    if method_text == "CANCEL":
        plan = plan_organizer_change(cal, None, organizer="mailto:alice@example.com", now=NOW)
    else:
        plan = plan_organizer_change(None, cal, organizer="mailto:alice@example.com", now=NOW)
    message = next(m for m in plan.messages if "bob" in str(m.recipient))
    mail = render_imip(message, from_address="calendar@cal.example.com", organizer_name="Alice",
                       organizer_address="alice@example.com", token=new_token(bytes(16)),
                       message_id="<x@cal.example.com>", now=NOW, rsvp_url=rsvp)
    return {p.get_content_type(): p.get_content() for p in mail.walk()
            if p.get_content_type() in ("text/plain", "text/html")}


def test_a_request_carries_the_links_and_a_cancel_does_not():
    page = "https://cal.example.com/rsvp/" + TOKEN
    bodies = _rendered("REQUEST", page)
    assert f"  Accept: {page}?answer=accepted" in bodies["text/plain"]
    assert f"  Decline: {page}?answer=declined" in bodies["text/plain"]
    assert f'<a href="{page}?answer=tentative" style="font-weight:bold">Maybe</a>' in bodies["text/html"]
    assert "/rsvp/" not in "".join(_rendered("CANCEL", page).values())
    assert "/rsvp/" not in "".join(_rendered("REQUEST", None).values())

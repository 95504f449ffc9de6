"""The human-readable bodies: what, when, where, who, what changed (CalConnect iMIP)."""

from __future__ import annotations

import html

import pytest

OVERRIDE = """BEGIN:VEVENT
UID:evt-1@example.com
DTSTAMP:20250601T100000Z
RECURRENCE-ID;TZID=Europe/Berlin:20250617T090000
DTSTART;TZID=Europe/Berlin:20250618T140000
DTEND;TZID=Europe/Berlin:20250618T150000
SUMMARY:Planning
ORGANIZER;CN=Alice Smith:mailto:alice@example.com
ATTENDEE;CN=Alice Smith;PARTSTAT=ACCEPTED:mailto:alice@example.com
ATTENDEE;CN=Bob Jones;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.net
ATTENDEE;CN=Dana Guest;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:dana@example.com
END:VEVENT
END:VCALENDAR"""


def bodies(h, message, **kwargs):
    back = h.reparse(h.render(message, **kwargs))
    return back.get_body(("plain",)).get_content(), back.get_body(("html",)).get_content()


def weekly(h, base):
    return h.edit(base, ("SUMMARY:Planning", "SUMMARY:Planning\nRRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=5"))


def test_invitation_states_what_when_where_who(h):
    text, page = bodies(h, h.invite())
    lines = text.splitlines()
    assert lines[0] == "Alice Smith has invited you to this event."
    for expected in [
        "What:      Planning",
        "When:      Tue 10 Jun 2025 09:00-10:00 (Europe/Berlin)",
        "Where:     Room 1",
        "Organizer: Alice Smith <alice@example.com>",
        "  - Alice Smith <alice@example.com>: accepted",
        "  - Bob Jones <bob@example.net>: has not answered yet",
        "  - carol@example.org (optional): might attend (tentative)",
        "  Agenda:",
        "  1. budget",
    ]:
        assert expected in lines
    for expected in ["Planning", "Room 1", "Tue 10 Jun 2025 09:00-10:00 (Europe/Berlin)",
                     "Alice Smith &lt;alice@example.com&gt;", "Bob Jones &lt;bob@example.net&gt;"]:
        assert expected in page
    assert "calendar+" not in text  # the body names the real organizer, not the token


def test_recurrence_is_described(h, base):
    text, page = bodies(h, h.invite(weekly(h, base)))
    assert "Repeats:   every week on Tuesday, 5 times" in text.splitlines()
    assert "every week on Tuesday, 5 times" in page


def test_update_lists_what_changed(h, base):
    moved = h.edit(base, ("T090000", "T110000"), ("T100000\n", "T120000\n"), ("Room 1", "Room 2"))
    plan = h.organizer_plan(base, moved)
    text, page = bodies(h, h.message_to(plan, "bob@example.net"), changes=plan.changes)
    lines = text.splitlines()
    assert lines[0] == "Alice Smith has updated this event."
    assert "What changed:" in lines
    assert f"  - {plan.changes[0]}" in lines
    assert "Where:     Room 2" in lines
    assert "<h3>What changed</h3>" in page


def test_new_invitation_has_no_change_list(h):
    text, page = bodies(h, h.invite(), changes=())
    assert "What changed" not in text and "What changed" not in page


@pytest.mark.parametrize(
    ("scenario", "headline"),
    [
        ("deleted", "Alice Smith has cancelled this event."),
        ("uninvited", "Alice Smith has removed you from this event; it is cancelled for you."),
    ],
)
def test_cancel_says_so(scenario, headline, h, base):
    uninvited = h.edit(base, ("ATTENDEE;CN=Bob Jones;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;"
                              "ROLE=REQ-PARTICIPANT:mailto:bob@example.net\n", ""))
    plan = h.organizer_plan(base, None if scenario == "deleted" else uninvited)
    text, page = bodies(h, h.message_to(plan, "bob@example.net"))
    assert text.splitlines()[0] == headline
    assert html.escape(headline) in page
    assert "removes this event" in text


def test_cancelled_occurrence_names_the_occurrence(h, base):
    series = weekly(h, base)
    cancelled = OVERRIDE.replace("DTSTART;TZID=Europe/Berlin:20250618T140000",
                                 "DTSTART;TZID=Europe/Berlin:20250617T090000")
    cancelled = cancelled.replace("DTEND;TZID=Europe/Berlin:20250618T150000",
                                  "DTEND;TZID=Europe/Berlin:20250617T100000\nSTATUS:CANCELLED")
    plan = h.organizer_plan(series, series.replace("END:VCALENDAR", cancelled))
    message = h.message_to(plan, "bob@example.net")
    assert not message.includes_master
    back = h.reparse(h.render(message))
    text = back.get_body(("plain",)).get_content()
    lines = text.splitlines()
    assert lines[0] == "Alice Smith has cancelled one occurrence of this event."
    assert "When:      Tue 17 Jun 2025 09:00-10:00 (Europe/Berlin)" in lines
    assert "This message is about one occurrence of a repeating event, not the whole series." in lines
    assert not any(line.startswith("Repeats:") for line in lines)
    assert back["Subject"].strip() == "Cancelled: Planning @ Tue 17 Jun 2025 09:00-10:00 (Europe/Berlin)"


def test_invitation_to_one_moved_occurrence(h, base):
    series = weekly(h, base)
    plan = h.organizer_plan(series, series.replace("END:VCALENDAR", OVERRIDE))
    message = h.message_to(plan, "dana@example.com")
    assert not message.includes_master and message.recurrence_ids
    back = h.reparse(h.render(message))
    lines = back.get_body(("plain",)).get_content().splitlines()
    assert lines[0] == "Alice Smith has invited you to this event."
    assert "When:       Wed 18 Jun 2025 14:00-15:00 (Europe/Berlin)" in lines
    assert "Originally: Tue 17 Jun 2025 09:00 (Europe/Berlin)" in lines
    assert back["Subject"].strip() == (
        "Invitation: Planning @ Wed 18 Jun 2025 14:00-15:00 (Europe/Berlin)"
    )


@pytest.mark.parametrize(
    ("partstat", "headline"),
    [
        ("ACCEPTED", "Bob Jones has accepted your invitation."),
        ("DECLINED", "Bob Jones has declined your invitation."),
        ("TENTATIVE", "Bob Jones has tentatively accepted your invitation."),
    ],
)
def test_reply_body(partstat, headline, h):
    text, _ = bodies(h, h.reply(partstat), token="", organizer_name="Olga Ext",
                     organizer_address="olga@external.example")
    lines = text.splitlines()
    assert lines[0] == headline
    assert "When:      Tue 10 Jun 2025 - Wed 11 Jun 2025 (all day)" in lines
    assert "Organizer: Olga Ext <olga@external.example>" in lines


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("SUMMARY", '<script>alert("x")</script>'),
        ("LOCATION", '<a href="https://evil.example">Room</a>'),
        ("DESCRIPTION", "Tom & Jerry <b>bold</b> \"quoted\" 'single'"),
    ],
)
def test_html_escapes_calendar_values(field, value, h, base):
    old = {"SUMMARY": "SUMMARY:Planning", "LOCATION": "LOCATION:Room 1",
           "DESCRIPTION": "DESCRIPTION:Agenda:\\n1. budget\\n2. hiring"}[field]
    _, page = bodies(h, h.invite(h.edit(base, (old, f"{field}:{value}"))))
    assert value not in page
    assert html.escape(value, quote=True) in page
    assert "<script>" not in page and "<a " not in page and "<b>" not in page


def test_html_escapes_names(h, base):
    text = h.edit(base, ("CN=Bob Jones", 'CN="Bob <i>Jones</i>"'))
    _, page = bodies(h, h.invite(text))
    assert "<i>" not in page
    assert "Bob &lt;i&gt;Jones&lt;/i&gt; &lt;bob@example.net&gt;" in page


def test_description_keeps_its_lines_in_html(h):
    _, page = bodies(h, h.invite())
    assert "Agenda:<br>\n1. budget<br>\n2. hiring" in page.replace("\r\n", "\n")


def test_non_ascii_text_round_trips_in_both_bodies(h, base):
    text = h.edit(base, ("SUMMARY:Planning", "SUMMARY:Überprüfung ☕"), ("Room 1", "Raum Größe"))
    plain, page = bodies(h, h.invite(text))
    assert "What:      Überprüfung ☕" in plain.splitlines()
    assert "Raum Größe" in page

"""The outbound iMIP mail: headers, MIME layout, the calendar as mailed (RFC 6047).

Anchors 6.8 #48-53 and 6.3 #20-22.  Every assertion about what a receiver
sees is made on the rendered bytes parsed back with the stdlib parser.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import datetime

import pytest
from icalendar import Calendar

from caldav_sched.domain.imip import Action, render_imip
from caldav_sched.domain.imip.headers import header_address
from caldav_sched.domain.scheduling import ItipMessage, Method, parse_calendar


def tree(msg, depth=0):
    """The MIME structure as indented lines with the parameters that matter."""
    params = {k: v for k, v in msg.get_params()[1:] if k != "boundary"}
    line = "  " * depth + msg.get_content_type()
    if params:
        line += " " + " ".join(f"{k}={v}" for k, v in sorted(params.items()))
    disposition = msg.get_content_disposition()
    if disposition:
        line += f" [{disposition} {msg.get_filename()}]"
    if not msg.is_multipart():
        line += f" ({msg['Content-Transfer-Encoding']})"
    lines = [line]
    if msg.is_multipart():
        for part in msg.iter_parts():
            lines += tree(part, depth + 1)
    return lines


def golden(method):
    return [
        "multipart/mixed",
        "  multipart/alternative",
        "    text/plain charset=utf-8 (quoted-printable)",
        "    text/html charset=utf-8 (quoted-printable)",
        f"    text/calendar charset=utf-8 method={method} (base64)",
        "  application/ics name=invite.ics [attachment invite.ics] (base64)",
    ]


# -- the messages every test below runs on ------------------------------------


@pytest.fixture
def request_msg(h):
    return h.invite()


@pytest.fixture
def cancel_msg(h):
    return h.message_to(h.organizer_plan(h.BASE, None), "bob@example.net")


@pytest.fixture
def reply_msg(h):
    return h.reply("ACCEPTED")


@pytest.fixture(params=["request", "cancel", "reply"])
def any_msg(request, h):
    return request.getfixturevalue(f"{request.param}_msg")


# -- MIME layout ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["request", "cancel", "reply"])
def test_golden_mime_tree(kind, request, h):
    message = request.getfixturevalue(f"{kind}_msg")
    assert tree(h.reparse(h.render(message))) == golden(message.method.value)


def test_method_param_equals_method_property(any_msg, h):
    back = h.reparse(h.render(any_msg))
    part = next(p for p in back.walk() if p.get_content_type() == "text/calendar")
    cal = Calendar.from_ical(part.get_payload(decode=True))
    assert part.get_param("method") == str(cal["METHOD"]) == any_msg.method.value
    assert str(cal["METHOD"]).isupper()


def test_inline_part_and_attachment_carry_the_same_bytes(any_msg, h):
    back = h.reparse(h.render(any_msg))
    assert h.calendar_bytes(back) == h.calendar_bytes(back, "application/ics")


def test_calendar_lines_are_crlf_and_at_most_75_octets(h, base):
    long_text = base.replace(
        "SUMMARY:Planning",
        "SUMMARY:" + "Überlange Besprechung mit sehr vielen Wörtern – ünd Ümläuten " * 4,
    ).replace("LOCATION:Room 1", "LOCATION:" + "🎉" * 40)
    data = h.calendar_bytes(h.reparse(h.render(h.invite(long_text))))
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75
    for line in lines:
        line.decode("utf-8")  # a fold never splits a multi-byte character
    assert any(line.startswith(b" ") for line in lines)


def test_rendering_is_deterministic(request_msg, h):
    assert h.render(request_msg).as_bytes() == h.render(request_msg).as_bytes()


def test_the_mail_uses_crlf_line_ends(request_msg, h):
    raw = h.render(request_msg).as_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


# -- headers -------------------------------------------------------------------


def test_request_headers(request_msg, h):
    back = h.reparse(h.render(request_msg))
    assert back["From"].addresses[0].addr_spec == "calendar@cal.example.com"
    assert back["From"].addresses[0].display_name == "Alice Smith via caldav_sched"
    assert back["Reply-To"].addresses[0].addr_spec == f"calendar+{h.TOKEN}@cal.example.com"
    assert back["To"].addresses[0].addr_spec == "bob@example.net"
    assert back["To"].addresses[0].display_name == "Bob Jones"
    assert back["Message-ID"] == "<m1@cal.example.com>"
    assert back["Date"].datetime == h.NOW
    assert back["MIME-Version"] == "1.0"
    assert back["Auto-Submitted"] == "auto-generated"
    assert "OOF" in back["X-Auto-Response-Suppress"]


def test_the_organizer_address_never_appears_in_from(any_msg, h):
    back = h.reparse(h.render(any_msg))
    assert [a.addr_spec for a in back["From"].addresses] == ["calendar@cal.example.com"]
    assert "alice@example.com" not in str(back["From"])
    assert "olga@external.example" not in str(back["From"])


def test_each_header_appears_once(any_msg, h):
    back = h.reparse(h.render(any_msg))
    for name in ("From", "Reply-To", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                 "Auto-Submitted", "Content-Type"):
        assert len(back.get_all(name)) == 1, name
    assert back.get_all("Bcc") is None and back.get_all("Cc") is None


def test_to_without_cn_is_the_bare_address(h):
    back = h.reparse(h.render(h.invite(to="carol@example.org")))
    assert str(back["To"]) == "carol@example.org"


def test_reply_headers(reply_msg, h):
    back = h.reparse(h.render(reply_msg, organizer_name="Olga Ext",
                              organizer_address="olga@external.example", token=""))
    assert back["From"].addresses[0].addr_spec == "calendar@cal.example.com"
    assert back["From"].addresses[0].display_name == "Bob Jones via caldav_sched"
    assert back["Reply-To"].addresses[0].addr_spec == "bob@example.com"
    assert back["To"].addresses[0].addr_spec == "olga@external.example"
    assert back["To"].addresses[0].display_name == "Olga Ext"


def test_organizer_without_a_name_falls_back_to_cn(request_msg, h):
    back = h.reparse(h.render(request_msg, organizer_name=None))
    assert back["From"].addresses[0].display_name == "Alice Smith via caldav_sched"


def test_custom_service_name(request_msg, h):
    back = h.reparse(h.render(request_msg, service_name="Example Calendar"))
    assert back["From"].addresses[0].display_name == "Alice Smith via Example Calendar"


# -- subjects ------------------------------------------------------------------

WHEN = "Tue 10 Jun 2025 09:00-10:00 (Europe/Berlin)"


@pytest.mark.parametrize(
    ("scenario", "subject"),
    [
        ("new", f"Invitation: Planning @ {WHEN}"),
        ("moved", "Updated invitation: Planning @ Tue 10 Jun 2025 11:00-12:00 (Europe/Berlin)"),
        ("described", f"Updated invitation: Planning @ {WHEN}"),
        ("deleted", f"Cancelled: Planning @ {WHEN}"),
        ("uninvited", f"Cancelled: Planning @ {WHEN}"),
    ],
)
def test_subject_per_organizer_action(scenario, subject, h, base):
    moved = h.edit(base, ("T090000", "T110000"), ("T100000\n", "T120000\n"))
    described = h.edit(base, ("2. hiring", "2. hiring\\n3. lunch"))
    uninvited = h.edit(base, ("ATTENDEE;CN=Bob Jones;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;"
                              "ROLE=REQ-PARTICIPANT:mailto:bob@example.net\n", ""))
    old, new = {
        "new": (None, base), "moved": (base, moved), "described": (base, described),
        "deleted": (base, None), "uninvited": (base, uninvited),
    }[scenario]
    plan = h.organizer_plan(old, new)
    message = h.message_to(plan, "bob@example.net")
    back = h.reparse(h.render(message, changes=plan.changes))
    assert back["Subject"].strip() == subject


@pytest.mark.parametrize(
    ("partstat", "subject"),
    [
        ("ACCEPTED", "Accepted: Offsite @ Tue 10 Jun 2025 - Wed 11 Jun 2025 (all day)"),
        ("DECLINED", "Declined: Offsite @ Tue 10 Jun 2025 - Wed 11 Jun 2025 (all day)"),
        ("TENTATIVE", "Tentative: Offsite @ Tue 10 Jun 2025 - Wed 11 Jun 2025 (all day)"),
    ],
)
def test_subject_per_reply(partstat, subject, h):
    back = h.reparse(h.render(h.reply(partstat), token=""))
    assert back["Subject"].strip() == subject


@pytest.mark.parametrize(
    ("reason", "sequence", "changes", "is_update", "action"),
    [
        ("attendee added", 0, (), None, Action.INVITATION),
        ("attendee added", 4, ("event moved: DTSTART changed",), None, Action.INVITATION),
        ("event moved: DTSTART changed", 1, (), None, Action.UPDATE),
        ("details updated: DESCRIPTION changed", 0, ("details updated: DESCRIPTION changed",), None,
         Action.UPDATE),
        ("SCHEDULE-FORCE-SEND=REQUEST", 0, (), None, Action.INVITATION),
        ("event moved: DTSTART changed", 3, (), False, Action.INVITATION),
        ("attendee added", 0, (), True, Action.UPDATE),
    ],
    ids=["new", "new-to-old-event", "sequence", "changes", "resend", "override-new", "override-update"],
)
def test_update_detection(reason, sequence, changes, is_update, action, h):
    message = dataclasses.replace(h.invite(), reason=reason, sequence=sequence)
    back = h.reparse(h.render(message, changes=changes, is_update=is_update))
    assert back["Subject"].strip().startswith(action.value + ": ")


def test_subject_without_summary(h, base):
    back = h.reparse(h.render(h.invite(h.edit(base, ("SUMMARY:Planning\n", "")))))
    assert back["Subject"].strip() == f"Invitation: (no title) @ {WHEN}"


def test_subject_names_a_recurrence_in_words(h, base):
    weekly = h.edit(base, ("SUMMARY:Planning", "SUMMARY:Planning\nRRULE:FREQ=WEEKLY;COUNT=4"))
    back = h.reparse(h.render(h.invite(weekly)))
    assert back["Subject"].strip() == f"Invitation: Planning @ {WHEN}, every week on Tuesday, 4 times"


# -- header injection and encoding --------------------------------------------


@pytest.mark.parametrize(
    "summary",
    [
        "Hi\\nBcc: x@evil.example",  # an escaped newline in the iCalendar text
        "Hi\\r\\nBcc: x@evil.example",
        "Hi\u2028Bcc: x@evil.example",
        "Hi\x85Bcc: x@evil.example",
    ],
)
def test_summary_cannot_inject_headers(summary, h, base):
    text = h.edit(base, ("SUMMARY:Planning", f"SUMMARY:{summary}"))
    raw = h.render(h.invite(text)).as_bytes()
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert len(back.get_all("Subject")) == 1
    assert back.get_all("Bcc") is None
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in header_block and b"\rBcc:" not in header_block
    body_lines = back.get_body(("plain",)).get_content().splitlines()
    assert not any(line.startswith("Bcc:") for line in body_lines)
    assert any(line.startswith("What:") and line.endswith("Bcc: x@evil.example") for line in body_lines)
    assert back["Subject"].strip().startswith("Invitation: Hi")
    assert "Bcc: x@evil.example @ Tue" in back["Subject"]


def test_summary_with_raw_control_characters_is_scrubbed(h, request_msg):
    message = _with_summary(request_msg, "Hi\r\nBcc: x@evil.example\x00\x1b[31m")
    back = h.reparse(h.render(message))
    assert back.get_all("Bcc") is None
    assert len(back.get_all("Subject")) == 1
    assert not any(ord(c) < 32 for c in back["Subject"])


@pytest.mark.parametrize(
    "name",
    ["Bob\r\nBcc: x@evil.example", "Bob\nBcc: x@evil.example", 'Bob" <x@evil.example>, "Eve'],
)
def test_attendee_cn_cannot_inject_headers_or_addresses(name, h, request_msg):
    message = _with_cn(request_msg, "mailto:bob@example.net", name)
    back = h.reparse(h.render(message))
    assert back.get_all("Bcc") is None
    assert [a.addr_spec for a in back["To"].addresses] == ["bob@example.net"]
    assert len(back.get_all("To")) == 1


@pytest.mark.parametrize("field", ["organizer_name", "service_name"])
def test_names_given_by_the_caller_are_scrubbed_too(field, h, request_msg):
    back = h.reparse(h.render(request_msg, **{field: "Alice\r\nBcc: x@evil.example"}))
    assert back.get_all("Bcc") is None
    assert [a.addr_spec for a in back["From"].addresses] == ["calendar@cal.example.com"]


@pytest.mark.parametrize(
    ("name", "summary"),
    [("Jürgen Müller", "Überprüfung"), ("山田太郎", "会議"), ("Zoë 🎉", "Café ☕")],
)
def test_non_ascii_names_are_encoded_and_survive(name, summary, h, base):
    text = h.edit(base, ("SUMMARY:Planning", f"SUMMARY:{summary}"),
                  ("CN=Bob Jones", f"CN={name}"))
    raw = h.render(h.invite(text), organizer_name=name).as_bytes()
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    header_block.decode("ascii")  # RFC 2047 encoded words, no raw 8-bit
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert back["To"].addresses[0].display_name == name
    assert back["From"].addresses[0].display_name == f"{name} via caldav_sched"
    assert back["Subject"].strip().startswith(f"Invitation: {summary} @ ")
    assert str(h.calendar_of(back).walk("VEVENT")[0]["SUMMARY"]) == summary


def test_a_very_long_summary_is_capped_in_the_subject(h, base):
    back = h.reparse(h.render(h.invite(h.edit(base, ("SUMMARY:Planning", "SUMMARY:" + "x" * 2000)))))
    assert len(back["Subject"]) <= 200
    assert str(h.calendar_of(back).walk("VEVENT")[0]["SUMMARY"]) == "x" * 2000


# -- the calendar as mailed ---------------------------------------------------


def test_organizer_is_the_token_address_with_real_cn_and_email(request_msg, h):
    event = h.calendar_of(h.reparse(h.render(request_msg))).walk("VEVENT")[0]
    token_uri = f"mailto:calendar+{h.TOKEN}@cal.example.com"
    organizer = event["ORGANIZER"]
    assert str(organizer) == token_uri
    assert organizer.params["CN"] == "Alice Smith"
    assert organizer.params["EMAIL"] == "alice@example.com"
    own = [a for a in event["ATTENDEE"] if a.params.get("EMAIL") == "alice@example.com"]
    assert [str(a) for a in own] == [token_uri]
    assert "mailto:alice@example.com" not in [str(a).lower() for a in event["ATTENDEE"]]


def test_missing_organizer_cn_is_filled_from_the_account_name(h, base):
    text = h.edit(base, ("ORGANIZER;CN=Alice Smith:", "ORGANIZER:"),
                  ("ATTENDEE;CN=Alice Smith;PARTSTAT=ACCEPTED", "ATTENDEE;PARTSTAT=ACCEPTED"))
    back = h.reparse(h.render(h.invite(text), organizer_name="Alice Account"))
    assert back["From"].addresses[0].display_name == "Alice Account via caldav_sched"
    event = h.calendar_of(back).walk("VEVENT")[0]
    assert event["ORGANIZER"].params["CN"] == "Alice Account"


def test_the_engine_message_is_not_modified(request_msg, h):
    before = request_msg.to_ical()
    h.render(request_msg)
    assert request_msg.to_ical() == before


def test_reply_calendar_keeps_the_real_organizer_and_attendee(reply_msg, h):
    event = h.calendar_of(h.reparse(h.render(reply_msg, token=""))).walk("VEVENT")[0]
    assert str(event["ORGANIZER"]) == "mailto:olga@external.example"
    assert str(event["ATTENDEE"]) == "mailto:bob@example.com"
    assert event["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"


@pytest.mark.parametrize("kind", ["request", "cancel", "reply"])
def test_parsed_back_calendar_matches_the_message(kind, request, h):
    message = request.getfixturevalue(f"{kind}_msg")
    cal = h.calendar_of(h.reparse(h.render(message, token=h.TOKEN)))
    event = cal.walk("VEVENT")[0]
    assert str(event["UID"]) == message.uid
    assert int(event["SEQUENCE"]) == message.sequence
    assert str(cal["METHOD"]) == message.method.value
    sent = {str(a).lower(): dict(a.params) for a in _attendees(event)}
    original = {str(a).lower(): dict(a.params) for a in _attendees(message.calendar.walk("VEVENT")[0])}
    for address, params in original.items():
        if "calendar+" in address or address not in sent:
            continue
        assert sent[address].get("PARTSTAT") == params.get("PARTSTAT")
        assert sent[address].get("RSVP") == params.get("RSVP")


def test_attendee_partstat_and_rsvp_survive(request_msg, h):
    event = h.calendar_of(h.reparse(h.render(request_msg))).walk("VEVENT")[0]
    bob = next(a for a in event["ATTENDEE"] if str(a) == "mailto:bob@example.net")
    assert bob.params["PARTSTAT"] == "NEEDS-ACTION"
    assert bob.params["RSVP"] == "TRUE"


def test_enumerated_values_are_upper_case(h, request_msg):
    lower = _map_lines(request_msg, lambda line: line.params.update(
        {k: v.lower() for k, v in line.params.items() if k in ("PARTSTAT", "ROLE", "RSVP")}))
    data = h.calendar_bytes(h.reparse(h.render(lower)))
    assert b"PARTSTAT=NEEDS-ACTION" in data and b"ROLE=OPT-PARTICIPANT" in data
    assert b"needs-action" not in data.lower().replace(b"needs-action", b"") and b"=accepted" not in data


def test_cancel_calendar_is_a_cancel(cancel_msg, h):
    cal = h.calendar_of(h.reparse(h.render(cancel_msg)))
    event = cal.walk("VEVENT")[0]
    assert str(cal["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["ORGANIZER"]) == f"mailto:calendar+{h.TOKEN}@cal.example.com"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("DTSTART;TZID=Europe/Berlin:20250610T090000", "DTEND;TZID=America/New_York:20250610T100000"),
        ("DTSTART;TZID=Asia/Tokyo:20250610T090000", "DTEND;TZID=Asia/Tokyo:20250610T100000"),
        ("DTSTART:20250610T090000Z", "DTEND:20250610T100000Z"),
    ],
)
def test_every_tzid_has_its_vtimezone(start, end, h, base):
    text = h.edit(base, ("DTSTART;TZID=Europe/Berlin:20250610T090000", start),
                  ("DTEND;TZID=Europe/Berlin:20250610T100000", end))
    cal = h.calendar_of(h.reparse(h.render(h.invite(text))))
    zones = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    assert cal.get_used_tzids() <= zones


def test_vtimezone_is_added_when_the_message_lacks_it(h):
    cal = Calendar.from_ical(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nMETHOD:REQUEST\r\n"
        "BEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20250601T120000Z\r\nSEQUENCE:0\r\n"
        "DTSTART;TZID=Europe/Paris:20250610T090000\r\nSUMMARY:Bare\r\n"
        "ORGANIZER;CN=Alice Smith:mailto:alice@example.com\r\n"
        "ATTENDEE;PARTSTAT=needs-action;RSVP=TRUE:mailto:bob@example.net\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    message = ItipMessage(Method.REQUEST, "mailto:bob@example.net", "mailto:alice@example.com",
                          "u1", 0, "test", calendar=cal)
    sent = h.calendar_of(h.reparse(h.render(message)))
    assert [str(tz["TZID"]) for tz in sent.walk("VTIMEZONE")] == ["Europe/Paris"]
    assert sent.subcomponents[0].name == "VTIMEZONE"


def test_lower_case_method_is_written_upper_case(h):
    cal = Calendar.from_ical(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nMETHOD:request\r\n"
        "BEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20250601T120000Z\r\nDTSTART:20250610T090000Z\r\n"
        "ORGANIZER:mailto:alice@example.com\r\nATTENDEE:mailto:bob@example.net\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    message = ItipMessage(Method.REQUEST, "mailto:bob@example.net", "mailto:alice@example.com",
                          "u1", 0, "test", calendar=cal)
    back = h.reparse(h.render(message))
    assert b"METHOD:REQUEST\r\n" in h.calendar_bytes(back)


# -- refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"now": datetime(2025, 6, 1, 12, 0)},  # naive: the Date header would lie
        {"token": ""},
        {"token": "UPPER" * 6},
        {"message_id": "no-at-sign"},
        {"message_id": "<a@b>\r\nBcc: x@evil.example"},
        {"from_address": "not an address"},
    ],
)
def test_bad_arguments_are_refused(overrides, request_msg, h):
    with pytest.raises(ValueError):
        h.render(request_msg, **overrides)


def test_message_id_gets_angle_brackets(request_msg, h):
    back = h.reparse(h.render(request_msg, message_id="x1@cal.example.com"))
    assert back["Message-ID"] == "<x1@cal.example.com>"


def test_a_recipient_that_is_not_a_mailbox_is_refused(h, request_msg):
    odd = ItipMessage(Method.REQUEST, "urn:uuid:1234", request_msg.sender, request_msg.uid,
                      0, "test", calendar=request_msg.calendar)
    with pytest.raises(ValueError):
        h.render(odd)


def test_render_imip_is_exported():
    assert callable(render_imip)


# -- helpers for hand-made variations of engine messages ------------------------


def _attendees(event):
    value = event.get("ATTENDEE", [])
    return value if isinstance(value, list) else [value]


def _copy(message, cal):
    return ItipMessage(message.method, message.recipient, message.sender, message.uid,
                       message.sequence, message.reason, message.recurrence_ids,
                       message.includes_master, calendar=cal)


def _with_summary(message, summary):
    cal = parse_calendar(message.to_ical().decode())
    event = cal.walk("VEVENT")[0]
    event.pop("SUMMARY")
    event.add("SUMMARY", summary)
    return _copy(message, cal)


def _with_cn(message, address, name):
    def change(line):
        if str(line).lower() == address:
            line.params["CN"] = name
    return _map_lines(message, change)


def _map_lines(message, change):
    cal = parse_calendar(message.to_ical().decode())
    for event in cal.walk("VEVENT"):
        for line in _attendees(event):
            change(line)
    return _copy(message, cal)


def test_an_international_domain_is_written_in_idna(h, base):
    text = h.edit(base, ("mailto:bob@example.net", "mailto:bob@bücher.example"))
    back = h.reparse(h.render(h.invite(text, to="bob@bücher.example")))
    assert back["To"].addresses[0].addr_spec == "bob@xn--bcher-kva.example"


def test_a_non_ascii_local_part_is_refused_not_mangled(h, base):
    # The engine plans no message to it (SCHEDULE-STATUS 3.7 at once), and
    # the header boundary refuses it should one ever be asked for.
    text = h.edit(base, ("mailto:bob@example.net", "mailto:jürgen@example.net"))
    plan = h.organizer_plan(None, text)
    assert "mailto:jürgen@example.net" not in [m.recipient for m in plan.messages]
    with pytest.raises(ValueError):
        header_address("mailto:jürgen@example.net")


@pytest.mark.parametrize(
    ("organizer_name", "service_name", "display"),
    [
        (None, "caldav_sched", "alice@example.com via caldav_sched"),
        ("", "Example Cal", "alice@example.com via Example Cal"),
        ("Alice", "", "Alice via caldav_sched"),
    ],
)
def test_from_display_name_fallbacks(organizer_name, service_name, display, h, base):
    text = h.edit(base, ("ORGANIZER;CN=Alice Smith:", "ORGANIZER:"))
    back = h.reparse(h.render(h.invite(text), organizer_name=organizer_name, service_name=service_name))
    assert back["From"].addresses[0].display_name == display
    assert back["From"].addresses[0].addr_spec == "calendar@cal.example.com"


@pytest.mark.parametrize(
    ("method", "partstat", "action"),
    [
        (Method.REPLY, "ACCEPTED", Action.ACCEPTED),
        (Method.REPLY, "DELEGATED", Action.DELEGATED),
        (Method.REPLY, "ATTENDING", Action.ACCEPTED),  # the walkthrough's spelling
        (Method.REPLY, "X-UNKNOWN", Action.REPLY),
        (Method.COUNTER, "NEEDS-ACTION", Action.COUNTER),
        (Method.REFRESH, "NEEDS-ACTION", Action.REFRESH),
    ],
)
def test_classify_attendee_messages(method, partstat, action, h):
    from caldav_sched.domain.imip import classify
    from caldav_sched.domain.imip.summary import primary_component

    message = h.reply("ACCEPTED")
    cal = parse_calendar(message.to_ical().decode().replace("PARTSTAT=ACCEPTED", f"PARTSTAT={partstat}"))
    message = dataclasses.replace(message, method=method, calendar=cal)
    assert classify(message, primary_component(cal)) is action
    back = h.reparse(h.render(message, token=""))
    assert back["Subject"].strip().startswith(f"{action.value}: Offsite @ ")

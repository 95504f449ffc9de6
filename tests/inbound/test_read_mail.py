"""Focused rules of ``read_mail`` and ``token_candidates``, on messages built here.

Each test builds the smallest mail that shows one rule: de-duplication,
charsets, forwarded messages, the MIME/body method disagreement, the size
limit, a bad part beside a good one, the automation marks, token order.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from caldav_sched.domain.imip.inbound import (
    InboundMail,
    NotMail,
    Recipients,
    read_mail,
    token_candidates,
)
from caldav_sched.errors import CaldavSchedError

CORPUS = Path(__file__).parent / "corpus"
FROM = "calendar@cal.example.com"
TOKEN = "abcdefghijklmnopqrstuvwxyz"
OTHER = "zyxwvutsrqponmlkjihgfedcba"
THIRD = "aaaaaaaaaabbbbbbbbbbcccccc"
FOURTH = "ddddddddddeeeeeeeeeeffffff"
FIFTH = "gggggggggghhhhhhhhhhiiiiii"


def address(token: str) -> str:
    return f"calendar+{token}@cal.example.com"


def calendar(uid: str = "identifier", *, method: str | None = "REPLY", partstat: str = "ACCEPTED",
             attendee: str = "b@example.com", cn: str = "Bob", extra: str = "") -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//test//EN"]
    if method:
        lines.append(f"METHOD:{method}")
    lines += [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20180705T120000Z",
        "SEQUENCE:0",
        f"ATTENDEE;CN={cn};PARTSTAT={partstat}:mailto:{attendee}",
    ]
    if extra:
        lines.append(extra)
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def leaf(body: bytes | str, *, ctype: str = "text/calendar; charset=utf-8; method=REPLY",
         encoding: str = "base64", disposition: str | None = None) -> bytes:
    data = body.encode("utf-8") if isinstance(body, str) else body
    if encoding == "base64":
        payload = base64.encodebytes(data)
    else:
        payload = data
    head = f"Content-Type: {ctype}\r\nContent-Transfer-Encoding: {encoding}\r\n"
    if disposition:
        head += f"Content-Disposition: {disposition}\r\n"
    return head.encode("ascii") + b"\r\n" + payload


def mail(*parts: bytes, headers: str = "", subtype: str = "mixed") -> bytes:
    head = (
        "From: Bob <b@example.com>\r\n"
        f"To: {address(TOKEN)}\r\n"
        "Subject: Accepted: Main Event\r\n"
        "Message-ID: <test.1@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        + headers
    )
    if len(parts) == 1:
        return head.encode("ascii") + parts[0]
    body = b""
    for part in parts:
        body += b"--BOUNDARY\r\n" + part + b"\r\n"
    body += b"--BOUNDARY--\r\n"
    head += f'Content-Type: multipart/{subtype}; boundary="BOUNDARY"\r\n\r\n'
    return head.encode("ascii") + body


# --- de-duplication -----------------------------------------------------------


def test_same_calendar_twice_gives_one_part():
    cal = calendar()
    result = read_mail(mail(
        leaf(cal),
        leaf(cal, ctype='application/ics; name="invite.ics"', disposition='attachment; filename="invite.ics"'),
    ))
    assert len(result.parts) == 1
    assert result.parts[0].content_type == "text/calendar"  # the first one is kept


def test_same_calendar_in_other_encodings_and_line_ends_has_one_digest():
    cal = calendar()
    result = read_mail(mail(
        leaf(cal, encoding="8bit"),
        leaf(cal.replace("\r\n", "\n"), ctype="application/ics"),
        leaf(cal.encode("utf-8").hex().encode("ascii"), ctype="text/plain"),  # not a calendar at all
    ))
    assert len(result.parts) == 1


def test_gmail_duplicate_is_dropped_but_both_were_calendars():
    raw = (CORPUS / "gmail_reply_accepted.eml").read_bytes()
    assert raw.count(b"text/calendar") + raw.count(b"application/ics") == 2
    assert len(read_mail(raw).parts) == 1


def test_distinct_calendars_are_all_kept():
    result = read_mail(mail(leaf(calendar("one")), leaf(calendar("two")), leaf(calendar("one", partstat="DECLINED"))))
    assert [str(p.calendar.walk("VEVENT")[0]["UID"]) for p in result.parts] == ["one", "two", "one"]


def test_several_vcalendars_in_one_part_are_each_read():
    result = read_mail(mail(leaf(calendar("one") + "\r\n" + calendar("two"))))
    assert len(result.parts) == 2


# --- charsets and transfer encodings ------------------------------------------


def test_declared_latin1_cn_is_decoded():
    cal = calendar(cn="Bérénice Müller").encode("latin-1")
    result = read_mail(mail(leaf(cal, ctype="text/calendar; charset=ISO-8859-1; method=REPLY", encoding="8bit")))
    line = result.parts[0].calendar.walk("VEVENT")[0]["ATTENDEE"]
    assert line.params["CN"] == "Bérénice Müller"
    assert result.problems == ()


def test_other_declared_charsets_are_honoured():
    cal = calendar(cn="Łukasz Żółw").encode("iso-8859-2")
    result = read_mail(mail(leaf(cal, ctype='text/calendar; charset="iso-8859-2"; method=REPLY')))
    assert result.parts[0].calendar.walk("VEVENT")[0]["ATTENDEE"].params["CN"] == "Łukasz Żółw"


def test_undeclared_utf8_is_read_as_utf8_without_a_note():
    result = read_mail(mail(leaf(calendar(cn="Zoë"), ctype="text/calendar; method=REPLY", encoding="8bit")))
    assert result.parts[0].calendar.walk("VEVENT")[0]["ATTENDEE"].params["CN"] == "Zoë"
    assert result.problems == ()


def test_wrongly_declared_utf8_falls_back_to_latin1_with_a_note():
    cal = calendar(cn="Müller").encode("latin-1")
    result = read_mail(mail(leaf(cal, ctype="text/calendar; charset=utf-8; method=REPLY")))
    assert result.parts[0].calendar.walk("VEVENT")[0]["ATTENDEE"].params["CN"] == "Müller"
    assert result.problems == ("calendar part is not valid utf-8; read as ISO-8859-1",)


@pytest.mark.parametrize("charset", ["x-no-such-charset", "rot13", "base64"])
def test_unknown_or_non_text_charset_falls_back(charset):
    result = read_mail(mail(leaf(calendar(), ctype=f"text/calendar; charset={charset}; method=REPLY")))
    assert len(result.parts) == 1
    assert any("read as UTF-8" in note for note in result.problems)


def test_utf8_bom_is_ignored():
    result = read_mail(mail(leaf(b"\xef\xbb\xbf" + calendar().encode())))
    assert len(result.parts) == 1


def test_quoted_printable_with_encoded_crlf_equals_base64():
    cal = calendar()
    qp = "=\r\n".join(
        chunk for chunk in _chunks(cal.replace("=", "=3D").replace("\r\n", "=0D=0A"), 70)
    )
    result = read_mail(mail(
        leaf(qp, encoding="quoted-printable"),
        leaf(cal),
    ))
    assert len(result.parts) == 1


def _chunks(text: str, size: int) -> list[str]:
    # Never split an =XX escape across a soft line break.
    out, current = [], ""
    i = 0
    while i < len(text):
        step = 3 if text[i] == "=" else 1
        if len(current) + step > size:
            out.append(current)
            current = ""
        current += text[i:i + step]
        i += step
    return out + [current]


def test_folded_lines_and_bare_lf_parse():
    cal = calendar(extra="COMMENT:a long comment that a client\r\n  folded over two lines").replace("\r\n", "\n")
    result = read_mail(mail(leaf(cal, encoding="8bit")))
    comment = str(result.parts[0].calendar.walk("VEVENT")[0]["COMMENT"])
    assert comment == "a long comment that a client folded over two lines"


# --- where calendars are found, and where not ---------------------------------


def test_calendar_as_the_whole_body():
    raw = mail(leaf(calendar()))
    assert len(read_mail(raw).parts) == 1


def test_ics_attachment_with_a_generic_type():
    result = read_mail(mail(
        leaf("Accepted", ctype="text/plain", encoding="7bit"),
        leaf(calendar(), ctype='application/octet-stream; name="reply.ICS"', disposition="attachment"),
    ))
    assert [p.filename for p in result.parts] == ["reply.ICS"]


def test_other_attachments_are_not_calendars():
    result = read_mail(mail(
        leaf(calendar(), ctype='application/octet-stream; name="notes.txt"'),
        leaf(calendar(), ctype="text/plain; charset=utf-8"),
    ))
    assert result.parts == ()
    assert "no calendar part" in result.problems


def test_forwarded_message_is_never_read_but_the_own_calendar_is():
    inner = mail(leaf(calendar("forwarded", method="REQUEST", partstat="NEEDS-ACTION")))
    outer = mail(
        leaf(calendar("own")),
        b"Content-Type: message/rfc822\r\n\r\n" + inner,
    )
    result = read_mail(outer)
    assert [str(p.calendar.walk("VEVENT")[0]["UID"]) for p in result.parts] == ["own"]
    assert any("forwarded message ignored" in note for note in result.problems)


def test_forwarded_message_inside_nested_multipart_is_not_read():
    inner = mail(leaf(calendar("forwarded")))
    nested = b'Content-Type: multipart/mixed; boundary="INNER"\r\n\r\n--INNER\r\n' + \
        b"Content-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--INNER--\r\n"
    result = read_mail(mail(leaf("see below", ctype="text/plain", encoding="7bit"), nested))
    assert result.parts == ()


def test_tnef_beside_a_calendar_is_noted_as_ignored():
    result = read_mail(mail(
        leaf(calendar()),
        leaf(b"\x78\x9f\x3e\x22" + bytes(40), ctype='application/ms-tnef; name="winmail.dat"'),
    ))
    assert len(result.parts) == 1
    assert "Outlook TNEF attachment (winmail.dat) ignored" in result.problems


# --- methods --------------------------------------------------------------------


def test_body_method_wins_over_mime_method_and_is_noted():
    result = read_mail(mail(leaf(calendar(method="REPLY"), ctype="text/calendar; method=CANCEL")))
    (part,) = result.parts
    assert (part.method, part.mime_method) == ("REPLY", "CANCEL")
    assert any("disagrees" in note for note in result.problems)


def test_mime_method_fills_a_missing_body_method():
    result = read_mail(mail(leaf(calendar(method=None), ctype="text/calendar; method=reply")))
    (part,) = result.parts
    assert part.method == "REPLY"
    assert str(part.calendar["METHOD"]) == "REPLY"
    assert result.problems == ()


def test_no_method_anywhere_gives_an_empty_method_and_a_note():
    result = read_mail(mail(leaf(calendar(method=None), ctype="text/calendar")))
    (part,) = result.parts
    assert part.method == "" and "METHOD" not in part.calendar
    assert any("without an iTIP method" in note for note in result.problems)


def test_mixed_case_method_and_reply_status_are_normalised():
    result = read_mail(mail(leaf(calendar(method="Reply", extra="STATUS:CONFIRMED"), ctype="text/calendar")))
    (part,) = result.parts
    assert part.method == "REPLY"
    assert str(part.calendar["METHOD"]) == "REPLY"
    assert "STATUS" not in part.calendar.walk("VEVENT")[0]


def test_request_keeps_its_status():
    result = read_mail(mail(leaf(calendar(method="REQUEST", extra="STATUS:CONFIRMED"))))
    assert "STATUS" in result.parts[0].calendar.walk("VEVENT")[0]


# --- limits and bad parts ---------------------------------------------------------


def test_size_limit_applies_to_the_decoded_part():
    cal = calendar()
    size = len(cal.encode())
    assert len(read_mail(mail(leaf(cal)), max_calendar_size=size).parts) == 1
    result = read_mail(mail(leaf(cal)), max_calendar_size=size - 1)
    assert result.parts == ()
    assert any("over the size limit" in note for note in result.problems)


def test_oversize_corpus_message_reads_under_the_default_limit():
    result = read_mail((CORPUS / "oversize_calendar.eml").read_bytes())
    assert [p.method for p in result.parts] == ["REPLY"]


def test_a_bad_calendar_is_skipped_and_the_good_one_kept():
    broken = "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nthis is not a content line\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    result = read_mail(mail(leaf(broken), leaf(calendar("good"))))
    assert [str(p.calendar.walk("VEVENT")[0]["UID"]) for p in result.parts] == ["good"]
    assert any("could not be parsed" in note for note in result.problems)


def test_a_rule_that_never_moves_is_skipped_with_its_reason():
    """INTERVAL=0 would have dateutil walk the rule forever (RFC 5545 3.3.10 wants it positive)."""
    endless = calendar("endless", method="REQUEST", extra="DTSTART:20180710T100000Z\r\nRRULE:FREQ=DAILY;INTERVAL=0")
    result = read_mail(mail(leaf(endless), leaf(calendar("good"))))
    assert [str(p.calendar.walk("VEVENT")[0]["UID"]) for p in result.parts] == ["good"]
    assert any("INTERVAL below 1" in note for note in result.problems)


def test_a_zone_whose_rule_never_recurs_is_skipped_with_its_reason():
    """Every conversion in such a zone would walk its rule to the year 9999."""
    zone = (
        "BEGIN:VTIMEZONE\r\nTZID:Odd/Zone\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
        "DTSTART:19701025T030000\r\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    )
    odd = calendar("odd", method="REQUEST").replace("BEGIN:VEVENT", zone + "BEGIN:VEVENT", 1)
    result = read_mail(mail(leaf(odd), leaf(calendar("good"))))
    assert [str(p.calendar.walk("VEVENT")[0]["UID"]) for p in result.parts] == ["good"]
    assert any("no onset" in note for note in result.problems)


def test_an_event_whose_rule_has_no_instance_is_read_and_indexed_promptly():
    """Valid iCalendar (the series is DTSTART alone): kept, and cheap to index."""
    import threading
    from datetime import datetime, timezone

    from caldav_sched.domain.time_index import time_index

    odd = calendar("odd", method="REQUEST", extra="DTSTART:20270105T100000Z\r\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")
    result = read_mail(mail(leaf(odd)))
    (part,) = result.parts
    rows: list = []
    worker = threading.Thread(
        target=lambda: rows.extend(time_index(part.calendar, datetime(2026, 12, 7, tzinfo=timezone.utc)).rows),
        daemon=True,
    )
    worker.start()
    worker.join(3.0)
    assert not worker.is_alive()
    assert len(rows) == 1


@pytest.mark.parametrize("body", [
    b"no calendar here",
    b"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n",  # cut short
    b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",  # empty
    b"BEGIN:VCALENDAR\r\nDTSTART:notadate\r\nBEGIN:VEVENT\r\nDTSTART:2018-07-10\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    bytes(range(256)),
])
def test_unreadable_calendar_parts_never_raise(body):
    result = read_mail(mail(leaf(body)))
    assert isinstance(result, InboundMail)
    assert result.problems


def test_broken_base64_does_not_raise():
    raw = mail(b"Content-Type: text/calendar; method=REPLY\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@!!!***\r\n")
    assert isinstance(read_mail(raw), InboundMail)


def test_multipart_without_its_boundary_is_noted():
    raw = (
        b"From: b@example.com\r\nContent-Type: multipart/mixed; boundary=\"NOPE\"\r\n\r\n"
        + calendar().encode()
    )
    result = read_mail(raw)
    assert result.parts == ()


# --- not mail ---------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00\x01\x02\x03",
    b"hello world, this is just text\r\nwith two lines\r\n",
    b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
    b"\x89PNG\r\n\x1a\n",
])
def test_not_mail(raw):
    with pytest.raises(NotMail):
        read_mail(raw)


def test_not_mail_is_a_project_error():
    assert issubclass(NotMail, CaldavSchedError)


def test_headers_only_is_mail():
    result = read_mail(b"From: b@example.com\r\nSubject: hi\r\n")
    assert result.from_address == "b@example.com" and result.parts == ()


def test_mbox_from_line_is_tolerated():
    raw = b"From b@example.com Thu Jul  5 12:00:00 2018\n" + mail(leaf(calendar()))
    assert len(read_mail(raw).parts) == 1


# --- header fields -----------------------------------------------------------------


@pytest.mark.parametrize(("header", "automatic"), [
    ("", False),
    ("Auto-Submitted: no\r\n", False),
    ("Auto-Submitted: auto-generated\r\n", True),
    ("Auto-Submitted: auto-replied; owner-email=\"c@example.com\"\r\n", True),
    ("Auto-Submitted: Auto-Notified\r\n", True),
    ("Precedence: bulk\r\n", True),
    ("Precedence: junk\r\n", True),
    ("Precedence: list\r\n", True),
    ("Precedence: first-class\r\n", False),
    ("X-Autoreply: yes\r\n", True),
    ("X-Autorespond: Out of office\r\n", True),
    ("Return-Path: <>\r\n", True),
    ("Return-Path: <b@example.com>\r\n", False),
])
def test_auto_submitted(header, automatic):
    assert read_mail(mail(leaf(calendar()), headers=header)).auto_submitted is automatic


def test_authentication_results_are_kept_raw_in_order():
    headers = (
        "Authentication-Results: mx.cal.example.com;\r\n\tdkim=pass header.d=example.com;\r\n\tdmarc=pass\r\n"
        "Authentication-Results: relay.example.net; spf=fail smtp.mailfrom=b@example.com\r\n"
    )
    result = read_mail(mail(leaf(calendar()), headers=headers))
    assert result.authentication_results == (
        "mx.cal.example.com; dkim=pass header.d=example.com; dmarc=pass",
        "relay.example.net; spf=fail smtp.mailfrom=b@example.com",
    )


def test_from_with_two_mailboxes_has_no_from_address():
    raw = b"From: a@example.com, b@example.com\r\nTo: x@example.com\r\n\r\nhi\r\n"
    result = read_mail(raw)
    assert result.from_address is None
    assert "a@example.com" in result.from_header


def test_from_address_is_lower_cased_and_bare():
    raw = b'From: "Bob (work)" <Bob@Example.COM>\r\nSubject: =?utf-8?q?Zu=C3=B6sage?=\r\n\r\n'
    result = read_mail(raw)
    assert (result.from_address, result.from_header, result.subject) == (
        "bob@example.com", '"Bob (work)" <Bob@Example.COM>', "Zuösage"
    )


def test_encoded_newlines_cannot_split_the_subject():
    raw = b"From: b@example.com\r\nSubject: =?utf-8?q?Hi=0D=0ABcc:_x@evil.example?=\r\n\r\n"
    assert "\n" not in read_mail(raw).subject


def test_message_id():
    assert read_mail(mail(leaf(calendar()))).message_id == "<test.1@example.com>"
    assert read_mail(b"From: b@example.com\r\n\r\n").message_id is None


def test_recipients_are_bare_mailboxes_in_header_order():
    raw = (
        f"Delivered-To: {address(TOKEN)}\r\nDelivered-To: Calendar@Cal.Example.com\r\n"
        f"X-Original-To: {address(OTHER)}\r\n"
        f'From: b@example.com\r\nTo: "Alice" <A@Example.com>, {address(THIRD)}\r\n'
        "Cc: undisclosed-recipients:;\r\n\r\n"
    ).encode()
    assert read_mail(raw).recipients == Recipients(
        to=("a@example.com", address(THIRD)),
        cc=(),
        delivered_to=(address(TOKEN), "calendar@cal.example.com"),
        x_original_to=(address(OTHER),),
    )


# --- tokens -----------------------------------------------------------------------


def _mail_with(recipients: Recipients) -> InboundMail:
    return InboundMail(
        message_id=None, from_address=None, from_header="", subject="", recipients=recipients,
        auto_submitted=False, bounce=None, parts=(), authentication_results=(), problems=(),
    )


def test_token_order_is_envelope_delivered_original_to_cc():
    mail_ = _mail_with(Recipients(
        to=(address(FOURTH), "a@example.com"),
        cc=(address(FIFTH),),
        delivered_to=(address(OTHER),),
        x_original_to=(address(THIRD), address(OTHER)),
    ))
    got = token_candidates(mail_, envelope_recipients=[f"<{address(TOKEN).upper()}>"], from_address=FROM)
    assert got == (TOKEN, OTHER, THIRD, FOURTH, FIFTH)


def test_foreign_and_malformed_addresses_give_no_token():
    mail_ = _mail_with(Recipients(
        to=(f"calendar+{TOKEN}@other.example.com", "calendar@cal.example.com", "calendar+short@cal.example.com"),
        delivered_to=(f"other+{TOKEN}@cal.example.com",),
    ))
    assert token_candidates(mail_, envelope_recipients=["", "garbage"], from_address=FROM) == ()


def test_bcc_reply_is_found_through_delivery_headers_only():
    result = read_mail((CORPUS / "bcc_delivered.eml").read_bytes())
    assert TOKEN not in " ".join(result.recipients.to + result.recipients.cc)
    assert token_candidates(result, envelope_recipients=(), from_address=FROM) == (TOKEN,)


# --- bounces ----------------------------------------------------------------------


def test_dsn_fields():
    result = read_mail((CORPUS / "dsn_failed_with_original.eml").read_bytes())
    bounce = result.bounce
    assert bounce is not None
    (failed,) = bounce.failed
    assert failed.recipient == "c@example.com"
    assert failed.original_recipient == "c@example.com"
    assert failed.remote_mta == "mx.example.com"
    assert failed.diagnostic is not None and failed.diagnostic.startswith("smtp; 550 5.1.1")
    assert bounce.reporting_mta == "mail.cal.example.com"
    assert bounce.original_message_id == "<inv-7c1e2d3f4a5b@cal.example.com>"
    assert bounce.original_subject == "Invitation: Main Event"
    assert bounce.original_to == ("c@example.com",)
    assert [p.method for p in bounce.original_parts] == ["REQUEST"]  # the duplicate .ics dropped
    assert result.parts == ()  # the returned invitation is not the mail's own


def test_delayed_dsn_is_not_a_bounce():
    result = read_mail((CORPUS / "dsn_delayed.eml").read_bytes())
    assert result.bounce is None and result.auto_submitted


def test_dsn_with_several_recipients_lists_only_failures():
    status = (
        "Reporting-MTA: dns; mx.cal.example.com\r\n\r\n"
        "Final-Recipient: rfc822; b@example.com\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n"
        "Final-Recipient: rfc822;<C@Example.com>\r\nAction: Failed\r\nStatus: 5.7.1 (delivery not authorized)\r\n\r\n"
        "Final-Recipient: rfc822; d@example.com\r\nAction: failed\r\nStatus: 5.1.2\r\n"
    )
    raw = mail(
        leaf("Delivery failed", ctype="text/plain", encoding="7bit"),
        leaf(status, ctype="message/delivery-status", encoding="7bit"),
        subtype="report; report-type=delivery-status",
    )
    bounce = read_mail(raw).bounce
    assert bounce is not None
    assert [(f.recipient, f.status) for f in bounce.failed] == [("c@example.com", "5.7.1"), ("d@example.com", "5.1.2")]
    assert bounce.original_parts == () and bounce.original_message_id is None


def test_read_receipt_report_is_noted_not_a_bounce():
    raw = mail(
        leaf("Read", ctype="text/plain", encoding="7bit"),
        leaf("Final-Recipient: rfc822; c@example.com\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n",
             ctype="message/disposition-notification", encoding="7bit"),
        subtype="report; report-type=disposition-notification",
    )
    result = read_mail(raw)
    assert result.bounce is None and result.auto_submitted
    assert "report of type disposition-notification ignored" in result.problems


def test_absurd_nesting_still_gives_the_headers():
    raw = b"From: b@example.com\r\n" + b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(3000)
    )
    result = read_mail(raw)
    assert result.from_address == "b@example.com" and result.parts == ()
    assert result.problems[0] == "MIME structure nested too deeply to read; headers only"


def test_reexported_from_the_imip_package():
    from caldav_sched.domain import imip

    assert imip.read_mail is read_mail and imip.token_candidates is token_candidates

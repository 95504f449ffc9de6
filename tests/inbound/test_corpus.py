"""Every message in ``corpus/`` read by ``read_mail``, against a table of what it says.

The corpus is written for this project: one ``.eml`` per shape real mail
clients and mail systems send (anchors 6.1-6.3), all answering the
walkthrough's event (UID ``identifier``) to the token address
``calendar+abcdefghijklmnopqrstuvwxyz@cal.example.com``.  Each row says what
a reader must find; the services layer decides what to do with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from caldav_sched.domain.imip.inbound import (
    InboundMail,
    NotMail,
    bounce_token_candidates,
    read_mail,
    token_candidates,
)
from caldav_sched.domain.scheduling import normalize_address

CORPUS = Path(__file__).parent / "corpus"
FROM = "calendar@cal.example.com"
TOKEN = "abcdefghijklmnopqrstuvwxyz"
B, C, D = "b@example.com", "c@example.com", "d@example.com"


@dataclass(frozen=True)
class Expect:
    """What one corpus message must yield (``problems``: substrings, all present)."""

    file: str
    methods: tuple[str, ...] = ()
    uid: str | None = "identifier"
    attendees: tuple[str, ...] = ()
    partstat: str | None = None  # of the first attendee named
    tokens: tuple[str, ...] = (TOKEN,)
    from_address: str | None = None
    auto_submitted: bool = False
    bounce: tuple[tuple[str, str], ...] | None = None  # (recipient, status) per failure
    bounce_tokens: tuple[str, ...] = ()
    bounce_methods: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    max_calendar_size: int = 1_048_576
    not_mail: bool = False


REPLY = ("REPLY",)
TABLE = [
    Expect("gmail_reply_accepted.eml", REPLY, attendees=(B,), partstat="ACCEPTED", from_address=B),
    Expect("outlook_reply_accepted.eml", REPLY, attendees=(B,), partstat="ACCEPTED", from_address=B),
    Expect(
        "outlook_tnef_only.eml",
        from_address=B,
        uid=None,
        problems=("Outlook TNEF attachment (winmail.dat) without iCalendar", "no calendar part"),
    ),
    Expect("apple_mail_reply.eml", REPLY, attendees=(C,), partstat="ACCEPTED", from_address=C),
    Expect("thunderbird_reply.eml", REPLY, attendees=(B,), partstat="ACCEPTED", from_address=B),
    Expect("proton_reply_no_method_param.eml", REPLY, attendees=(C,), partstat="ACCEPTED", from_address=C),
    Expect("proton_reply_lowercase_method.eml", REPLY, attendees=(C,), partstat="ACCEPTED", from_address=C),
    Expect(
        "mixed_case_method_status_no_prodid.eml", REPLY, attendees=(B,), partstat="ACCEPTED", from_address=B
    ),
    Expect("latin1_cn_reply.eml", REPLY, attendees=(C,), partstat="ACCEPTED", from_address=C),
    Expect(
        "latin1_undeclared_charset.eml",
        REPLY,
        attendees=(C,),
        partstat="ACCEPTED",
        from_address=C,
        problems=("no charset and is not UTF-8; read as ISO-8859-1",),
    ),
    Expect("decline.eml", REPLY, attendees=(C,), partstat="DECLINED", from_address=C),
    Expect("tentative_with_comment.eml", REPLY, attendees=(B,), partstat="TENTATIVE", from_address=B),
    Expect("reply_one_instance.eml", REPLY, attendees=(B,), partstat="DECLINED", from_address=B),
    Expect("refresh.eml", ("REFRESH",), attendees=(B,), partstat=None, from_address=B),
    Expect("counter_outlook.eml", ("COUNTER",), attendees=(B,), partstat="TENTATIVE", from_address=B),
    Expect("delegated_reply.eml", REPLY, attendees=(B, D), partstat="DELEGATED", from_address=B),
    Expect(
        "sent_by_outlook_delegate.eml",
        REPLY,
        attendees=(B,),
        partstat="ACCEPTED",
        from_address="assistant@example.com",
    ),
    Expect(
        "forwarded_invitation.eml",
        uid=None,
        from_address=B,
        problems=("forwarded message ignored", "no calendar part"),
    ),
    Expect("plain_text_reply.eml", uid=None, from_address=B, problems=("no calendar part",)),
    Expect(
        "out_of_office.eml", uid=None, from_address=C, auto_submitted=True, problems=("no calendar part",)
    ),
    Expect(
        "dsn_failed_with_original.eml",
        uid=None,
        tokens=(),
        from_address="mailer-daemon@mail.cal.example.com",
        auto_submitted=True,
        bounce=((C, "5.1.1"),),
        bounce_tokens=(TOKEN,),
        bounce_methods=("REQUEST",),
    ),
    Expect(
        "dsn_failed_headers_only.eml",
        uid=None,
        tokens=(),
        from_address="mailer-daemon@mail.cal.example.com",
        auto_submitted=True,
        bounce=((C, "5.2.2"),),
        bounce_tokens=(TOKEN,),
    ),
    Expect(
        "dsn_delayed.eml",
        uid=None,
        tokens=(),
        from_address="mailer-daemon@mail.cal.example.com",
        auto_submitted=True,
        problems=("without a failure for delayed: c@example.com",),
    ),
    Expect("reply_two_attendees.eml", REPLY, attendees=(B, C), partstat="ACCEPTED", from_address=B),
    Expect("reply_other_attendee.eml", REPLY, attendees=(C,), partstat="ACCEPTED", from_address=B),
    Expect("bcc_delivered.eml", REPLY, attendees=(B,), partstat="ACCEPTED", from_address=B),
    Expect(
        "mime_method_disagrees.eml",
        REPLY,
        attendees=(B,),
        partstat="ACCEPTED",
        from_address=B,
        problems=("MIME method=REQUEST disagrees with METHOD:REPLY; using REPLY",),
    ),
    Expect("ics_octet_stream_attachment.eml", REPLY, attendees=(C,), partstat="ACCEPTED", from_address=C),
    Expect(
        "oversize_calendar.eml",
        uid=None,
        from_address=B,
        max_calendar_size=16_384,
        problems=("calendar part over the size limit", "no calendar part"),
    ),
    Expect("garbage_bytes.eml", tokens=(), uid=None, not_mail=True),
]


def read(expect: Expect) -> InboundMail:
    return read_mail((CORPUS / expect.file).read_bytes(), max_calendar_size=expect.max_calendar_size)


def attendees_named(mail: InboundMail) -> tuple[str, ...]:
    named: list[str] = []
    for part in mail.parts:
        for component in part.calendar.walk("VEVENT"):
            lines = component.get("ATTENDEE", [])
            for line in lines if isinstance(lines, list) else [lines]:
                address = normalize_address(line).removeprefix("mailto:")
                if address not in named:
                    named.append(address)
    return tuple(named)


def first_partstat(mail: InboundMail) -> str | None:
    for part in mail.parts:
        for component in part.calendar.walk("VEVENT"):
            lines = component.get("ATTENDEE", [])
            for line in lines if isinstance(lines, list) else [lines]:
                value = line.params.get("PARTSTAT")
                return str(value) if value is not None else None
    return None


def uids(mail: InboundMail) -> set[str]:
    return {str(c["UID"]) for p in mail.parts for c in p.calendar.walk("VEVENT")}


def test_table_covers_the_corpus():
    assert sorted(e.file for e in TABLE) == sorted(p.name for p in CORPUS.glob("*.eml"))


@pytest.mark.parametrize("expect", TABLE, ids=[e.file for e in TABLE])
def test_corpus_message(expect: Expect):
    if expect.not_mail:
        with pytest.raises(NotMail):
            read(expect)
        return
    mail = read(expect)
    assert tuple(p.method for p in mail.parts) == expect.methods
    assert uids(mail) == ({expect.uid} if expect.uid else set())
    assert attendees_named(mail) == expect.attendees
    assert first_partstat(mail) == expect.partstat
    assert mail.from_address == expect.from_address
    assert mail.auto_submitted is expect.auto_submitted
    assert token_candidates(mail, envelope_recipients=(), from_address=FROM) == expect.tokens
    for wanted in expect.problems:
        assert any(wanted in note for note in mail.problems), (wanted, mail.problems)
    if not expect.problems:
        assert mail.problems == ()
    if expect.bounce is None:
        assert mail.bounce is None
    else:
        assert mail.bounce is not None
        got = tuple((f.recipient, f.status) for f in mail.bounce.failed)
        assert got == expect.bounce
        assert bounce_token_candidates(mail.bounce, from_address=FROM) == expect.bounce_tokens
        assert tuple(p.method for p in mail.bounce.original_parts) == expect.bounce_methods


@pytest.mark.parametrize("expect", [e for e in TABLE if e.methods], ids=lambda e: e.file)
def test_every_calendar_part_is_normalised(expect: Expect):
    for part in read(expect).parts:
        assert str(part.calendar["METHOD"]) == part.method
        assert len(part.digest) == 64
        if part.method == "REPLY":
            assert all("STATUS" not in c for c in part.calendar.walk("VEVENT"))

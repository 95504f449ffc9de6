"""``read_mail`` never raises anything but ``NotMail``, whatever the bytes.

Three sources of input: arbitrary bytes; arbitrary bytes behind a plausible
header block (so the MIME and calendar readers get to run); and the corpus
messages with random byte edits (flips, cuts, insertions, repeats), which
keeps the input close to the shapes the readers are written for.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caldav_sched.domain.imip.inbound import InboundMail, NotMail, read_mail, token_candidates

CORPUS = Path(__file__).parent / "corpus"
MESSAGES = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml")) if "garbage" not in p.name]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEADS = [
    b"From: b@example.com\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n",
    b"From: b@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
    b"From: b@example.com\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n"
    b"--x\r\nContent-Type: message/delivery-status\r\n\r\n",
    b"To: calendar+abcdefghijklmnopqrstuvwxyz@cal.example.com\r\nContent-Type: text/calendar\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\nBEGIN:VCALENDAR\r\n",
]


def check(raw: bytes) -> None:
    try:
        mail = read_mail(raw, max_calendar_size=4096)
    except NotMail:
        return
    assert isinstance(mail, InboundMail)
    token_candidates(mail, envelope_recipients=("x",), from_address="calendar@cal.example.com")


@SETTINGS
@given(st.binary(max_size=3000))
def test_arbitrary_bytes(raw: bytes):
    check(raw)


@SETTINGS
@given(st.sampled_from(HEADS), st.binary(max_size=2000))
def test_arbitrary_body_behind_headers(head: bytes, body: bytes):
    check(head + body)


@SETTINGS
@given(st.sampled_from(HEADS), st.text(alphabet=st.characters(codec="utf-8"), max_size=500))
def test_arbitrary_calendar_text(head: bytes, text: str):
    check(head + b"BEGIN:VCALENDAR\r\n" + text.encode("utf-8", "surrogatepass") + b"\r\nEND:VCALENDAR\r\n")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(MESSAGES)))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "repeat", "truncate"]))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:at + draw(st.integers(1, 200))]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([
                b"\r\n", b"\r\n\r\n", b"=", b"=0D=0A", b"--", b";", b":", b"\x00", b"\xff\xfe",
                b"BEGIN:VCALENDAR\r\n", b"END:VCALENDAR\r\n", b"BEGIN:VEVENT\r\n",
                b"Content-Type: message/rfc822\r\n\r\n", b"charset=rot13;", b"method=",
            ])) + draw(st.binary(max_size=20))
        elif kind == "repeat":
            chunk = bytes(data[at:at + draw(st.integers(1, 300))])
            data[at:at] = chunk * draw(st.integers(1, 4))
        else:
            del data[at:]
    return bytes(data)


@SETTINGS
@given(mutated())
def test_mutated_corpus_messages(raw: bytes):
    check(raw)

"""A Subject starts on the line of its field name, whatever its length.

The standard library folds a value that fits on a line of its own right
after the colon (``Subject:\\r\\n Invitation: ...``), and some clients show
such a subject with a leading space.  Every subject, from one word to the
capped length, in ASCII or not, keeps its first word beside ``Subject:``,
folds only between words, and reads back as written.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caldav_sched.domain.imip.headers import LINE_LENGTH, MAIL_POLICY, scrub


def subject_lines(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    lines = head.split("\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("Subject:"))
    folded = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith((" ", "\t")):
            break
        folded.append(line)
    return folded


def assert_well_folded(lines: list[str]) -> None:
    first = lines[0]
    assert first.startswith("Subject: ") and first[len("Subject: "):].strip(), lines
    for line in lines:
        assert line.strip(), "no line of white space only"
        if len(line) > LINE_LENGTH:
            assert " " not in line.strip(), f"a line that could have folded: {line!r}"


# Subjects from 40 to 150 characters: the title is capped at 120 in a subject.
@pytest.mark.parametrize("words", range(1, 24))
def test_every_invitation_subject_starts_beside_its_field_name(h, base, words):
    summary = " ".join(["Quarterly", "team", "review"] * 14)[: 1 + words * 5].strip()
    raw = h.render(h.invite(h.edit(base, ("SUMMARY:Planning", f"SUMMARY:{summary}")))).as_bytes()
    assert_well_folded(subject_lines(raw))
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert back["Subject"].startswith(f"Invitation: {summary} @ ")


def test_the_subject_that_used_to_fold_after_the_colon():
    value = "Updated invitation: Quarterly team @ Mon 14 Dec 2026 09:00-10:00 (UTC)"
    raw, seen = read_subject(value, SMTP)
    assert raw.startswith(b"Subject:\r\n Updated invitation:")
    assert seen == " " + value, "the leading space a reader shows (Python's own parser too)"
    raw, seen = read_subject(value, MAIL_POLICY)
    assert raw.startswith(b"Subject: Updated invitation: Quarterly team @ Mon 14 Dec 2026")
    assert seen == value


words = st.one_of(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30),
    st.text(st.characters(codec="utf-8", categories=("L", "N", "S", "P")), min_size=1,
            max_size=12),
)


def read_subject(value: str, policy) -> tuple[bytes, str]:
    msg = EmailMessage(policy=policy)
    msg["Subject"] = value
    raw = msg.as_bytes()
    return raw, email.message_from_bytes(raw, policy=email.policy.default)["Subject"]


@settings(max_examples=300, deadline=None)
@given(st.lists(words, min_size=1, max_size=25))
def test_any_subject_folds_between_words_and_reads_back_the_same(parts):
    value = scrub(" ".join(parts))
    raw, seen = read_subject(value, MAIL_POLICY)
    assert_well_folded(subject_lines(raw))
    # What a reader sees is what the standard library's own folding gives,
    # without the leading space that its fold after the colon leaves (it
    # also loses a space between some adjacent encoded words by itself).
    assert seen == read_subject(value, SMTP)[1].removeprefix(" ")
    assert not seen.startswith(" ")


def test_other_headers_fold_as_the_standard_library_does():
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["Reply-To"] = "alice via caldav_sched <calendar+jdb7bvdoeawvgz5dugyu66owxg6jtp6e@localhost>"
    assert msg.as_bytes().startswith(b"Reply-To:\r\n alice via caldav_sched <calendar+")

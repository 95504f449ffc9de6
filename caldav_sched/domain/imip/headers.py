"""Mail header values built from calendar data that strangers wrote.

Owns the rule that nothing from iCalendar reaches a header unscrubbed
(anchors 6.3 #20, CCS ``_scrubHeader``): SUMMARY and CN are attacker
controlled, and ``SUMMARY:Hi\\r\\nBcc: x@evil`` must stay one Subject.
Control characters (C0, DEL, C1 and the Unicode line separators) become
spaces, runs of white space collapse, and the result is capped in length.
Display names also lose the characters that let a name look like a second
address (``"ceo@bank.example" <x@y>`` tricks stay possible with "@",
but not with angle brackets or quotes).  Encoding non-ASCII text is left to
the ``email`` package's policy (RFC 2047 encoded words).

``MAIL_POLICY`` is that policy (SMTP's, CRLF line ends) with one change:
a Subject never folds right after its colon.  The standard library moves a
whole value that fits on a line of its own to the next line
(``Subject:\r\n Invitation: ...``), and some clients then show the
subject with a leading space.
"""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.policy import SMTP, EmailPolicy

from caldav_sched.domain.scheduling.addresses import mailbox

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_NAME_NOISE = re.compile(r"[<>\"\\]")
MAX_SUBJECT = 200
MAX_NAME = 100
# RFC 5322 2.1.1: lines SHOULD stay within 78 characters.
LINE_LENGTH = 78
_KEEP_ON_THE_FIRST_LINE = frozenset({"subject"})


def scrub(value: object, limit: int = MAX_SUBJECT) -> str:
    """One line of plain text, safe for any unstructured header."""
    text = _CONTROL.sub(" ", str(value or ""))
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def display_name(value: object) -> str:
    """A scrubbed display name for an address header ('' for none)."""
    return scrub(_NAME_NOISE.sub("", scrub(value, MAX_NAME * 2)), MAX_NAME)


def header_address(address: object, name: object = None) -> Address:
    """An ``Address`` for a calendar user address (``mailto:`` or bare).

    Raises ValueError for anything that is not a plain mailbox: a header
    must never carry an address we could not have mailed.  A non-ASCII
    domain is written in its IDNA form; a non-ASCII local part would need
    SMTPUTF8 (RFC 6531), which this renderer does not produce, so it is refused
    rather than mangled into an encoded word no server can route.
    """
    box = mailbox(scrub(address, 320))
    if not box or box.count("@") != 1 or _CONTROL.search(box) or " " in box:
        raise ValueError(f"not a mailable address: {address!r}")
    username, _, domain = box.partition("@")
    if not username or not domain or not username.isascii():
        raise ValueError(f"not a mailable address: {address!r}")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"not a mailable address: {address!r}") from exc
    return Address(display_name=display_name(name), username=username, domain=domain)


def refold(folded: str, *, linesep: str = "\r\n", width: int = LINE_LENGTH) -> str:
    """A folded header line folded again, filling each line up to *width*.

    Breaks only where the input had white space (the words and encoded
    words stay as the ``email`` package made them), and never between the
    field name and the first word, so the value starts on the first line.
    """
    text = folded.removesuffix(linesep).replace(linesep, "")
    name, _, value = text.partition(":")
    lines = [f"{name}:"]
    start = True
    spaces = ""  # white space that belongs to the value, carried to the next word
    for word in value.removeprefix(" ").split(" "):
        if not word:
            spaces += " "
            continue
        word, spaces = spaces + word, ""
        if start or len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(" " + word)
        start = False
    lines[-1] += spaces
    return linesep.join(lines) + linesep


class _MailPolicy(EmailPolicy):
    """SMTP's policy; some unstructured fields keep their first word by the name."""

    def fold(self, name: str, value: str) -> str:
        folded = super().fold(name, value)
        if name.lower() not in _KEEP_ON_THE_FIRST_LINE:
            return folded
        return refold(folded, linesep=self.linesep, width=self.max_line_length or LINE_LENGTH)

    def fold_binary(self, name: str, value: str) -> bytes:
        folded = super().fold_binary(name, value)
        if name.lower() not in _KEEP_ON_THE_FIRST_LINE:
            return folded
        text = folded.decode("ascii", "surrogateescape")
        width = self.max_line_length or LINE_LENGTH
        return refold(text, linesep=self.linesep, width=width).encode("ascii", "surrogateescape")


MAIL_POLICY = _MailPolicy(linesep=SMTP.linesep)

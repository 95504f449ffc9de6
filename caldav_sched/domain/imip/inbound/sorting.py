"""Which messages in a shared mailbox are mail for the service.

A hosted mailbox (``calendar@`` at Google, Microsoft, Fastmail) gets
whatever anyone sends to it: replies and delivery reports, but also
newsletters and spam.  The IMAP consumer stores every message it can read
(so ``inbound list`` shows it with its outcome) and then files it:
service mail to the processed folder, the rest to the failed folder,
where an operator looks.  Service mail is a message that carries calendar
data, reports a failed delivery, or is addressed to one of the service's
token addresses (a person who answered with text only still wrote to the
attendee's token address, and the refusal is worth keeping with it).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import NotMail
from .reader import DEFAULT_MAX_CALENDAR_SIZE, read_mail, token_candidates


@dataclass(frozen=True)
class Sorting:
    for_the_service: bool
    reason: str


def sort_message(
    raw: bytes, *, from_address: str, max_calendar_size: int = DEFAULT_MAX_CALENDAR_SIZE
) -> Sorting:
    try:
        mail = read_mail(raw, max_calendar_size=max_calendar_size)
    except NotMail as exc:
        return Sorting(False, f"not a mail message: {exc}")
    if mail.parts:
        return Sorting(True, "calendar data")
    if mail.bounce is not None:
        return Sorting(True, "a delivery report")
    if token_candidates(mail, envelope_recipients=(), from_address=from_address):
        return Sorting(True, "addressed to a reply token")
    return Sorting(False, "no calendar data, no delivery report, no reply token")

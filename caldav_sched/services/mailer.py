"""The port through which delivery hands a message to a mail system.

The services layer owns the protocol and the failures it understands; the
``mail`` package (above) implements them with SMTP or files, and tests can
pass a recording one.  ``PermanentFailure`` means retrying cannot help (a
5xx); ``TransientFailure`` means try again later (a 4xx, a refused or broken
connection, a timeout).
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from typing import Protocol

from caldav_sched.errors import CaldavSchedError


class DeliveryFailure(CaldavSchedError):
    """The message could not be handed to the mail system."""


class PermanentFailure(DeliveryFailure):
    """The mail system refused the message for good."""


class UnreachableRecipient(PermanentFailure):
    """The recipient's address can never be mailed (SCHEDULE-STATUS 3.7)."""


class TransientFailure(DeliveryFailure):
    """The mail system could not take the message now; try again later."""


class Mailer(Protocol):
    # Whether a message handed over goes on towards its recipient (SMTP), or
    # stays where it was put (the file transport): SCHEDULE-STATUS 1.1 or 5.2.
    reaches_recipients: bool

    async def send(
        self, message: EmailMessage, *, sender: str, recipients: Sequence[str]
    ) -> str:
        """Hand the message over; return the mail system's answer for the log."""
        ...

"""The plain data the scheduling engine hands back.

Owns the result types: frozen dataclasses that say what to send to whom and
why, so the services layer can queue jobs and the CLI can show a person the
reason for every message.  Messages carry their iCalendar object as an
``icalendar.Calendar``; treat it as read-only (it is never shared with the
stored copy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from icalendar import Calendar

from caldav_sched.errors import CaldavSchedError


class SchedulingError(CaldavSchedError):
    """The scheduling engine was asked something it cannot answer."""


class NotOrganizer(SchedulingError):
    """The object names another ORGANIZER: this is an attendee's copy, not the organizer's."""


class Method(StrEnum):
    """iTIP methods the engine produces or reads (RFC 5546 §1.4)."""

    REQUEST = "REQUEST"
    REPLY = "REPLY"
    CANCEL = "CANCEL"
    ADD = "ADD"
    REFRESH = "REFRESH"
    COUNTER = "COUNTER"
    DECLINECOUNTER = "DECLINECOUNTER"


class ScheduleStatus(StrEnum):
    """SCHEDULE-STATUS codes the engine and the delivery code write (RFC 6638 §3.2.9).

    The engine writes PENDING when it plans a message and INVALID_ADDRESS for
    an address nobody can deliver to; delivery moves PENDING on to SENT
    (handed to SMTP), DELIVERED (a local inbox, or a reply proved it),
    NOT_DELIVERED (gave up) or NO_WAY_TO_DELIVER (the file transport: the
    message was written to a file and handed to no mail system, which RFC
    6638 words as "not able to find a way to deliver the message").
    """

    PENDING = "1.0"
    SENT = "1.1"
    DELIVERED = "1.2"
    INVALID_ADDRESS = "3.7"
    NOT_DELIVERED = "5.1"
    NO_WAY_TO_DELIVER = "5.2"


class RefusalCode(StrEnum):
    """Why an incoming iTIP message changed nothing."""

    NOT_ITIP = "wrong-method"
    UNKNOWN_UID = "unknown-uid"
    NO_ATTENDEE = "no-attendee"
    MULTIPLE_ATTENDEES = "multiple-attendees"
    OTHER_ATTENDEE = "other-attendee"
    NOT_TOKEN_ATTENDEE = "not-token-attendee"
    NOT_ATTENDEE = "not-an-attendee"
    ORGANIZER_MISMATCH = "organizer-mismatch"
    STALE_SEQUENCE = "stale-sequence"
    STALE_DTSTAMP = "stale-dtstamp"
    NO_SUCH_INSTANCE = "no-such-instance"


@dataclass(frozen=True)
class ItipMessage:
    """One iTIP message for one recipient.

    ``recurrence_ids`` names the instance components carried (UTC
    ``YYYYMMDDTHHMMSSZ`` or ``YYYYMMDD`` for all-day); ``includes_master``
    says whether the series/master component is carried too.  ``sequence`` is
    the highest SEQUENCE in the message.
    """

    method: Method
    recipient: str
    sender: str
    uid: str
    sequence: int
    reason: str
    recurrence_ids: tuple[str, ...] = ()
    includes_master: bool = True
    calendar: Calendar = field(default_factory=Calendar, compare=False, repr=False)

    def to_ical(self) -> bytes:
        """The iCalendar object as it goes on the wire (CRLF, folded lines)."""
        return self.calendar.to_ical()


@dataclass(frozen=True)
class Skipped:
    """An attendee the engine deliberately did not message, and why."""

    recipient: str
    reason: str


@dataclass(frozen=True)
class OrganizerPlan:
    """What an organizer's PUT or DELETE means: the copy to store, the mail to send.

    ``stored`` is None for a delete.  ``significant`` is true when any
    component changed in a way that resets PARTSTAT (design.md, "Scheduling
    rules").  ``changes`` lists the changes found, for logs and the CLI.
    """

    stored: Calendar | None
    messages: tuple[ItipMessage, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    significant: bool = False
    sequence: int = 0
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttendeePlan:
    """What an attendee's edit of their own copy means.

    ``stored`` is the attendee copy to store (None for a delete) with the
    one-shot SCHEDULE-FORCE-SEND removed; ``messages`` are REPLYs to the
    organizer.
    """

    stored: Calendar | None
    messages: tuple[ItipMessage, ...] = ()


@dataclass(frozen=True)
class ReplyApplied:
    """A REPLY that was taken: the new organizer copy.

    ``changed`` is False when the reply was already applied (a replay), in
    which case ``stored`` is the input unchanged and nothing needs writing.
    ``partstats`` pairs each instance label (``"master"`` or a RECURRENCE-ID
    label) with the PARTSTAT now stored.  ``added`` lists delegates that were
    added as attendees (the organizer side should now invite them);
    ``notes`` records what was ignored or rewritten, for the audit log.
    """

    stored: Calendar
    changed: bool
    uid: str
    attendee: str
    reason: str
    partstats: tuple[tuple[str, str], ...] = ()
    added: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReplyRefused:
    """An incoming REPLY, REFRESH or COUNTER that changed nothing, and why."""

    code: RefusalCode
    reason: str
    uid: str | None = None
    attendee: str | None = None


@dataclass(frozen=True)
class CounterProposal:
    """A COUNTER recorded for the organizer to decide on (RFC 5546 §3.2.7).

    Nothing in the stored event changes.  ``changes`` names the properties the
    attendee proposes to change; ``proposed`` is the counter's own data.
    """

    uid: str
    attendee: str
    sequence: int
    reason: str
    changes: tuple[str, ...] = ()
    recurrence_ids: tuple[str, ...] = ()
    comment: str | None = None
    proposed: Calendar = field(default_factory=Calendar, compare=False, repr=False)

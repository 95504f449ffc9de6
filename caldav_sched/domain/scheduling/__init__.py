"""The iTIP engine: scheduling rules as pure functions (RFC 5546, RFC 6638).

Layer: ``domain``.  No I/O, no database, no clock (``now`` is passed in), no
imports from store, dav, mail, services, queue or cli (a test checks this).
Inputs are ``icalendar.Calendar`` objects the CalDAV layer has parsed and
validated (one UID; master plus overrides).  Inputs are never modified;
results are frozen dataclasses (``model``) carrying new ``Calendar`` objects.

Public API
----------
Organizer side
    ``plan_organizer_change(old, new, *, organizer, now, sequence_floor=0,
    merge_partstats=False) -> OrganizerPlan`` (``new`` None for a DELETE):
    the copy to store, one ``ItipMessage`` per recipient (REQUEST/CANCEL),
    the attendees deliberately not mailed (``skipped``) and why.
    Raises ``NotOrganizer`` if the data names another ORGANIZER.
Replies
    ``apply_reply(stored, reply, *, attendee=None, now) -> ReplyApplied |
    ReplyRefused``; ``ReplyApplied.changed`` is False for a replay.
Attendee side
    ``plan_attendee_change(old, new, *, attendee, now) -> AttendeePlan``:
    the REPLY for an attendee's own edit (``new`` None: declined).
Attendee copies
    ``apply_organizer_message(copy, message, *, attendee, now) -> CopyUpdated
    | ReplyRefused``: a REQUEST or CANCEL merged into an attendee's own copy,
    keeping their alarms, TRANSP and (unless rescheduled) PARTSTAT.
Other requests
    ``answer_refresh(stored, refresh, *, attendee=None, now) -> ItipMessage |
    ReplyRefused``; ``record_counter(stored, counter, *, attendee=None, now)
    -> CounterProposal | ReplyRefused``; ``decline_counter(stored, proposal,
    *, now) -> ItipMessage``.
Delivery helpers
    ``set_schedule_status(stored, attendee, status, *, recurrence_ids=None)
    -> Calendar``; ``rewrite_organizer(message_calendar, token_address) ->
    Calendar``; ``has_instance_after(cal, when) -> bool`` (skip mail for
    events entirely in the past).
Small helpers
    ``normalize_address``, ``same_address``, ``is_mailable``,
    ``canonical_partstat``, ``effective_partstat``, ``organizer_of``,
    ``uid_of``, ``parse_calendar`` (tests and tools only).

Policies
--------
Addresses
    Compared after ``normalize_address``: ``mailto:`` scheme and whole
    address lower-cased, a bare mailbox gets ``mailto:``.  Duplicate ATTENDEE
    lines that normalise alike collapse into the first.
Who may answer (``identity``)
    With ``attendee`` (a reply token's address): a REPLY naming that
    attendee is applied to them only, other ATTENDEE lines are ignored; one
    naming exactly one *other attendee of the event* is refused
    (``other-attendee``); one naming an address not in the event is an alias:
    applied to the token's attendee, the alias kept in
    ``X-CALDAV-SCHED-REPLY-FROM``.  ORGANIZER is not compared (it is our
    token address, and Exchange omits it).  Without ``attendee``: exactly one
    ATTENDEE, who must be in the event, and ORGANIZER (if present) must match.
Party crashers
    Refused (``not-an-attendee``), never added.  Delegates announced in a
    PARTSTAT=DELEGATED reply are added (``ReplyApplied.added``).
Ordering
    Per attendee and instance, the last applied reply's SEQUENCE and DTSTAMP
    live on the organizer copy's ATTENDEE line as ``X-CALDAV-SCHED-REPLY-SEQ``
    and ``X-CALDAV-SCHED-REPLY-STAMP``; a reply older than the instance's
    SEQUENCE or than that pair is refused; the same pair with the same answer
    is a no-op.  ``plan_organizer_change`` carries these over when the
    organizer's client drops them; every outbound message is stripped of all
    ``X-CALDAV-SCHED-*`` data, SCHEDULE-AGENT, SCHEDULE-STATUS,
    SCHEDULE-FORCE-SEND and VALARMs.
SCHEDULE-STATUS
    The engine writes 1.0 (pending) on each attendee it plans a message for
    and 3.7 on an address that is not a usable ``mailto:``; delivery moves
    1.0 to 1.1 (handed to SMTP), 1.2 (delivered locally) or 5.1 (gave up)
    with ``set_schedule_status``.  An applied reply sets the reply's
    REQUEST-STATUS code, or 1.2 if the status was still 1.0/1.1.
SEQUENCE
    Per component, never lowered; +1 on a significant change the client did
    not count; a DELETE's CANCEL has max + 1; an object created again after a
    delete starts above ``sequence_floor`` (the store's high-water mark).
Methods
    REQUEST, CANCEL, REPLY, DECLINECOUNTER are produced.  ADD is not: a full
    REQUEST says the same and every client understands it.
"""

from __future__ import annotations

from .addresses import is_mailable, normalize_address, same_address
from .attendee import plan_attendee_change
from .components import organizer_of, parse_calendar, uid_of
from .counter import decline_counter, record_counter
from .inbox import CopyUpdated, apply_organizer_message
from .instances import has_instance_after
from .messages import rewrite_organizer
from .model import (
    AttendeePlan,
    CounterProposal,
    ItipMessage,
    Method,
    NotOrganizer,
    OrganizerPlan,
    RefusalCode,
    ReplyApplied,
    ReplyRefused,
    SchedulingError,
    ScheduleStatus,
    Skipped,
)
from .organizer import plan_organizer_change
from .partstat import canonical_partstat, effective_partstat
from .refresh import answer_refresh
from .reply import apply_reply
from .status import set_schedule_status

__all__ = [
    "AttendeePlan",
    "CopyUpdated",
    "CounterProposal",
    "ItipMessage",
    "Method",
    "NotOrganizer",
    "OrganizerPlan",
    "RefusalCode",
    "ReplyApplied",
    "ReplyRefused",
    "ScheduleStatus",
    "SchedulingError",
    "Skipped",
    "answer_refresh",
    "apply_organizer_message",
    "apply_reply",
    "canonical_partstat",
    "decline_counter",
    "effective_partstat",
    "has_instance_after",
    "is_mailable",
    "normalize_address",
    "organizer_of",
    "parse_calendar",
    "plan_attendee_change",
    "plan_organizer_change",
    "record_counter",
    "rewrite_organizer",
    "same_address",
    "set_schedule_status",
    "uid_of",
]

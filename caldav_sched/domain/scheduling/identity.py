"""Who an incoming REPLY, REFRESH or COUNTER speaks for, and whether it may.

Owns the checks shared by every attendee-to-organizer message (RFC 5546
§3.2.3, §3.2.6, §3.2.7; design.md "Inbound mail and trust"; anchors 6.2):

* METHOD must match, the UID must be the stored event's;
* exactly one attendee speaks.  A delegation REPLY may also carry the
  delegates it names (RFC 5546 §4.2.5), and those do not count;
* with ``attendee`` (the address a mail token was issued to): if the message
  names that attendee, any other ATTENDEE lines are dropped (CCS
  ``removeAllButOneAttendee``); if it names exactly one *other* address that
  is itself an attendee of the event, it is refused (a reply cannot speak for
  someone else); if that address is not in the event at all, it is taken as
  an alias of the token's attendee: the reply is rewritten to the invited
  address and the alias is recorded (anchors 6.2 #10; CCS fails these with
  5.1 instead);
* without ``attendee`` (a local attendee's own reply, already
  authenticated), the single ATTENDEE must be in the event (party crashers
  are refused, never added) and a present ORGANIZER must be the stored one.
  With a token, ORGANIZER is not compared: it is the token address we wrote,
  and Exchange leaves it out altogether (anchors 6.2 #9).
"""

from __future__ import annotations

from dataclasses import dataclass

from icalendar import Calendar

from .addresses import normalize_address
from .components import (
    attendee_lines,
    find_attendee,
    method_of,
    organizer_of,
    param,
    schedulable,
    uid_of,
)
from .model import RefusalCode, ReplyRefused


@dataclass(frozen=True)
class Speaker:
    """The attendee an incoming message is taken to speak for."""

    address: str
    alias: str | None = None  # the address actually written, when it differs
    delegates: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def check_incoming(
    stored: Calendar | None,
    message: Calendar,
    method: str,
    attendee: str | None,
    *,
    accept_alias: bool = True,
) -> Speaker | ReplyRefused:
    """Validate method, UID and speaker of an attendee's message to the organizer.

    ``accept_alias=False`` refuses a message from an address that is not the
    token's attendee instead of taking it as an alias (the strict policy).
    """
    uid = uid_of(message)
    if method_of(message) != method:
        return ReplyRefused(RefusalCode.NOT_ITIP,
                            f"METHOD is {method_of(message) or 'missing'}, expected {method}", uid)
    stored_uid = uid_of(stored)
    if stored is None or stored_uid is None:
        return ReplyRefused(RefusalCode.UNKNOWN_UID, f"no event with UID {uid}", uid)
    if any(str(c.get("UID", "")) != stored_uid for c in schedulable(message)) or uid is None:
        return ReplyRefused(RefusalCode.UNKNOWN_UID,
                            f"{method} is for UID {uid}, the event is {stored_uid}", uid)

    lines = [line for comp in schedulable(message) for line in attendee_lines(comp)]
    named = list(dict.fromkeys(normalize_address(line) for line in lines if str(line).strip()))
    if not named:
        return ReplyRefused(RefusalCode.NO_ATTENDEE, f"{method} names no ATTENDEE", uid)
    delegates = _announced_delegates(lines)
    speakers = [a for a in named if a not in delegates]
    in_event = {normalize_address(l) for c in schedulable(stored) for l in attendee_lines(c)}
    token = normalize_address(attendee) if attendee else None
    notes: list[str] = []

    if token is not None:
        alias = None
        if token in speakers:
            others = [a for a in speakers if a != token]
            if others:
                notes.append(f"ignored ATTENDEE {', '.join(others)}: the {method} may only "
                             f"speak for {token}")
        elif len(speakers) == 1:
            if speakers[0] in in_event:
                return ReplyRefused(
                    RefusalCode.OTHER_ATTENDEE,
                    f"{method} names {speakers[0]}, but may only speak for {token}",
                    uid, token)
            if not accept_alias:
                return ReplyRefused(
                    RefusalCode.NOT_TOKEN_ATTENDEE,
                    f"{method} names {speakers[0]}, but its token was issued to {token}",
                    uid, token)
            alias = speakers[0]
            notes.append(f"{method} from {alias} taken as {token} (reply token)")
        else:
            return ReplyRefused(RefusalCode.MULTIPLE_ATTENDEES,
                                f"{method} names {', '.join(speakers)}, none of them {token}",
                                uid, token)
        if token not in in_event:
            return ReplyRefused(RefusalCode.NOT_ATTENDEE, f"{token} is not an attendee", uid, token)
        return Speaker(token, alias, tuple(d for d in delegates if d != token), tuple(notes))

    if len(speakers) != 1:
        return ReplyRefused(RefusalCode.MULTIPLE_ATTENDEES,
                            f"{method} names {len(speakers)} attendees: {', '.join(speakers)}", uid)
    speaker = speakers[0]
    if speaker not in in_event:
        return ReplyRefused(RefusalCode.NOT_ATTENDEE,
                            f"{speaker} is not an attendee (party crashers are not added)",
                            uid, speaker)
    organizer = organizer_of(message)
    if organizer is not None and organizer != organizer_of(stored):
        return ReplyRefused(RefusalCode.ORGANIZER_MISMATCH,
                            f"ORGANIZER is {organizer}, the event's is {organizer_of(stored)}",
                            uid, speaker)
    return Speaker(speaker, None, tuple(delegates), ())


def _announced_delegates(lines: list) -> list[str]:
    """Delegates carried in a delegation reply: DELEGATED-FROM points at another line.

    RFC 5546 §4.2.5: the delegator's REPLY has PARTSTAT=DELEGATED with
    DELEGATED-TO, plus the delegate's line with DELEGATED-FROM.
    """
    addresses = {normalize_address(line) for line in lines}
    out: list[str] = []
    for line in lines:
        source = param(line, "DELEGATED-FROM")
        if source and normalize_address(source.split(",")[0]) in addresses - {normalize_address(line)}:
            out.append(normalize_address(line))
    return list(dict.fromkeys(out))


def speaker_line(message_comp, speaker: Speaker):
    """The ATTENDEE line the speaker wrote in one component (alias included)."""
    return find_attendee(message_comp, speaker.address) or (
        find_attendee(message_comp, speaker.alias) if speaker.alias else None
    )

"""SCHEDULE-STATUS on the organizer copy, for the delivery code.

Owns the one write the delivery layer makes after the engine has planned:
moving an attendee's SCHEDULE-STATUS on (RFC 6638 §3.2.9) from 1.0 pending
to 1.1 sent, 1.2 delivered, 3.7 invalid address, 5.1 not delivered or 5.2
no way to deliver (written to a file by the file transport), so
the organizer's client shows what happened (anchors 6.8 #51-52).
"""

from __future__ import annotations

from icalendar import Calendar

from .components import SCHEDULE_STATUS, clone, find_attendee
from .instances import Series, component_key, label
from .components import schedulable


def set_schedule_status(
    stored: Calendar,
    attendee: str,
    status: str,
    *,
    recurrence_ids: tuple[str, ...] | None = None,
    only_from: tuple[str, ...] | None = None,
) -> Calendar:
    """A copy of ``stored`` with ``attendee``'s SCHEDULE-STATUS set to ``status``.

    Every component the attendee is in, or only those named by
    ``recurrence_ids`` (labels as in ``ItipMessage.recurrence_ids``, with
    ``"master"`` for the master).  The input is not modified; when nothing
    changes the copy equals the input, so the caller can skip the write.
    With ``only_from``, a line moves on only from one of those statuses, so a
    late delivery report never overwrites what a reply already proved.
    """
    out = clone(stored)
    series = Series.of(out)
    for comp in schedulable(out):
        if recurrence_ids is not None and label(component_key(comp, series)) not in recurrence_ids:
            continue
        line = find_attendee(comp, attendee)
        if line is None:
            continue
        if only_from is not None and str(line.params.get(SCHEDULE_STATUS, "")) not in only_from:
            continue
        line.params[SCHEDULE_STATUS] = str(status)
    return out

"""The lived-in workload's own idea of each object's instances agrees with the server's evaluator.

The harness checks the server's query counts against the generator, so the
generator must not share the server's mistakes: it lists instances by its
own arithmetic, and this test holds both against each other on many ranges.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from bench.workload import make_workload
from caldav_sched.domain.ical import parse_calendar
from caldav_sched.domain.query import CompFilter, TimeRange, matches

YEAR_START = datetime(2026, 6, 8, tzinfo=timezone.utc)


def test_lived_in_objects_and_their_instances() -> None:
    objects = make_workload("lived-in", 240, seed=3, year_start=YEAR_START, organizer="bench@example.com")
    kinds = Counter(o.kind for o in objects)
    assert set(kinds) == {"event", "all-day", "birthday", "weekly", "monthly", "floating", "task"}
    assert 0.25 < (len(objects) - kinds["event"]) / len(objects) < 0.42, kinds
    windows = [(YEAR_START + timedelta(days=d), YEAR_START + timedelta(days=d + span))
               for d in range(-30, 1100, 61) for span in (1, 31)]
    for obj in objects:
        calendar = parse_calendar(obj.body)
        for start, end in windows:
            flt = CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT", time_range=TimeRange(start, end)),))
            assert matches(calendar, flt) == obj.overlaps(start, end), (obj.body.decode(), start, end)

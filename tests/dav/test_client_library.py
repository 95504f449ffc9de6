"""The `caldav` client library drives the server the way a calendar app does."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import caldav
import pytest

from tests.conftest import PASSWORD

UTC = timezone.utc


@pytest.fixture
def client(server):
    with caldav.DAVClient(url=server.url, username="alice", password=PASSWORD) as dav:
        yield dav


def summaries(objects) -> list[str]:
    return sorted(str(o.icalendar_component["SUMMARY"]) for o in objects)


def test_an_app_discovers_stores_searches_and_syncs(client, server):
    # Discovery from the bare server URL.
    principal = client.principal()
    assert str(principal.url).endswith("/home/alice/")
    home = principal.calendar_home_set
    assert str(home.url).endswith("/home/alice/calendar/")
    default = principal.calendars()
    assert [str(c.url).rsplit("/", 2)[-2] for c in default] == ["event"]

    # A new calendar.
    work = principal.make_calendar(name="Work", cal_id="work")
    assert work.get_display_name() == "Work"
    assert sorted(str(c.url).rsplit("/", 2)[-2] for c in principal.calendars()) == ["event", "work"]

    # Events, one recurring weekly on Mondays from 5 January 2026.
    weekly = work.save_event(
        dtstart=datetime(2026, 1, 5, 9, tzinfo=UTC),
        dtend=datetime(2026, 1, 5, 10, tzinfo=UTC),
        summary="Standup",
        rrule={"FREQ": "WEEKLY"},
    )
    work.save_event(
        dtstart=datetime(2026, 2, 10, 14, tzinfo=UTC),
        dtend=datetime(2026, 2, 10, 15, tzinfo=UTC),
        summary="Review",
    )
    work.save_event(
        dtstart=datetime(2026, 3, 2, 14, tzinfo=UTC),
        dtend=datetime(2026, 3, 2, 15, tzinfo=UTC),
        summary="March only",
    )
    work.save_event(dtstart=date(2026, 2, 20), dtend=date(2026, 2, 21), summary="Holiday")

    # A date range returns the right instances: four Mondays in February.
    found = work.search(
        start=datetime(2026, 2, 1, tzinfo=UTC),
        end=datetime(2026, 3, 1, tzinfo=UTC),
        event=True,
        expand=True,
    )
    assert summaries(found) == ["Holiday", "Review"] + ["Standup"] * 4
    starts = sorted(
        o.icalendar_component["DTSTART"].dt
        for o in found
        if str(o.icalendar_component["SUMMARY"]) == "Standup"
    )
    assert [s.day for s in starts] == [2, 9, 16, 23]

    # Unexpanded, the recurring event is one object.
    found = work.search(
        start=datetime(2026, 2, 1, tzinfo=UTC), end=datetime(2026, 3, 1, tzinfo=UTC), event=True
    )
    assert summaries(found) == ["Holiday", "Review", "Standup"]

    # Multiget by href.
    hrefs = [o.url for o in work.events()]
    fetched = work.calendar_multiget(hrefs)
    assert summaries(fetched) == ["Holiday", "March only", "Review", "Standup"]

    # Sync: the first sync returns everything; after two changes only those.
    first = work.objects_by_sync_token(load_objects=True)
    assert len(list(first)) == 4
    weekly.icalendar_component["SUMMARY"] = "Daily standup"
    weekly.save()
    holiday = next(o for o in work.events() if str(o.icalendar_component["SUMMARY"]) == "Holiday")
    holiday.delete()
    changes = work.objects_by_sync_token(sync_token=first.sync_token, load_objects=False)
    changed = sorted(str(o.url).rsplit("/", 1)[-1] for o in changes)
    assert len(changed) == 2
    assert str(weekly.url).rsplit("/", 1)[-1] in changed
    assert changes.sync_token != first.sync_token

    # Nothing changed since: an empty answer.
    again = work.objects_by_sync_token(sync_token=changes.sync_token, load_objects=False)
    assert list(again) == []


def test_tasks_and_deleting_a_calendar(client):
    principal = client.principal()
    tasks = principal.make_calendar(name="Tasks", cal_id="tasks", supported_calendar_component_set=["VTODO"])
    tasks.save_todo(summary="Write report", due=datetime(2026, 5, 1, 12, tzinfo=UTC))
    assert [str(t.icalendar_component["SUMMARY"]) for t in tasks.todos()] == ["Write report"]
    tasks.delete()
    assert sorted(str(c.url).rsplit("/", 2)[-2] for c in principal.calendars()) == ["event"]


def test_calendar_properties_round_trip(client):
    calendar = client.principal().calendars()[0]
    calendar.set_properties([caldav.elements.dav.DisplayName("Family")])
    reread = client.principal().calendars()[0]
    assert reread.get_display_name() == "Family"
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    calendar.save_event(dtstart=start, dtend=start + timedelta(hours=1), summary="Dinner")
    assert summaries(calendar.events()) == ["Dinner"]

"""calendar-query with random filter trees and calendar-data selections (RFC 4791 9.6, 9.7).

Random nestings of comp-filter, prop-filter and time-range, and random
comp/prop/allprop/allcomp selections, are answered with a 207 or a clear
4xx (valid-filter, supported-filter, a malformed selection), never a 5xx,
and change nothing stored.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dav.helpers import CAL, SyncClient
from tests.query.test_strict_filters_and_partial_data import MEETING, NS

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
COMPONENTS = ["VCALENDAR", "VEVENT", "VTODO", "VALARM", "VTIMEZONE", "STANDARD",
              "VAVAILABILITY", "AVAILABLE", "X-THING", ""]
PROPERTIES = ["SUMMARY", "DTSTART", "ATTENDEE", "UID", "X-ODD", "TRIGGER", ""]
RANGE = "<C:time-range start='20260101T000000Z' end='20260201T000000Z'/>"


def prop_filters() -> st.SearchStrategy[str]:
    return st.builds(
        lambda name, test: f"<C:prop-filter name='{name}'>{test}</C:prop-filter>",
        st.sampled_from(PROPERTIES),
        st.sampled_from(["", RANGE, "<C:text-match>Plan</C:text-match>", "<C:is-not-defined/>"]),
    )


comp_filters = st.recursive(
    st.builds(lambda name: f"<C:comp-filter name='{name}'/>", st.sampled_from(COMPONENTS)),
    lambda inner: st.builds(
        lambda name, rng, props, comps: (
            f"<C:comp-filter name='{name}'>{rng}{''.join(props)}{''.join(comps)}</C:comp-filter>"
        ),
        st.sampled_from(COMPONENTS),
        st.sampled_from(["", RANGE]),
        st.lists(prop_filters(), max_size=2),
        st.lists(inner, max_size=2),
    ),
    max_leaves=6,
)

selections = st.recursive(
    st.builds(lambda name: f"<C:comp name='{name}'/>", st.sampled_from(COMPONENTS)),
    lambda inner: st.builds(
        lambda name, props, comps: f"<C:comp name='{name}'>{props}{comps}</C:comp>",
        st.sampled_from(COMPONENTS),
        st.one_of(
            st.just("<C:allprop/>"),
            st.lists(
                st.builds(
                    lambda p, novalue: f"<C:prop name='{p}' novalue='{novalue}'/>",
                    st.sampled_from(PROPERTIES),
                    st.sampled_from(["yes", "no", "maybe"]),
                ),
                max_size=3,
            ).map("".join),
        ),
        st.one_of(st.just("<C:allcomp/>"), st.lists(inner, max_size=2).map("".join)),
    ),
    max_leaves=6,
)


@pytest.fixture
def client(server) -> SyncClient:
    client = SyncClient(server.url)
    status, _, _ = client("PUT", CAL + "meeting.ics", MEETING, **{"Content-Type": "text/calendar"})
    assert status == 201
    return client


@SETTINGS
@given(flt=comp_filters, selection=st.one_of(st.just(""), selections))
def test_random_filters_and_selections_answer_clearly(client, flt, selection):
    body = (
        f"<C:calendar-query {NS}><D:prop><D:getetag/><C:calendar-data>{selection}</C:calendar-data>"
        f"</D:prop><C:filter><C:comp-filter name='VCALENDAR'>{flt}</C:comp-filter></C:filter>"
        "</C:calendar-query>"
    )
    status, _, _ = client("REPORT", CAL, body, Depth="1")
    assert status in (207, 400, 403), (status, body)
    status, _, stored = client("GET", CAL + "meeting.ics")
    assert status == 200 and stored == MEETING.encode()

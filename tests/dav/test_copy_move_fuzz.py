"""COPY and MOVE with mutated Destination, Overwrite and conditional headers.

Whatever the headers say, the answer is one of the statuses RFC 4918 and
4791 give these methods (never a 5xx other than 502 for a Destination on
another server), and a refused request leaves the source as it was.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dav.helpers import CAL, SyncClient, event

SOURCE = CAL + "fuzz.ics"
WORK = "/home/alice/calendar/work/"
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EXAMPLES = itertools.count()
ANSWERS = {201, 204, 400, 403, 404, 409, 412, 502}
PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
DESTINATIONS = [
    WORK + "fuzz.ics",
    CAL + "renamed.ics",
    WORK,
    "/home/bob/calendar/event/fuzz.ics",
    "/home/alice/calendar/inbox/fuzz.ics",
    "{url}" + WORK + "fuzz.ics",
    "https://elsewhere.example" + WORK + "fuzz.ics",
]


@st.composite
def mutated(draw: st.DrawFn, samples: list[str]) -> str:
    text = draw(st.sampled_from(samples))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        text = text[:at] + draw(st.text(PRINTABLE, max_size=4)) + text[at + cut :]
    return text


@pytest.fixture
def client(server) -> SyncClient:
    client = SyncClient(server.url)
    assert client("MKCALENDAR", WORK)[0] == 201
    return client


@SETTINGS
@given(
    method=st.sampled_from(["COPY", "MOVE"]),
    destination=mutated([d for d in DESTINATIONS]),
    overwrite=st.one_of(st.none(), st.sampled_from(["T", "F"]), st.text(PRINTABLE, max_size=3)),
    if_match=st.one_of(st.none(), st.text(PRINTABLE, max_size=12)),
)
def test_copy_and_move_answer_clearly_and_a_refusal_changes_nothing(
    client, method, destination, overwrite, if_match
):
    # Clear what an earlier example left; a UID of its own, so that a copy an
    # earlier example left under a mutated name cannot conflict with it.
    for leftover in (SOURCE, WORK + "fuzz.ics", CAL + "renamed.ics"):
        client("DELETE", leftover)
    uid = f"fuzz-{next(EXAMPLES)}"
    status, etag, _ = client("PUT", SOURCE, event(uid=uid), **{"Content-Type": "text/calendar"})
    assert status == 201
    headers = {"Destination": destination.replace("{url}", client.url)}
    if overwrite is not None:
        headers["Overwrite"] = overwrite
    if if_match is not None:
        headers["If-Match"] = if_match
    status, _, _ = client(method, SOURCE, **headers)
    assert status in ANSWERS, (status, headers)
    if status >= 400:
        after, after_etag, _ = client("GET", SOURCE)
        assert after == 200 and after_etag == etag, "a refused COPY or MOVE changed the source"

"""The benchmark harness, run small against caldav_sched, so it cannot rot.

No figures are asserted: only that every phase ran and every answer check
(status codes, result counts, 412 on a stale ETag) passed, and that the
paired create measurement gives a figure for both trees.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import servers
from bench.harness import run_workload
from bench.pairs import pairs

PHASES = {
    "put_create", "get", "put_update", "propfind_depth1", "multiget_100",
    "calendar_query_month", "calendar_query_week", "freebusy_month", "sync_initial",
    "sync_10_changes", "delete",
}


@pytest.fixture
def running():
    server = servers.start_caldav_sched()
    try:
        yield server
    finally:
        server.stop()


async def test_harness_smoke(running):
    result = await run_workload(running.target, 50, 4, repeats=4)
    assert result.ok, result.failures()
    assert set(result.phases) == PHASES
    assert result.phases["put_create"].statuses == {"201": 50}
    assert result.phases["calendar_query_month"].requests == 4
    assert all(p.requests > 0 for p in result.phases.values())


async def test_harness_smoke_lived_in(running):
    """The lived-in calendar: the server's answers agree with the generator's own instances."""
    result = await run_workload(running.target, 120, 4, repeats=3, workload="lived-in")
    assert result.ok, result.failures()
    assert set(result.phases) == PHASES


async def test_pairs_measure_both_trees():
    """``bench.pairs``, run small with this checkout as its own baseline."""
    tree = Path(__file__).resolve().parents[2]
    results = await pairs(tree, 1, 30, 4, "lived-in")
    assert len(results) == 1
    now, before = results[0]
    assert now > 0 and before > 0

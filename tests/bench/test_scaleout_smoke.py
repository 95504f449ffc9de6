"""The scale-out comparison (SQLite, PostgreSQL with 1 and 2 processes), run small.

No figures are asserted: only that each configuration ran the workload with
every answer check passing, and that the table and targets come out.
"""

from __future__ import annotations

from bench import scaleout
from tests.postgres import needs_postgresql


@needs_postgresql
async def test_scaleout_smoke():
    results, unavailable = await scaleout.measure(40, 4, log=lambda message: None, repeats=3)
    assert unavailable == {}
    assert all(result is not None and result.ok for result in results.values()), {
        name: result.failures() for name, result in results.items() if result
    }
    text = scaleout.table(results, 40)
    assert "PostgreSQL, 2 processes" in text and "n/a" not in text.split("load generator")[0]
    assert len(scaleout.targets(results)) == 5

"""caldav_sched on PostgreSQL with one and two processes, beside SQLite, in one run.

A PostgreSQL cluster is started for the run (the tests' helper: initdb and
pg_ctl in a temporary directory on loopback, as the tests run it); each
configuration gets a database of its own and goes through the same workload
as ``bench.run``.  Server CPU counts every process of the server: the
``serve`` processes, and on PostgreSQL the database's backends (the
postmaster's process tree), so the per-request figures compare whole costs.
The load generator's own CPU per request comes with each figure: the load
generator shares the machine's cores, and where it is near one busy core it
is the bottleneck rather than the server.  The cluster keeps fsync on and
synchronous_commit off: commits are not flushed one by one, as on SQLite in
WAL mode with synchronous = NORMAL, the server's setting.
"""

from __future__ import annotations

from pathlib import Path

from bench import servers
from bench.harness import Result, markdown_table, run_workload

SQLITE = "SQLite"
PG1 = "PostgreSQL, 1 process"
PG2 = "PostgreSQL, 2 processes"
CONFIGS = (SQLITE, PG1, PG2)

FIGURES = [
    ("put_create", "throughput", "PUT create /s"),
    ("get", "throughput", "GET /s"),
    ("calendar_query_month", "p50_ms", "calendar-query, month, p50 ms"),
    ("put_create", "cpu_ms_per_request", "server CPU ms / PUT create"),
    ("get", "cpu_ms_per_request", "server CPU ms / GET"),
    ("calendar_query_month", "cpu_ms_per_request", "server CPU ms / query"),
    ("put_create", "loadgen_cpu_ms_per_request", "load generator CPU ms / PUT create"),
    ("get", "loadgen_cpu_ms_per_request", "load generator CPU ms / GET"),
    ("calendar_query_month", "loadgen_cpu_ms_per_request", "load generator CPU ms / query"),
]


def _figure(result: Result | None, phase: str, name: str) -> float | None:
    if result is None or phase not in result.phases:
        return None
    value = getattr(result.phases[phase], name)
    return float(value) if value is not None else None


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _postmaster_pid(data: Path) -> int:
    return int((data / "postmaster.pid").read_text().split()[0])


async def measure(n: int, c: int, log, **workload: object) -> tuple[dict[str, Result | None], dict[str, str]]:
    """The three configurations through the workload at N = *n*."""
    from tests.postgres import PG_BIN, Cluster

    results: dict[str, Result | None] = {}
    unavailable: dict[str, str] = {}
    cluster = None
    if PG_BIN is None:
        unavailable[PG1] = unavailable[PG2] = "PostgreSQL is not installed (apt-get install postgresql)"
    else:
        cluster = Cluster(durable=True)
    try:
        for name in CONFIGS:
            if name in unavailable:
                results[name] = None
                continue
            tables: dict[str, dict[str, object]] = {}
            if name != SQLITE:
                assert cluster is not None
                tables["storage"] = {"url": cluster.new_database(migrated=False)}
                tables["server"] = {"processes": 2 if name == PG2 else 1}
            log(f"N={n:,}: caldav_sched on {name}")
            try:
                running = servers.start_caldav_sched(**tables)
            except Exception as exc:  # noqa: BLE001
                log(f"  unavailable: {exc}")
                unavailable[name], results[name] = str(exc), None
                continue
            if cluster is not None and name != SQLITE:
                running.target.cpu_pids = (_postmaster_pid(cluster.data),)
            try:
                results[name] = await run_workload(running.target, n, c, log=log, **workload)
            except Exception as exc:  # noqa: BLE001
                log(f"  failed: {exc!r}")
                unavailable[name], results[name] = f"failed: {exc!r}", None
            finally:
                running.stop()
    finally:
        if cluster is not None:
            cluster.stop()
    return results, unavailable


def table(results: dict[str, Result | None], n: int) -> str:
    header = [f"scale-out (N={n:,})", *CONFIGS]
    rows = [header]
    for phase, name, label in FIGURES:
        rows.append([label, *(_fmt(_figure(results.get(c), phase, name)) for c in CONFIGS)])
    rows.append(["answer checks", *(
        "unavailable" if results.get(c) is None else "pass" if results[c].ok else "FAIL"  # type: ignore[union-attr]
        for c in CONFIGS
    )])
    return markdown_table(rows)


def targets(results: dict[str, Result | None]) -> list[tuple[str, str, bool | None]]:
    """PostgreSQL within 1.5x of SQLite's server CPU; two processes >= 1.6x one's PUTs."""
    out: list[tuple[str, str, bool | None]] = []
    for phase, label in (("get", "GET"), ("put_create", "PUT create"),
                         ("calendar_query_month", "month query")):
        sqlite = _figure(results.get(SQLITE), phase, "cpu_ms_per_request")
        pg = _figure(results.get(PG1), phase, "cpu_ms_per_request")
        ratio = pg / sqlite if pg and sqlite else None
        out.append((f"PostgreSQL server CPU per {label} within 1.5x of SQLite's",
                    "n/a" if ratio is None else f"{ratio:.2f}x",
                    None if ratio is None else ratio <= 1.5))
    one = _figure(results.get(PG1), "put_create", "throughput")
    two = _figure(results.get(PG2), "put_create", "throughput")
    gain = two / one if one and two else None
    out.append(("2 processes >= 1.6x one process's PUT create throughput",
                "n/a" if gain is None else f"{gain:.2f}x", None if gain is None else gain >= 1.6))
    # Whether the load generator was the bottleneck: its share of one core
    # during the two-process PUT phase (throughput x its CPU per request).
    own = _figure(results.get(PG2), "put_create", "loadgen_cpu_ms_per_request")
    if two and own:
        busy = two * own / 1000 * 100
        out.append(("(load generator busy during the 2-process PUT phase, % of one core;"
                    " near 100% it is the bottleneck)", f"{busy:.0f}%", None))
    return out

"""The one command: every server through the same workload, side by side.

    python -m bench.run                      # N = 1,000 and 10,000, C = 16, all servers
    python -m bench.run --sizes 1000 --no-peers --no-itip   # a quick look at caldav_sched
    python -m bench.run --servers radicale xandikos --no-itip   # the peers only
    python -m bench.run --workload lived-in --no-peers --no-itip --baseline /tmp/main-tree

caldav_sched, Radicale 3.9.0 and Xandikos 0.4.10 (installed from PyPI into
``bench/.peers`` on first use) and a trivial aiohttp server (the framework's
ceiling) run one after another on loopback, each as its own process, through
``bench.harness.run_workload``.  The table gives each figure per server and
caldav_sched's ratio to the best peer; the targets of the performance issue
are checked below it.  Everything is also written as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import itip, servers
from bench.harness import Result, markdown_table, run_workload
from bench.workload import WORKLOADS

HERE = Path(__file__).resolve().parent

# (phase, figure, label, higher is better)
FIGURES = [
    ("put_create", "throughput", "PUT create /s", True),
    ("get", "throughput", "GET /s", True),
    ("put_update", "throughput", "PUT update (If-Match) /s", True),
    ("propfind_depth1", "p50_ms", "PROPFIND Depth 1 p50 ms", False),
    ("multiget_100", "p50_ms", "multiget 100 p50 ms", False),
    ("calendar_query_month", "p50_ms", "calendar-query month p50 ms", False),
    ("calendar_query_month", "p50_us_per_match", "... p50 us per returned object", False),
    ("calendar_query_month", "cpu_us_per_match", "... server CPU us per returned object", False),
    ("calendar_query_week", "p50_ms", "calendar-query week p50 ms", False),
    ("freebusy_month", "p50_ms", "free-busy-query month p50 ms", False),
    ("sync_initial", "p50_ms", "sync initial p50 ms", False),
    ("sync_10_changes", "p50_ms", "sync 10 changes p50 ms", False),
    ("delete", "throughput", "DELETE /s", True),
    ("get", "p99_ms", "GET p99 ms", False),
    ("put_create", "cpu_ms_per_request", "server CPU ms / PUT create", False),
    ("get", "cpu_ms_per_request", "server CPU ms / GET", False),
    ("calendar_query_month", "cpu_ms_per_request", "server CPU ms / query", False),
]

CALDAV_SCHED = "caldav_sched"
# The code before a change (--baseline), measured in the same run.
BEFORE = "caldav_sched before"
CEILING = "aiohttp ceiling"
PEER_NAMES = ("radicale", "xandikos")
ALL_SERVERS = (CALDAV_SCHED, BEFORE, *PEER_NAMES, CEILING)
# --servers takes these names.
SERVER_CHOICES = {"caldav_sched": CALDAV_SCHED, "radicale": "radicale", "xandikos": "xandikos",
                  "ceiling": CEILING}


def figure(result: Result | None, phase: str, name: str) -> float | None:
    if result is None or phase not in result.phases:
        return None
    value = getattr(result.phases[phase], name)
    return None if value is None else float(value)


def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(results: dict[str, Result | None], unavailable: dict[str, str], n: int) -> str:
    before = BEFORE in results
    names = [CALDAV_SCHED, *([BEFORE] if before else []), *PEER_NAMES, CEILING]
    header = ["figure (N=%s)" % f"{n:,}", *names, "vs best peer", *(["now / before"] if before else [])]
    rows = [header]
    for phase, name, label, higher in FIGURES:
        values = {s: figure(results.get(s), phase, name) for s in names}
        peers = [v for s, v in values.items() if s in PEER_NAMES and v]
        ratio = "n/a"
        ours = values[CALDAV_SCHED]
        if peers and ours:
            best = max(peers) if higher else min(peers)
            ratio = f"{(ours / best if higher else best / ours):.1f}x"
        ratios = [ratio]
        if before:
            then = values[BEFORE]
            ratios.append(f"{ours / then:.2f}x" if ours and then else "n/a")
        cells = []
        for s in names:
            if s not in results:
                cells.append("not run")
            elif s in unavailable and results.get(s) is None:
                cells.append("unavailable")
            else:
                cells.append(fmt(values[s]))
        rows.append([label, *cells, *ratios])
    memory = ["server RSS MiB (end of run)"]
    for s in names:
        r = results.get(s)
        memory.append("not run" if s not in results
                      else fmt(r.rss_kib / 1024) if r and r.rss_kib else "n/a")
    rows.append([*memory, *[""] * (len(header) - len(memory))])
    own = ["RSS apart from SQLite's cache MiB"]
    for s in names:
        r = results.get(s)
        own.append("not run" if s not in results
                   else fmt(r.own_kib / 1024) if r and r.own_kib else "n/a")
    rows.append([*own, *[""] * (len(header) - len(own))])
    checks = ["answer checks"]
    for s in names:
        r = results.get(s)
        checks.append("not run" if s not in results else "unavailable" if r is None
                      else ("pass" if r.ok else "FAIL"))
    rows.append([*checks, *[""] * (len(header) - len(checks))])
    return markdown_table(rows)


def targets(runs: dict[int, dict[str, Result | None]], itip_figures: dict | None,
            small: int, large: int) -> list[tuple[str, str, bool | None]]:
    """The issue's targets: (what, measured, met); met is None when not measured."""
    out: list[tuple[str, str, bool | None]] = []
    ours = runs.get(large, {}).get(CALDAV_SCHED)
    base = runs.get(small, {}).get(CALDAV_SCHED)
    ceiling = runs.get(large, {}).get(CEILING)

    def check(label: str, value: float | None, ok: bool | None, unit: str = "") -> None:
        out.append((label, "n/a" if value is None else f"{fmt(value)}{unit}", None if value is None else ok))

    put = figure(ours, "put_create", "throughput")
    check(f"PUT create >= 1,000/s (N={large:,})", put, put is not None and put >= 1000, "/s")
    get = figure(ours, "get", "throughput")
    check(f"GET >= 5,000/s (N={large:,})", get, get is not None and get >= 5000, "/s")
    top = figure(ceiling, "get", "throughput")
    share = get / top * 100 if get and top else None
    check("GET >= 40% of the aiohttp ceiling", share, share is not None and share >= 40, "%")
    for phase, limit, scale, label in (
        ("calendar_query_month", 20, 2.0, "calendar-query (month)"),
        ("propfind_depth1", 150, 2.0, "PROPFIND Depth 1"),
        ("sync_10_changes", 5, 1.2, "sync of 10 changes"),
    ):
        value = figure(ours, phase, "p50_ms")
        check(f"{label} p50 <= {limit} ms (N={large:,})", value, value is not None and value <= limit, " ms")
        small_value = figure(base, phase, "p50_ms")
        growth = value / small_value if value and small_value and small != large else None
        check(f"{label}: N={large:,} within {scale}x of N={small:,}", growth,
              growth is not None and growth <= scale, "x")
    # The answers grow with N (events spread over a year): per returned object.
    if base and ours and small != large:
        for phase, label, count_of in (
            ("calendar_query_month", "calendar-query (month)",
             lambda r: r.phases["calendar_query_month"].statuses.get("matches")),
            ("propfind_depth1", "PROPFIND Depth 1", lambda r: r.n),
        ):
            try:
                per = [figure(r, phase, "p50_ms") / count_of(r) * 1000 for r in (base, ours)]
            except (KeyError, TypeError, ZeroDivisionError):
                continue
            out.append((f"({label} per returned object) N={small:,}: {fmt(per[0])} us, "
                        f"N={large:,}", f"{fmt(per[1])} us, {fmt(per[1] / per[0])}x", None))
    if itip_figures:
        mail = itip_figures.get("put_to_mail_p50_ms")
        check("PUT to mail at the SMTP server p50 <= 50 ms", mail, mail is not None and mail <= 50, " ms")
        reply = itip_figures.get("reply_to_etag_p50_ms")
        check("LMTP reply to new ETag p50 <= 50 ms", reply, reply is not None and reply <= 50, " ms")
    if ours and base and ours.own_kib and base.own_kib and small != large:
        # The issue sets SQLite's page cache apart: its size is a setting
        # (storage.cache_size_kib per connection), filled as the data grows.
        growth = (ours.own_kib - base.own_kib) / base.own_kib * 100
        check(f"server memory apart from SQLite's cache, N={large:,} vs N={small:,} within 20%",
              growth, growth <= 20, "%")
    out += _per_returned_object_targets(ours, base, runs.get(large, {}).get(BEFORE), small, large)
    if ours and base and ours.rss_kib and base.rss_kib and small != large:
        growth = (ours.rss_kib - base.rss_kib) / base.rss_kib * 100
        out.append((f"(for reference) server RSS with the page cache, N={large:,} vs N={small:,}",
                    f"{fmt(growth)}%", None))
    return out


def _per_returned_object_targets(
    ours: Result | None, base: Result | None, before: Result | None, small: int, large: int
) -> list[tuple[str, str, bool | None]]:
    """The restated targets (lived-in workload): per returned object, one request at a time."""
    out: list[tuple[str, str, bool | None]] = []

    def check(label: str, value: float | None, ok: bool, unit: str) -> None:
        out.append((label, "n/a" if value is None else f"{fmt(value)}{unit}", None if value is None else ok))

    cpu = figure(ours, "calendar_query_month", "cpu_us_per_match")
    check(f"calendar-query (month) server CPU <= 20 us per returned object (N={large:,})", cpu,
          cpu is not None and cpu <= 20, " us")
    week = figure(ours, "calendar_query_week", "p50_ms")
    check(f"calendar-query (week) p50 <= 5 ms (N={large:,})", week, week is not None and week <= 5, " ms")
    busy = figure(ours, "freebusy_month", "p50_ms")
    check(f"free-busy-query (month) p50 <= 20 ms (N={large:,})", busy, busy is not None and busy <= 20, " ms")
    if base is not None and small != large:
        for name, label in (("p50_us_per_match", "p50"), ("cpu_us_per_match", "server CPU")):
            now, then = figure(ours, "calendar_query_month", name), figure(base, "calendar_query_month", name)
            growth = now / then if now and then else None
            check(f"calendar-query (month) {label} per returned object, N={large:,} within 1.2x of "
                  f"N={small:,}", growth, growth is not None and growth <= 1.2, "x")
    if before is not None:
        now, then = (figure(r, "put_create", "cpu_ms_per_request") for r in (ours, before))
        growth = now / then if now and then else None
        check(f"PUT create server CPU within 1.2x of the code before (N={large:,})", growth,
              growth is not None and growth <= 1.2, "x")
    return out


async def run_size(
    n: int, c: int, peers: Path | None, log, create_budget: float, cache_kib: int | None = None,
    only: set[str] | None = None, workload: str = "standard", baseline: Path | None = None,
) -> tuple[dict, dict]:
    """Every server (or those named in *only*) through the workload at N = *n*."""
    results: dict[str, Result | None] = {}
    unavailable: dict[str, str] = {}
    storage = {"cache_size_kib": cache_kib} if cache_kib else {}
    selected = set(ALL_SERVERS) if only is None else only
    peer_names = [name for name in PEER_NAMES if name in selected]
    starters = [(CALDAV_SCHED, lambda: servers.start_caldav_sched(storage=storage))]
    if baseline is not None:
        starters.append((BEFORE, lambda: servers.start_caldav_sched(baseline, BEFORE, storage=storage)))
    if peers is not None and peer_names:
        try:
            python = servers.peers_env(peers, log=log)
            starters += [("radicale", lambda: servers.start_radicale(python)),
                         ("xandikos", lambda: servers.start_xandikos(python))]
        except (servers.Unavailable, OSError, Exception) as exc:  # noqa: BLE001
            for name in peer_names:
                unavailable[name] = f"not installed: {exc}"
                results[name] = None
    starters.append((CEILING, servers.start_ceiling))
    starters = [(name, start) for name, start in starters if name in selected or name == BEFORE]
    for name, start in starters:
        log(f"N={n:,}: {name}")
        try:
            running = start()
        except Exception as exc:  # noqa: BLE001
            log(f"  {name} unavailable: {exc}")
            unavailable[name] = str(exc)
            results[name] = None
            continue
        try:
            budget = None if name in (CALDAV_SCHED, BEFORE, CEILING) else create_budget
            results[name] = await run_workload(
                running.target, n, c, log=log, create_budget=budget, workload=workload
            )
            if not results[name].ok:
                log(f"  {name}: checks failed: {results[name].failures()[:5]}")
        except Exception as exc:  # noqa: BLE001
            log(f"  {name} failed: {exc!r}")
            unavailable[name] = f"failed: {exc!r}"
            results[name] = None
        finally:
            running.stop()
    return results, unavailable


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, Python {platform.python_version()}"


async def main_async(args: argparse.Namespace) -> int:
    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.time()
    runs: dict[int, dict[str, Result | None]] = {}
    missing: dict[int, dict[str, str]] = {}
    peers = None if args.no_peers else Path(args.peers_env)
    peer_sizes = set(args.peer_sizes or args.sizes)
    only = {SERVER_CHOICES[name] for name in args.servers} if args.servers else None
    for n in args.sizes:
        runs[n], missing[n] = await run_size(
            n, args.concurrency, peers if n in peer_sizes else None, log, args.create_budget,
            args.cache_kib, only, args.workload, Path(args.baseline) if args.baseline else None,
        )
    itip_figures = None if args.no_itip else await itip.measure(args.itip_events, log=log)
    scale = None
    if not args.no_scaleout:
        from bench import scaleout

        scale_n = args.scaleout_size or min(args.sizes)
        scale = (scale_n, *await scaleout.measure(scale_n, args.concurrency, log))

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"caldav_sched benchmark, {stamp}; {machine()}; C = {args.concurrency}; "
           f"workload {args.workload}", ""]
    for n in args.sizes:
        out += [table(runs[n], missing[n], n), ""]
        for name, reason in missing[n].items():
            out.append(f"- {name} at N={n:,}: {reason[:200]}")
    if itip_figures:
        out += ["", f"iTIP over {itip_figures['events']} events: PUT response -> REQUEST at the SMTP "
                f"server p50 {itip_figures['put_to_mail_p50_ms']:.1f} ms, p95 "
                f"{itip_figures['put_to_mail_p95_ms']:.1f} ms; LMTP REPLY -> new ETag served p50 "
                f"{itip_figures['reply_to_etag_p50_ms']:.1f} ms, p95 "
                f"{itip_figures['reply_to_etag_p95_ms']:.1f} ms"
                + ("" if itip_figures["ok"] else f" (FAILED: {itip_figures['failures'][:3]})")]
    if scale is not None:
        out += ["", scaleout.table(scale[1], scale[0]), ""]
        for name, reason in scale[2].items():
            out.append(f"- {name}: {reason[:200]}")
    small, large = min(args.sizes), max(args.sizes)
    checked = targets(runs, itip_figures, small, large)
    if scale is not None:
        checked += scaleout.targets(scale[1])
    out += ["", "Targets:"]
    for label, value, ok in checked:
        mark = "info" if label.startswith("(") else "n/a " if ok is None else ("MET " if ok else "MISS")
        out.append(f"  [{mark}] {label}: {value}")
    out.append(f"\n(run took {time.time() - started:.0f} s)")
    text = "\n".join(out)
    print(text)
    report = {
        "date": stamp,
        "machine": machine(),
        "concurrency": args.concurrency,
        "workload": args.workload,
        "runs": {str(n): {s: (r.to_json() if r else None) for s, r in runs[n].items()} for n in runs},
        "unavailable": {str(n): missing[n] for n in missing},
        "itip": itip_figures,
        "scaleout": None if scale is None else {
            "n": scale[0],
            "runs": {name: (r.to_json() if r else None) for name, r in scale[1].items()},
            "unavailable": scale[2],
        },
        "targets": [{"target": l, "measured": v, "met": ok} for l, v, ok in checked],
        "table": text,
    }
    Path(args.json).write_text(json.dumps(report, indent=1))
    log(f"written {args.json}")
    failed = any(r is not None and not r.ok for rs in runs.values() for r in rs.values())
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description="caldav_sched side-by-side benchmark")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000],
                        help="numbers of objects N (the smallest and largest are compared)")
    parser.add_argument("--concurrency", "-c", type=int, default=16)
    parser.add_argument("--no-peers", action="store_true", help="skip Radicale and Xandikos")
    parser.add_argument("--servers", nargs="+", choices=sorted(SERVER_CHOICES), default=None,
                        help="run only these servers (default: all); the others show as "
                             "'not run'")
    parser.add_argument("--peer-sizes", type=int, nargs="+", default=None,
                        help="the sizes at which Radicale and Xandikos run (default: all)")
    parser.add_argument("--no-itip", action="store_true", help="skip the iTIP figures")
    parser.add_argument("--itip-events", type=int, default=200)
    parser.add_argument("--peers-env", default=str(HERE / ".peers"),
                        help="virtual environment for the peers (created on first use)")
    parser.add_argument("--create-budget", type=float, default=120.0,
                        help="seconds of a peer's create phase that are timed; the rest is "
                             "written straight into the peer's storage, untimed")
    parser.add_argument("--no-scaleout", action="store_true",
                        help="skip caldav_sched on PostgreSQL with 1 and 2 processes beside SQLite")
    parser.add_argument("--scaleout-size", type=int, default=None,
                        help="N for the PostgreSQL comparison (default: the smallest size)")
    parser.add_argument("--json", default=None,
                        help="where the figures go (default: bench/results.json for a run of"
                        " the whole table, bench/results-partial.json for any narrower run)")
    parser.add_argument("--workload", choices=WORKLOADS, default="standard",
                        help="standard: the events above; lived-in: a third of the objects all-day"
                        " events, birthdays, series without end, floating times and tasks")
    parser.add_argument("--baseline", default=None,
                        help="a source tree of caldav_sched (such as main before a change) run as"
                        " 'caldav_sched before' beside this one, with the same workload")
    parser.add_argument("--cache-kib", type=int, default=None,
                        help="caldav_sched's SQLite page cache per connection (storage.cache_size_kib);"
                        " a small one shows the memory growth that is not page cache")
    args = parser.parse_args()
    if args.json is None:
        name = "results-partial.json" if _narrowed(parser, args) else "results.json"
        args.json = str(HERE / name)
    sys.exit(asyncio.run(main_async(args)))


def _narrowed(parser: argparse.ArgumentParser, args: argparse.Namespace) -> bool:
    """Whether a run differs from the whole table (the README's figures) in what it measures."""
    measured = ("sizes", "no_peers", "servers", "peer_sizes", "no_itip", "no_scaleout",
                "workload", "baseline", "cache_kib", "concurrency", "scaleout_size", "itip_events")
    return any(getattr(args, name) != parser.get_default(name) for name in measured)


if __name__ == "__main__":
    main()

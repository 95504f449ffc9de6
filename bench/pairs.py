"""Server CPU per PUT create, this checkout against another source tree, in pairs.

A single run of ``bench.run`` measures the code before a change after the
code now, so a machine whose speed drifts (a virtual machine sharing its
host) moves the ratio by more than the change does.  This measures only
the create phase, the two servers one right after the other, several
times: each pair gives a ratio taken within a minute, and their spread says
how far to trust it.

    python -m bench.pairs --baseline /tmp/before --pairs 3

Each server is new, gets the workload's N objects by PUT (C = 16), and its
CPU (from ``/proc``) is divided by N; nothing else runs in between.  The
side that goes first alternates from pair to pair.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from pathlib import Path

from bench import servers
from bench.harness import Client, cpu_seconds, pool, year_window
from bench.workload import WORKLOADS, make_workload


async def create_cpu(source: Path | None, n: int, c: int, workload: str) -> float:
    """Server CPU in ms per PUT create of ``n`` objects into a new server."""
    running = servers.start_caldav_sched(source)
    try:
        target = running.target
        client = Client(target, c)
        year_start, _, _ = year_window()
        events = make_workload(
            workload, n, seed=1, year_start=year_start, organizer=target.organizer
        )

        async def put(item: object) -> None:
            event = item
            status, _, _ = await client.request(
                "PUT", target.url + event.name, None, data=event.body,  # type: ignore[attr-defined]
                headers={"If-None-Match": "*", "Content-Type": "text/calendar"},
            )
            if status not in (201, 204):
                raise RuntimeError(f"PUT {event.name}: {status}")  # type: ignore[attr-defined]

        before = cpu_seconds(target.pid)
        await pool(events, c, put)
        after = cpu_seconds(target.pid)
        await client.close()
        if before is None or after is None:
            raise RuntimeError("the server's CPU time cannot be read")
        return (after - before) / n * 1000
    finally:
        running.stop()


async def pairs(
    baseline: Path, count: int, n: int, c: int, workload: str
) -> list[tuple[float, float]]:
    """``count`` pairs of (now, before): server CPU in ms per PUT create."""
    results = []
    for number in range(1, count + 1):
        # Which goes first alternates, so that a machine speeding up or
        # slowing down through a pair does not favour one side every time.
        if number % 2:
            now = await create_cpu(None, n, c, workload)
            before = await create_cpu(baseline, n, c, workload)
        else:
            before = await create_cpu(baseline, n, c, workload)
            now = await create_cpu(None, n, c, workload)
        results.append((now, before))
        print(f"pair {number}: now {now:.2f} ms, before {before:.2f} ms per PUT create,"
              f" {now / before:.2f}x", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--baseline", type=Path, required=True, help="source tree of the code before"
    )
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("-n", type=int, default=10_000, help="objects per server")
    parser.add_argument("-c", type=int, default=16, help="requests in flight")
    parser.add_argument("--workload", choices=WORKLOADS, default="lived-in")
    args = parser.parse_args()
    results = asyncio.run(pairs(args.baseline, args.pairs, args.n, args.c, args.workload))
    ratios = [now / before for now, before in results]
    print(
        f"now / before: median {statistics.median(ratios):.2f}x,"
        f" from {min(ratios):.2f}x to {max(ratios):.2f}x"
    )


if __name__ == "__main__":
    main()

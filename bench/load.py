"""Load held: many clients at once against a real ``caldav-sched serve``.

Run by hand (not part of the test suite, not a timed unit test):

    .venv/bin/python -m bench.load                      # 256 clients, 60 s
    .venv/bin/python -m bench.load --clients 64 --seconds 20 --objects 500

It starts ``caldav-sched serve`` as a subprocess on a loopback port (queue
workers on, invitations written as files), stores ``--objects`` events
(some with attendees, so writes schedule mail), then lets ``--clients``
clients run a mix of reads and writes for ``--seconds``: GET of an object,
PROPFIND Depth 1 of ETags, a one-month calendar-query, an incremental
sync-collection, calendar-multiget of 20, PUT updates with If-Match of the
client's own objects, PUT creates and DELETEs.  Every answer is checked
(status, and the ETag a write gave); an error is a 5xx, an answer other
than the expected one, a connection error or a timeout.  A 412 to a write
is expected when the server changed the object meanwhile (delivery records
each attendee's SCHEDULE-STATUS in the organizer's copy): the client reads
the object again, as apps do, and the 412s are counted apart.  It prints, and
writes as JSON with ``--json FILE``: requests and errors per kind, p50 and
p99 latency, and the server's resident memory (RSS) before, at its peak
and at the end, sampled every half second.  The exit status is 1 when any
request failed.

The load generator runs on the same machine as the server, so both share
its cores: latencies include the generator's own scheduling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

import aiohttp

from bench.harness import basic_auth, cpu_seconds, memory_kib, percentile, year_window
from bench.servers import EMAIL, PASSWORD, USER, start_caldav_sched
from bench.workload import make_events

XML = {"Content-Type": "application/xml; charset=utf-8"}
ICS = {"Content-Type": "text/calendar; charset=utf-8"}
PROPFIND_ETAGS = b'<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>'


def _query(start: datetime, end: datetime) -> bytes:
    fmt = "%Y%m%dT%H%M%SZ"
    return (
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter>"
        '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{start.strftime(fmt)}" end="{end.strftime(fmt)}"/>'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    ).encode()


def _sync(token: str) -> bytes:
    return (
        '<D:sync-collection xmlns:D="DAV:"><D:sync-token>' + token + "</D:sync-token>"
        "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
    ).encode()


def _multiget(hrefs: list[str]) -> bytes:
    return (
        '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
        + "".join(f"<D:href>{h}</D:href>" for h in hrefs)
        + "</C:calendar-multiget>"
    ).encode()


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)

    def record(self, kind: str, seconds: float, ok: bool, why: str = "") -> None:
        self.latencies[kind].append(seconds)
        if not ok:
            self.errors[kind] += 1
            if len(self.examples) < 20:
                self.examples.append(f"{kind}: {why}")


class LoadClient:
    """One calendar app: its own objects to update, shared ones to read."""

    def __init__(self, number: int, session: aiohttp.ClientSession, base: str,
                 shared: list[str], own: dict[str, tuple[bytes, str]], tally: Tally,
                 month: tuple[datetime, datetime], seed: int, templates: list[bytes]) -> None:
        self.number = number
        self.session = session
        self.base = base
        self.path = urlsplit(base).path
        self.shared = shared
        self.templates = templates
        self.own = own  # href -> (body, etag)
        self.tally = tally
        self.month = month
        self.rng = random.Random(seed)
        self.sync_token = ""
        self.created = 0
        self.conflicts = 0  # 412s: the object changed since this client read it

    async def call(self, kind: str, method: str, href: str, body: bytes | None,
                   headers: dict[str, str], expect: tuple[int, ...]) -> tuple[int, dict, bytes]:
        started = time.perf_counter()
        try:
            async with self.session.request(method, href, data=body, headers=headers) as resp:
                data = await resp.read()
                status, answer_headers = resp.status, dict(resp.headers)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            self.tally.record(kind, time.perf_counter() - started, False, f"{type(exc).__name__}: {exc}")
            return 0, {}, b""
        ok = status in expect
        self.tally.record(kind, time.perf_counter() - started, ok,
                          f"{method} {href} -> {status} {data[:120]!r}")
        return status, answer_headers, data

    async def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.40:
            await self.call("GET", "GET", self.base + self.rng.choice(self.shared), None, {}, (200,))
        elif roll < 0.50:
            await self.call("PROPFIND", "PROPFIND", self.base, PROPFIND_ETAGS,
                            {**XML, "Depth": "1"}, (207,))
        elif roll < 0.58:
            await self.call("calendar-query", "REPORT", self.base, _query(*self.month),
                            {**XML, "Depth": "1"}, (207,))
        elif roll < 0.66:
            status, _, data = await self.call("sync-collection", "REPORT", self.base,
                                              _sync(self.sync_token), XML, (207,))
            if status == 207:
                start = data.find(b"<D:sync-token>")
                end = data.find(b"</D:sync-token>")
                if 0 <= start < end:
                    self.sync_token = data[start + 14:end].decode()
        elif roll < 0.72:
            hrefs = [self.path + name for name in self.rng.sample(self.shared, 20)]
            await self.call("multiget", "REPORT", self.base, _multiget(hrefs),
                            {**XML, "Depth": "1"}, (207,))
        elif roll < 0.90 and self.own:
            href = self.rng.choice(list(self.own))
            body, etag = self.own[href]
            body = body.replace(b"\r\nSUMMARY:", f"\r\nSUMMARY:v{self.rng.randrange(10**6)} ".encode(), 1)
            status, headers, _ = await self.call("PUT update", "PUT", self.base + href, body,
                                                 {**ICS, "If-Match": etag}, (204, 412))
            if status == 204:
                self.own[href] = (body, headers.get("ETag", etag))
            elif status == 412:
                await self.refresh(href)
        elif roll < 0.96 or len(self.own) < 2:
            self.created += 1
            href = f"load-{self.number}-{self.created}.ics"
            body = _with_uid(self.rng.choice(self.templates), f"load-{self.number}-{self.created}")
            status, headers, _ = await self.call("PUT create", "PUT", self.base + href, body,
                                                 {**ICS, "If-None-Match": "*"}, (201,))
            if status == 201:
                self.own[href] = (body, headers.get("ETag", ""))
        else:
            href = self.rng.choice(list(self.own))
            _, etag = self.own[href]
            status, _, _ = await self.call("DELETE", "DELETE", self.base + href, None,
                                           {"If-Match": etag}, (204, 412))
            if status == 412:
                await self.refresh(href)
            else:
                del self.own[href]

    async def refresh(self, href: str) -> None:
        """After a 412 (delivery moved an attendee's SCHEDULE-STATUS on): what apps do."""
        self.conflicts += 1
        status, headers, data = await self.call("GET", "GET", self.base + href, None, {}, (200,))
        if status == 200:
            self.own[href] = (data, headers.get("ETag", ""))


def _with_uid(body: bytes, uid: str) -> bytes:
    start = body.find(b"\r\nUID:") + 6
    end = body.find(b"\r\n", start)
    return body[:start] + uid.encode() + body[end:]


async def _seed(session: aiohttp.ClientSession, base: str, events, concurrency: int = 32) -> dict[str, str]:
    etags: dict[str, str] = {}
    gate = asyncio.Semaphore(concurrency)

    async def put(event) -> None:
        async with gate:
            async with session.put(base + event.name, data=event.body,
                                   headers={**ICS, "If-None-Match": "*"}) as resp:
                await resp.read()
                if resp.status != 201:
                    raise SystemExit(f"seeding {event.name} failed: {resp.status}")
                etags[event.name] = resp.headers["ETag"]

    await asyncio.gather(*(put(e) for e in events))
    return etags


async def _sample_rss(pid: int, samples: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        rss, _ = memory_kib(pid)
        if rss is not None:
            samples.append(rss)
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.5)
        except asyncio.TimeoutError:
            pass


async def run(clients: int, seconds: float, objects: int) -> dict:
    server = start_caldav_sched(queue={"workers": 2, "poll_interval": 1.0})
    try:
        base = server.target.url
        pid = server.process.pid
        year_start, month_start, month_end = year_window()
        events = make_events(objects, seed=7, year_start=year_start, organizer=EMAIL)
        connector = aiohttp.TCPConnector(limit=clients + 8)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout,
            headers={"Authorization": basic_auth(USER, PASSWORD)},
        ) as session:
            etags = await _seed(session, base, events)
            rss_before, _ = memory_kib(pid)
            names = [e.name for e in events]
            per_client = max(1, len(events) // (clients * 2))
            tally = Tally()
            load_clients = []
            for i in range(clients):
                own_events = events[i * per_client:(i + 1) * per_client] if (i + 1) * per_client <= len(events) // 2 else []
                own = {e.name: (e.body, etags[e.name]) for e in own_events}
                load_clients.append(LoadClient(i, session, base, names[len(events) // 2:], own, tally,
                                               (month_start, month_end), seed=i,
                                               templates=[e.body for e in events[:50]]))
            samples: list[int] = []
            stop = asyncio.Event()
            sampler = asyncio.create_task(_sample_rss(pid, samples, stop))
            deadline = time.monotonic() + seconds
            started = time.monotonic()
            cpu_before = cpu_seconds(pid)

            async def drive(client: LoadClient) -> None:
                while time.monotonic() < deadline:
                    await client.step()

            await asyncio.gather(*(drive(c) for c in load_clients))
            elapsed = time.monotonic() - started
            cpu_after = cpu_seconds(pid)
            stop.set()
            await sampler
            rss_end, hwm = memory_kib(pid)
        every = [v for values in tally.latencies.values() for v in values]
        result = {
            "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "clients": clients,
            "seconds": round(elapsed, 1),
            "objects": objects,
            "requests": len(every),
            "requests_per_second": round(len(every) / elapsed, 1),
            "errors": sum(tally.errors.values()),
            "conflicts_412": sum(c.conflicts for c in load_clients),
            "p50_ms": round(percentile(every, 0.50) * 1000, 1),
            "p99_ms": round(percentile(every, 0.99) * 1000, 1),
            "max_ms": round(max(every, default=0) * 1000, 1),
            # Server CPU in the load phase, in cores: below one on a machine
            # busy with other work means the server waited for a core.
            "server_cpu_cores": (round((cpu_after - cpu_before) / elapsed, 2)
                                 if cpu_before is not None and cpu_after is not None else None),
            "rss_mib": {
                "after_seeding": round((rss_before or 0) / 1024, 1),
                "peak": round(max(samples, default=0) / 1024, 1),
                "end": round((rss_end or 0) / 1024, 1),
            },
            "kinds": {
                kind: {
                    "requests": len(values),
                    "errors": tally.errors.get(kind, 0),
                    "p50_ms": round(percentile(values, 0.50) * 1000, 1),
                    "p99_ms": round(percentile(values, 0.99) * 1000, 1),
                }
                for kind, values in sorted(tally.latencies.items())
            },
            "error_examples": tally.examples,
            "server_log_errors": _log_errors(server.log_path),
        }
        return result
    finally:
        server.stop()


def _log_errors(path) -> int:
    """Lines of the server's log at ERROR, or tracebacks."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return -1
    return sum(1 for line in text.splitlines() if " ERROR " in line or line.startswith("Traceback"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.clients, args.seconds, args.objects))
    print(f"{result['clients']} clients for {result['seconds']} s on {result['objects']} objects: "
          f"{result['requests']} requests ({result['requests_per_second']}/s), "
          f"{result['errors']} errors, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
          f"max {result['max_ms']} ms; {result['conflicts_412']} writes answered 412 and re-read")
    rss = result["rss_mib"]
    print(f"server RSS: {rss['after_seeding']} MiB after seeding, peak {rss['peak']} MiB, "
          f"{rss['end']} MiB at the end; server CPU {result['server_cpu_cores']} cores; "
          f"server log errors: {result['server_log_errors']}")
    for kind, k in result["kinds"].items():
        print(f"  {kind:16} {k['requests']:7} requests {k['errors']:5} errors "
              f"p50 {k['p50_ms']:8.1f} ms  p99 {k['p99_ms']:8.1f} ms")
    for example in result["error_examples"]:
        print("  error:", example)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 1 if result["errors"] or result["server_log_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

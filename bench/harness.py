"""The load generator: drives any CalDAV server through the benchmark phases.

Given a calendar collection URL and credentials, ``run_workload`` stores N
generated events and then measures, phase by phase, throughput, p50/p95/p99
latency and (when the server's process id is known) the server's CPU time
per request.  Every phase also checks the answers: status codes, result
counts against what the generator knows, ``412`` on a stale ETag.  A failed
check is recorded in the result (and makes ``ok`` false), never hidden.

Throughput phases (PUT, GET, multiget, DELETE) keep C requests in flight.
The report phases whose latency a user feels (PROPFIND Depth 1,
calendar-query, sync-collection) are sent one at a time, as a client does.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import aiohttp
from lxml import etree

from bench.workload import Event, make_workload, updated

DAV = "{DAV:}"
CLK_TCK = os.sysconf("SC_CLK_TCK")

PROPFIND_ETAGS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>'
)


@dataclass
class Target:
    """A server under test: its calendar collection and how to reach it."""

    name: str
    url: str  # the calendar collection, ending in "/"
    user: str
    password: str
    pid: int | None = None
    dav: bool = True  # False for the plain aiohttp ceiling (PUT/GET/DELETE only)
    organizer: str = "bench@example.com"
    # A Prometheus page that shows caldav_sched_sqlite_memory_bytes (caldav_sched's /metrics).
    metrics_url: str | None = None
    # Stores (name, body) pairs straight into the server's storage, as a PUT
    # of each body would have stored them; used for the untimed rest of a slow
    # server's create phase (the HTTP PUTs of the rest when None).
    seed: Callable[[list[tuple[str, bytes]]], None] | None = None
    # More processes whose CPU is the server's (a PostgreSQL postmaster, whose
    # backends do the database work).
    cpu_pids: tuple[int, ...] = ()


@dataclass
class Phase:
    name: str
    requests: int = 0
    seconds: float = 0.0
    throughput: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    cpu_ms_per_request: float | None = None
    # The load generator's own CPU (this process), for telling whether it
    # was the bottleneck.
    loadgen_cpu_ms_per_request: float | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def p50_us_per_match(self) -> float | None:
        """p50 latency per returned object (query phases, which record their matches)."""
        matches = self.statuses.get("matches")
        return self.p50_ms * 1000 / matches if matches else None

    @property
    def cpu_us_per_match(self) -> float | None:
        """Server CPU per returned object (query phases, which record their matches)."""
        matches = self.statuses.get("matches")
        if not matches or self.cpu_ms_per_request is None:
            return None
        return self.cpu_ms_per_request * 1000 / matches


@dataclass
class Result:
    target: str
    n: int
    c: int
    phases: dict[str, Phase] = field(default_factory=dict)
    rss_kib: int | None = None
    hwm_kib: int | None = None
    sqlite_kib: int | None = None  # SQLite's heap (page caches), where the server shows it
    skipped: list[str] = field(default_factory=list)

    @property
    def own_kib(self) -> int | None:
        """Resident memory apart from SQLite's page caches (its own setting)."""
        if self.rss_kib is None or self.sqlite_kib is None:
            return None
        return self.rss_kib - self.sqlite_kib

    @property
    def ok(self) -> bool:
        return not any(p.failures for p in self.phases.values())

    def failures(self) -> list[str]:
        return [f"{p.name}: {f}" for p in self.phases.values() for f in p.failures]

    def to_json(self) -> dict:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pid: int | None, *more: int) -> float | None:
    """User plus system CPU time of a process (all its threads) and its child processes.

    Children count while they run (the processes of ``[server] processes``;
    a database server's backends, given its postmaster in *more*).
    """
    if pid is None:
        return None
    roots = {pid, *more}
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None:
                parents[int(entry)] = int(fields[1])
    tree = set(roots) & set(parents)
    if pid not in tree:
        return None
    grew = True
    while grew:
        children = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    total = 0
    for member in tree:
        fields = _stat(member)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def memory_kib(pid: int | None) -> tuple[int | None, int | None]:
    """(VmRSS, VmHWM) of a process, in KiB."""
    if pid is None:
        return None, None
    rss = hwm = None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def markdown_table(rows: Sequence[Sequence[str]]) -> str:
    """``rows`` (the first is the header) as a Markdown table with aligned columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class Meter:
    """Latencies and statuses of one phase, and the server CPU it cost."""

    def __init__(self, name: str, pid: int | None, more: tuple[int, ...] = ()) -> None:
        self.phase = Phase(name)
        self._pid = pid
        self._more = more
        self._latencies: list[float] = []
        self._cpu0 = cpu_seconds(pid, *more)
        self._own0 = time.process_time()
        self._t0 = time.perf_counter()

    def record(self, status: int, seconds: float) -> None:
        self._latencies.append(seconds)
        key = str(status)
        self.phase.statuses[key] = self.phase.statuses.get(key, 0) + 1

    def fail(self, message: str) -> None:
        if len(self.phase.failures) < 10:
            self.phase.failures.append(message)

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            self.fail(message)

    def done(self) -> Phase:
        p = self.phase
        p.seconds = time.perf_counter() - self._t0
        p.requests = len(self._latencies)
        p.throughput = p.requests / p.seconds if p.seconds else 0.0
        p.p50_ms = percentile(self._latencies, 0.50) * 1000
        p.p95_ms = percentile(self._latencies, 0.95) * 1000
        p.p99_ms = percentile(self._latencies, 0.99) * 1000
        cpu1 = cpu_seconds(self._pid, *self._more)
        if self._cpu0 is not None and cpu1 is not None and p.requests:
            p.cpu_ms_per_request = (cpu1 - self._cpu0) * 1000 / p.requests
        if p.requests:
            p.loadgen_cpu_ms_per_request = (time.process_time() - self._own0) * 1000 / p.requests
        return p


async def pool(items: Sequence, concurrency: int, work: Callable[[object], Awaitable[None]]) -> None:
    """Run *work* over *items* with at most *concurrency* in flight."""
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:
            await work(item)

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))


def _responses(body: bytes) -> list[etree._Element]:
    root = etree.fromstring(body)
    return root.findall(f"{DAV}response")


def _ok_responses(body: bytes) -> list[etree._Element]:
    """Responses that carry properties with status 200 (not 404 hrefs)."""
    found = []
    for response in _responses(body):
        for status in response.iterfind(f"{DAV}propstat/{DAV}status"):
            if " 200 " in (status.text or "") + " ":
                found.append(response)
                break
    return found


def _sync_token(body: bytes) -> str:
    root = etree.fromstring(body)
    token = root.find(f"{DAV}sync-token")
    return (token.text or "") if token is not None else ""


def _freebusy_query(start: datetime, end: datetime) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f'<C:time-range start="{start:%Y%m%dT%H%M%SZ}" end="{end:%Y%m%dT%H%M%SZ}"/>'
        "</C:free-busy-query>"
    ).encode()


def _calendar_query(start: datetime, end: datetime) -> bytes:
    fmt = "%Y%m%dT%H%M%SZ"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><D:getetag/></D:prop>"
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{start.strftime(fmt)}" end="{end.strftime(fmt)}"/>'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    ).encode()


def _multiget(hrefs: Sequence[str]) -> bytes:
    items = "".join(f"<D:href>{h}</D:href>" for h in hrefs)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:prop><D:getetag/><C:calendar-data/></D:prop>{items}</C:calendar-multiget>"
    ).encode()


def _sync(token: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
        "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
    ).encode()


def year_window(now: datetime | None = None) -> tuple[datetime, datetime, datetime]:
    """(start of the events' year, the queried month's first day, its end).

    The year runs from six months ago to six months ahead, so some events
    lie in the future (and schedule mail) and some in the past.
    """
    now = now or datetime.now(timezone.utc)
    year_start = (now - timedelta(days=182)).replace(hour=0, minute=0, second=0, microsecond=0)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month_end = (month_start + timedelta(days=32)).replace(day=1)
    return year_start, month_start, month_end


class Client:
    """One aiohttp session against one target, timing every request."""

    def __init__(self, target: Target, concurrency: int) -> None:
        self.target = target
        self.path = urlsplit(target.url).path
        connector = aiohttp.TCPConnector(limit=max(concurrency, 1) + 2, force_close=False)
        self.session = aiohttp.ClientSession(
            connector=connector,
            headers={"Authorization": basic_auth(target.user, target.password)},
            timeout=aiohttp.ClientTimeout(total=300),
        )

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self,
        method: str,
        url: str,
        meter: Meter | None,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, aiohttp.typedefs.LooseHeaders, bytes]:
        t0 = time.perf_counter()
        async with self.session.request(method, url, data=data, headers=headers) as resp:
            body = await resp.read()
            status = resp.status
            resp_headers = resp.headers
        if meter is not None:
            meter.record(status, time.perf_counter() - t0)
        return status, resp_headers, body


async def run_workload(
    target: Target,
    n: int,
    c: int,
    *,
    seed: int = 1,
    repeats: int = 20,
    create_budget: float | None = None,
    now: datetime | None = None,
    log: Callable[[str], None] = lambda _msg: None,
    workload: str = "standard",
) -> Result:
    """Store *n* events in *target* and measure every phase at concurrency *c*.

    *create_budget* (seconds) bounds the timed part of the create phase for
    slow servers: the remaining objects are still stored (later phases need
    them) but are not counted in the create figures; with ``target.seed``
    they go straight into the server's storage, else by PUT.
    """
    year_start, month_start, month_end = year_window(now)
    events = make_workload(workload, n, seed=seed, year_start=year_start, organizer=target.organizer)
    result = Result(target.name, n, c)
    client = Client(target, c)
    etags: dict[str, str] = {}
    live: dict[str, Event] = {e.name: e for e in events}
    rng = random.Random(seed + 1)
    try:
        # -- PUT create, If-None-Match: * -------------------------------------
        meter = Meter("put_create", target.pid, target.cpu_pids)
        deadline = time.perf_counter() + create_budget if create_budget else None
        untimed: list[Event] = []

        async def create(item: object, timed: bool = True) -> None:
            event = item  # type: ignore[assignment]
            assert isinstance(event, Event)
            if timed and deadline is not None and time.perf_counter() > deadline:
                untimed.append(event)
                return
            status, headers, _ = await client.request(
                "PUT",
                target.url + event.name,
                meter if timed else None,
                data=event.body,
                headers={"If-None-Match": "*", "Content-Type": "text/calendar; charset=utf-8"},
            )
            if status != 201:
                meter.fail(f"create {event.name}: {status}, expected 201")
            etag = headers.get("ETag")
            if etag:
                etags[event.name] = etag

        await pool(events, c, create)
        result.phases["put_create"] = meter.done()
        if untimed and target.seed is not None:
            log(f"  {target.name}: create budget spent; seeding {len(untimed) - 1} more into its "
                "storage, 1 over HTTP")
            t0 = time.perf_counter()
            if len(untimed) > 1:
                await asyncio.to_thread(target.seed, [(e.name, e.body) for e in untimed[:-1]])
            # The last one over HTTP and one calendar-query, untimed: what a
            # server keeps in memory about its objects (Xandikos' UID map and
            # filter index) catches up here, not in the timed phases, as it
            # would have during the PUTs.
            await create(untimed[-1], timed=False)
            if target.dav:
                status, _, _ = await client.request(
                    "REPORT", target.url, None,
                    data=_calendar_query(year_start, year_start + timedelta(days=1)),
                    headers={"Content-Type": "application/xml; charset=utf-8", "Depth": "1"},
                )
                meter.expect(status == 207, f"calendar-query after seeding: {status}")
            log(f"  {target.name}: seeded in {time.perf_counter() - t0:.1f} s")
        elif untimed:
            log(f"  {target.name}: create budget spent; storing {len(untimed)} more untimed")
            await pool(untimed, c, lambda e: create(e, timed=False))
        log(f"  {target.name}: created {n}")

        # -- GET -----------------------------------------------------------------
        meter = Meter("get", target.pid, target.cpu_pids)

        async def get(item: object) -> None:
            event = item  # type: ignore[assignment]
            assert isinstance(event, Event)
            status, headers, body = await client.request("GET", target.url + event.name, meter)
            if status != 200:
                meter.fail(f"GET {event.name}: {status}")
                return
            if event.uid.encode() not in body:
                meter.fail(f"GET {event.name}: body lacks its UID")
            etag = headers.get("ETag")
            if etag:
                etags[event.name] = etag
            elif event.name not in etags:
                meter.fail(f"GET {event.name}: no ETag")

        await pool(events, c, get)
        result.phases["get"] = meter.done()

        # -- PUT update with If-Match, and 412 on a stale ETag -----------------------
        meter = Meter("put_update", target.pid, target.cpu_pids)
        to_update = rng.sample(events, min(len(events), max(10, n // 5)))
        stale: dict[str, str] = {}

        async def update(item: object) -> None:
            event = updated(item, 1)  # type: ignore[arg-type]
            old = etags.get(event.name, '"none"')
            status, headers, _ = await client.request(
                "PUT",
                target.url + event.name,
                meter,
                data=event.body,
                headers={"If-Match": old, "Content-Type": "text/calendar; charset=utf-8"},
            )
            if status not in (200, 204):
                meter.fail(f"update {event.name}: {status}, expected 204")
                return
            stale[event.name] = old
            live[event.name] = event
            new = headers.get("ETag")
            if new:
                etags[event.name] = new
                meter.expect(new != old, f"update {event.name}: ETag unchanged")
            else:
                etags.pop(event.name, None)

        await pool(to_update, c, update)
        result.phases["put_update"] = meter.done()
        for name in list(stale)[:10]:
            status, _, _ = await client.request(
                "PUT",
                target.url + name,
                None,
                data=updated(live[name], 2).body,
                headers={"If-Match": stale[name], "Content-Type": "text/calendar"},
            )
            meter.expect(status == 412, f"stale If-Match on {name}: {status}, expected 412")
        name = events[0].name
        status, _, _ = await client.request(
            "PUT", target.url + name, None, data=live[name].body,
            headers={"If-None-Match": "*", "Content-Type": "text/calendar"},
        )
        meter.expect(status == 412, f"If-None-Match: * on an existing object: {status}")
        # Updates without an ETag in the answer: learn the new one.
        for name in [n_ for n_ in stale if n_ not in etags]:
            status, headers, _ = await client.request("GET", target.url + name, None)
            if headers.get("ETag"):
                etags[name] = headers["ETag"]

        if target.dav:
            await _dav_phases(client, target, result, live, etags, rng, c, repeats,
                              month_start, month_end)
        else:
            result.skipped += ["propfind_depth1", "multiget_100", "calendar_query_month",
                               "sync_initial", "sync_10_changes"]

        # -- DELETE 10% ---------------------------------------------------------------
        meter = Meter("delete", target.pid, target.cpu_pids)
        doomed = rng.sample(sorted(live), max(1, len(live) // 10))

        async def delete(item: object) -> None:
            name = item  # type: ignore[assignment]
            status, _, _ = await client.request("DELETE", target.url + str(name), meter)
            if status not in (200, 204):
                meter.fail(f"DELETE {name}: {status}, expected 204")
            live.pop(str(name), None)

        await pool(doomed, c, delete)
        result.phases["delete"] = meter.done()
        status, _, _ = await client.request("GET", target.url + doomed[0], None)
        meter.expect(status == 404, f"GET after DELETE: {status}, expected 404")
        if target.dav:
            status, _, body = await client.request(
                "PROPFIND", target.url, None, data=PROPFIND_ETAGS,
                headers={"Depth": "1", "Content-Type": "application/xml"},
            )
            count = len([r for r in _ok_responses(body)]) - 1
            meter.expect(count == len(live), f"PROPFIND after DELETE: {count} objects, "
                         f"expected {len(live)}")
    finally:
        await client.close()
    result.rss_kib, result.hwm_kib = memory_kib(target.pid)
    result.sqlite_kib = await sqlite_kib(target.metrics_url)
    return result


async def sqlite_kib(metrics_url: str | None) -> int | None:
    """SQLite's heap in the server, from its metrics page; None where it has none."""
    if metrics_url is None:
        return None
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(metrics_url) as response:
                text = await response.text()
    except aiohttp.ClientError:
        return None
    for line in text.splitlines():
        if line.startswith("caldav_sched_sqlite_memory_bytes "):
            return int(float(line.split()[1])) // 1024
    return None


async def _dav_phases(
    client: Client,
    target: Target,
    result: Result,
    live: dict[str, Event],
    etags: dict[str, str],
    rng: random.Random,
    c: int,
    repeats: int,
    month_start: datetime,
    month_end: datetime,
) -> None:
    xml_headers = {"Content-Type": "application/xml; charset=utf-8"}

    # -- PROPFIND Depth 1 (getetag) ---------------------------------------------------
    meter = Meter("propfind_depth1", target.pid, target.cpu_pids)
    for _ in range(max(3, repeats // 2)):
        status, _, body = await client.request(
            "PROPFIND", target.url, meter, data=PROPFIND_ETAGS, headers={**xml_headers, "Depth": "1"}
        )
        meter.expect(status == 207, f"PROPFIND: {status}")
        if status == 207:
            count = len(_ok_responses(body)) - 1
            meter.expect(count == len(live), f"PROPFIND: {count} objects, expected {len(live)}")
    result.phases["propfind_depth1"] = meter.done()

    # -- calendar-multiget of 100 --------------------------------------------------------
    meter = Meter("multiget_100", target.pid, target.cpu_pids)
    names = sorted(live)
    batches = [rng.sample(names, min(100, len(names))) for _ in range(repeats * 2)]

    async def multiget(item: object) -> None:
        batch = item  # type: ignore[assignment]
        body = _multiget([client.path + name for name in batch])  # type: ignore[union-attr]
        status, _, answer = await client.request(
            "REPORT", target.url, meter, data=body, headers={**xml_headers, "Depth": "1"}
        )
        if status != 207:
            meter.fail(f"multiget: {status}")
            return
        found = _ok_responses(answer)
        meter.expect(len(found) == len(batch), f"multiget: {len(found)} of {len(batch)}")
        with_data = sum(1 for r in found if r.find(".//{urn:ietf:params:xml:ns:caldav}calendar-data") is not None)
        meter.expect(with_data == len(batch), f"multiget: {with_data} with calendar-data")

    await pool(batches, c, multiget)
    result.phases["multiget_100"] = meter.done()

    # -- calendar-query, one month --------------------------------------------------------
    meter = Meter("calendar_query_month", target.pid, target.cpu_pids)
    expected = sum(1 for e in live.values() if e.overlaps(month_start, month_end))
    query = _calendar_query(month_start, month_end)
    for _ in range(repeats):
        status, _, body = await client.request(
            "REPORT", target.url, meter, data=query, headers={**xml_headers, "Depth": "1"}
        )
        meter.expect(status == 207, f"calendar-query: {status}")
        if status == 207:
            count = len(_ok_responses(body))
            meter.expect(count == expected, f"calendar-query: {count} objects, expected {expected}")
    result.phases["calendar_query_month"] = meter.done()
    result.phases["calendar_query_month"].statuses["matches"] = expected

    # -- calendar-query, the month's second week ---------------------------------------------
    meter = Meter("calendar_query_week", target.pid)
    week_start = month_start + timedelta(days=7)
    week_end = week_start + timedelta(days=7)
    expected = sum(1 for e in live.values() if e.overlaps(week_start, week_end))
    query = _calendar_query(week_start, week_end)
    for _ in range(repeats):
        status, _, body = await client.request(
            "REPORT", target.url, meter, data=query, headers={**xml_headers, "Depth": "1"}
        )
        meter.expect(status == 207, f"calendar-query (week): {status}")
        if status == 207:
            count = len(_ok_responses(body))
            meter.expect(count == expected, f"calendar-query (week): {count} objects, expected {expected}")
    result.phases["calendar_query_week"] = meter.done()
    result.phases["calendar_query_week"].statuses["matches"] = expected

    # -- free-busy-query, one month ----------------------------------------------------------
    meter = Meter("freebusy_month", target.pid)
    query = _freebusy_query(month_start, month_end)
    for _ in range(repeats):
        status, _, body = await client.request(
            "REPORT", target.url, meter, data=query, headers={**xml_headers, "Depth": "1"}
        )
        meter.expect(status == 200 and b"BEGIN:VFREEBUSY" in body, f"free-busy-query: {status}")
    result.phases["freebusy_month"] = meter.done()

    # -- sync-collection: initial, then after 10 changes ------------------------------------
    meter = Meter("sync_initial", target.pid, target.cpu_pids)
    token = ""
    for _ in range(max(3, repeats // 4)):
        status, _, body = await client.request(
            "REPORT", target.url, meter, data=_sync(""), headers={**xml_headers}
        )
        meter.expect(status == 207, f"sync initial: {status}")
        if status == 207:
            count = len(_ok_responses(body))
            meter.expect(count == len(live), f"sync initial: {count}, expected {len(live)}")
            token = _sync_token(body)
    result.phases["sync_initial"] = meter.done()
    meter.expect(bool(token), "sync initial: no sync-token")

    meter = Meter("sync_10_changes", target.pid, target.cpu_pids)
    cpu_outside = 0.0
    for round_no in range(max(3, repeats // 2)):
        changed = rng.sample(sorted(live), 10)
        cpu0 = cpu_seconds(target.pid, *target.cpu_pids)
        for name in changed:
            event = updated(live[name], 10 + round_no)
            status, headers, _ = await client.request(
                "PUT", target.url + name, None, data=event.body,
                headers={"Content-Type": "text/calendar; charset=utf-8"},
            )
            meter.expect(status in (200, 201, 204), f"sync change PUT: {status}")
            live[name] = event
            if headers.get("ETag"):
                etags[name] = headers["ETag"]
        cpu1 = cpu_seconds(target.pid, *target.cpu_pids)
        if cpu0 is not None and cpu1 is not None:
            cpu_outside += cpu1 - cpu0
        status, _, body = await client.request(
            "REPORT", target.url, meter, data=_sync(token), headers={**xml_headers}
        )
        meter.expect(status == 207, f"sync after changes: {status}")
        if status == 207:
            hrefs = {(r.findtext(f"{DAV}href") or "").rsplit("/", 1)[-1] for r in _ok_responses(body)}
            meter.expect(hrefs == set(changed), f"sync after 10 changes: {len(hrefs)} changed, "
                         f"expected exactly the 10")
            token = _sync_token(body) or token
    phase = meter.done()
    if phase.cpu_ms_per_request is not None and phase.requests:
        # Only the REPORTs are counted, not the PUTs between them.
        phase.cpu_ms_per_request -= cpu_outside * 1000 / phase.requests
    result.phases["sync_10_changes"] = phase

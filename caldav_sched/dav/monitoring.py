"""Watching the running server: the request log, ``/healthz`` and ``/metrics``.

One middleware, outermost after the proxy's, times every request, logs one
line for it (logger ``caldav_sched.access``) and counts it for ``/metrics``.
``/healthz`` and ``/metrics`` need no password but answer only clients in
``server.monitoring_clients`` (the client as the proxy module decided it,
so a request relayed by a trusted proxy is judged by its real origin).

The request counters and the latency histogram live in this process; the
queue, mail and reply numbers are read from the database at scrape time, so
they are the same whichever ``serve`` process is asked.  The text format is
Prometheus' exposition format 0.0.4, written by hand (no dependency).
"""

from __future__ import annotations

import json
from bisect import bisect_left
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from aiohttp import web

from caldav_sched.dav.proxy import AddressSet
from caldav_sched.mail.imap import ConsumerState, ImapConsumer
from caldav_sched.services import Services
from caldav_sched.services import monitoring as monitoring_service
from caldav_sched.services.monitoring import Health
from caldav_sched.store.errors import DatabaseUnavailable

access_log = logging.getLogger("caldav_sched.access")

# Seconds; the usual spread from a cached GET to a large REPORT.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KNOWN_METHODS = frozenset(
    "OPTIONS GET HEAD PUT DELETE POST PROPFIND PROPPATCH REPORT MKCALENDAR MKCOL".split()
)
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"

USER = web.RequestKey("user", str)


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.sum += value
        # Cumulative buckets: every bound >= value counts it.
        counts = self.counts
        for i in range(bisect_left(self.buckets, value), len(counts)):
            counts[i] += 1


class RequestMetrics:
    """This process's HTTP counters."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, int]] = Counter()
        self.latency = Histogram(LATENCY_BUCKETS)
        self.started = time.time()

    def record(self, method: str, status: int, seconds: float) -> None:
        self.requests[(method if method in KNOWN_METHODS else "other", status)] += 1
        self.latency.observe(seconds)


def _labels(**labels: object) -> str:
    def escape(value: object) -> str:
        return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf"
    return repr(float(value)) if isinstance(value, float) else str(value)


def imap_health(state: ConsumerState) -> dict[str, object]:
    """The IMAP consumer's part of ``/healthz``."""
    return {
        "status": state.status,
        "connected": state.connected,
        "mode": state.mode or None,
        "mailbox": state.mailbox,
        "since": state.since.isoformat(timespec="seconds"),
        "problem": state.problem,
        "messages": {
            "fetched": state.fetched, "stored": state.stored, "moved": state.moved,
            "failed": state.failed, "duplicates": state.duplicates,
        },
    }


def _imap_metrics(state: ConsumerState, family: Callable[[str, str, str], None], lines: list[str]) -> None:
    family("caldav_sched_imap_connected", "gauge", "1 while the IMAP consumer is logged in, else 0.")
    lines.append(f"caldav_sched_imap_connected {1 if state.connected else 0}")
    family("caldav_sched_imap_up", "gauge", "1 unless the IMAP consumer is failing (see /healthz).")
    lines.append(f"caldav_sched_imap_up {0 if state.problem else 1}")
    family(
        "caldav_sched_imap_messages_total", "counter",
        "Mailbox messages by this process: fetched, stored, moved (to processed), failed"
        " (filed in failed), duplicates (stored before).",
    )
    for outcome in ("fetched", "stored", "moved", "failed", "duplicates"):
        lines.append(
            f"caldav_sched_imap_messages_total{_labels(outcome=outcome)} {getattr(state, outcome)}"
        )


def render_metrics(
    metrics: RequestMetrics, health: Health | None, imap: ConsumerState | None = None
) -> str:
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")

    family("caldav_sched_http_requests_total", "counter", "HTTP requests by method and status.")
    for (method, status), count in sorted(metrics.requests.items()):
        lines.append(f"caldav_sched_http_requests_total{_labels(method=method, status=status)} {count}")
    name = "caldav_sched_http_request_duration_seconds"
    family(name, "histogram", "Time from receiving a request to its response.")
    for bound, count in zip(metrics.latency.buckets, metrics.latency.counts):
        lines.append(f"{name}_bucket{_labels(le=_number(bound))} {count}")
    lines.append(f'{name}_bucket{{le="+Inf"}} {metrics.latency.count}')
    lines.append(f"{name}_sum {_number(metrics.latency.sum)}")
    lines.append(f"{name}_count {metrics.latency.count}")
    family("caldav_sched_process_start_time_seconds", "gauge", "When this process started (Unix time).")
    lines.append(f"caldav_sched_process_start_time_seconds {_number(metrics.started)}")

    memory = monitoring_service.memory()
    if memory.resident_bytes is not None:
        family("process_resident_memory_bytes", "gauge", "Resident memory of this process.")
        lines.append(f"process_resident_memory_bytes {memory.resident_bytes}")
    if memory.sqlite_bytes is not None:
        family(
            "caldav_sched_sqlite_memory_bytes", "gauge",
            "Heap memory SQLite holds in this process (page caches above all).",
        )
        lines.append(f"caldav_sched_sqlite_memory_bytes {memory.sqlite_bytes}")

    family("caldav_sched_database_up", "gauge", "1 when the database answers, else 0.")
    lines.append(f"caldav_sched_database_up {0 if health is None else 1}")
    if health is not None:
        family("caldav_sched_jobs", "gauge", "Jobs in the queue by kind and state.")
        for (kind, state), count in sorted(health.queue.by_kind_and_state.items()):
            lines.append(f"caldav_sched_jobs{_labels(kind=kind, state=state)} {count}")
        family("caldav_sched_queue_depth", "gauge", "Jobs not finished (pending, retrying, running).")
        lines.append(f"caldav_sched_queue_depth {health.queue_depth}")
        family(
            "caldav_sched_queue_oldest_pending_age_seconds", "gauge",
            "Age of the oldest unfinished job (0 when there is none).",
        )
        lines.append(
            f"caldav_sched_queue_oldest_pending_age_seconds {_number(health.oldest_waiting_age or 0.0)}"
        )
        family("caldav_sched_mails_total", "counter", "iTIP messages sent out, by outcome.")
        for outcome in ("sent", "failed"):
            count = health.totals.mails.get(outcome, 0)
            lines.append(f"caldav_sched_mails_total{_labels(outcome=outcome)} {count}")
        family("caldav_sched_replies_total", "counter", "Inbound messages read, by outcome.")
        for outcome in ("applied", "refused"):
            count = health.totals.inbound.get(outcome, 0)
            lines.append(f"caldav_sched_replies_total{_labels(outcome=outcome)} {count}")
        family("caldav_sched_inbound_messages", "gauge", "Inbound messages by state.")
        for state, count in sorted(health.totals.inbound.items()):
            lines.append(f"caldav_sched_inbound_messages{_labels(state=state)} {count}")
    if imap is not None:
        _imap_metrics(imap, family, lines)
    return "\n".join(lines) + "\n"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _RequestUrl:
    """The request's full URL, built only if a formatter asks for it (JSON logs do)."""

    __slots__ = ("_request",)

    def __init__(self, request: web.Request) -> None:
        self._request = request

    def __str__(self) -> str:
        return str(self._request.url)


def observe_middleware(
    metrics: RequestMetrics, *, log_requests: bool
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Time, count and log every request, whatever its outcome."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.monotonic()
        status = 500
        response: web.StreamResponse | None = None
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            seconds = time.monotonic() - started
            metrics.record(request.method, status, seconds)
            # The fields (request.url above all) are built only when the line is written.
            if log_requests and access_log.isEnabledFor(logging.INFO):
                size: int | None = None
                if response is not None and response.prepared:
                    size = response.body_length
                elif isinstance(response, web.Response) and isinstance(response.body, bytes):
                    size = len(response.body)
                fields = {
                    "client": request.remote,
                    "user": request.get(USER),
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                    "bytes": size,
                    "url": _RequestUrl(request),
                }
                access_log.info(
                    "%s %s %s %d %.1fms user=%s",
                    fields["client"], fields["method"], fields["path"], status,
                    fields["duration_ms"], fields["user"] or "-",
                    extra={"fields": fields},
                )

    return middleware


class Monitoring:
    """The ``/healthz`` and ``/metrics`` handlers."""

    def __init__(
        self,
        services: Callable[[], Services],
        metrics: RequestMetrics,
        clients: AddressSet,
        *,
        imap: Callable[[], ImapConsumer | None] = lambda: None,
    ) -> None:
        self._services = services
        self.metrics = metrics
        self.clients = clients
        self._imap = imap

    def _imap_state(self) -> ConsumerState | None:
        consumer = self._imap()
        return None if consumer is None else consumer.state

    def _check_client(self, request: web.Request) -> None:
        if request.remote not in self.clients:
            raise web.HTTPForbidden(
                text="monitoring is open only to server.monitoring_clients\n"
            )

    async def _health(self) -> tuple[Health | None, str | None]:
        try:
            return await monitoring_service.health(self._services()), None
        except DatabaseUnavailable as exc:
            return None, str(exc)

    async def healthz(self, request: web.Request) -> web.Response:
        self._check_client(request)
        health, problem = await self._health()
        if health is None:
            body = {"status": "unavailable", "database": "unreachable", "error": problem}
            return web.json_response(body, status=503, dumps=lambda o: json.dumps(o, indent=2))
        body = {
            "status": "ok",
            "database": "ok",
            "queue_depth": health.queue_depth,
            "oldest_pending_age_seconds": (
                None if health.oldest_waiting_age is None else round(health.oldest_waiting_age, 1)
            ),
            "jobs": {
                state: sum(n for (_, s), n in health.queue.by_kind_and_state.items() if s == state)
                for state in ("pending", "running", "retrying", "done", "failed")
            },
        }
        imap = self._imap_state()
        if imap is not None:
            body["imap"] = imap_health(imap)
            if imap.problem:
                # CalDAV still works; replies from the mailbox do not.
                body["status"] = "degraded"
        return web.json_response(body, dumps=lambda o: json.dumps(o, indent=2))

    async def metrics_text(self, request: web.Request) -> web.Response:
        self._check_client(request)
        health, _ = await self._health()
        return web.Response(
            body=render_metrics(self.metrics, health, self._imap_state()).encode(),
            headers={"Content-Type": PROMETHEUS_TYPE},
        )

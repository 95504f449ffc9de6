"""The IMAP consumer: replies read from a hosted mailbox.

Runs inside ``serve`` beside the LMTP listener when ``[imap] host`` is set.
It only takes messages in: each one is stored raw through the same service
the LMTP listener uses (``inbound.receive``), and from there on the one
inbound path applies (token rules, refusals, bounces, ``inbound list``).

One round: the messages of ``[imap] mailbox`` are taken by UID, oldest
first, in batches of ``BATCH`` (their sizes first, so an oversize message
is never downloaded).  Each message is stored, and only after that commit
moved: to ``processed_mailbox`` when it is mail for the service, to
``failed_mailbox`` when it is not (a newsletter) or cannot be taken at
all (too large, empty).  Nothing is deleted unread.  Between batches the
event loop is free, so a mailbox of thousands of old messages does not hold
up the HTTP server.

Between rounds it waits in IDLE (woken at once by a new message, and at
least every ``poll_interval`` seconds), or polls every ``poll_interval``
seconds where IDLE is switched off or the server does not offer it.

Crash safety: each stored message remembers where it sat (account,
mailbox, UIDVALIDITY, UID); a message found again (a crash came between its
store and its move) is not stored again, only moved.  After a change of
UIDVALIDITY, the Message-ID of what came over IMAP before decides.

One reader per database: the consumer holds the lease ``imap`` in the
database while it works; another ``serve`` on the same database stands by.

Faults (wrong credentials, server down, a connection cut mid-IDLE, a
mailbox renamed) are logged once per change of state with what to do,
retried with backoff, and never stop ``serve``.  ``ImapConsumer.state``
is what ``/healthz`` and ``/metrics`` show.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone

from caldav_sched.domain.imip.inbound.sorting import Sorting, sort_message
from caldav_sched.mail.mailbox import ImapFault, Mailbox, Selected, fault_of
from caldav_sched.queue.worker import holder_alive, holder_name
from caldav_sched.services import Services
from caldav_sched.services import inbound as inbound_service
from caldav_sched.services import leases
from caldav_sched.services.errors import AlreadyStored, InvalidInput

log = logging.getLogger("caldav_sched.imap")

LEASE = "imap"
BATCH = 50
# IDLE is renewed well within the 29 minutes after which servers may drop it.
MAX_IDLE_SECONDS = 25 * 60
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 300.0


@dataclass
class ConsumerState:
    """What the consumer is doing, for logs, ``/healthz`` and ``/metrics``.

    ``status``: ``starting``, ``connecting``, ``reading``, ``idle`` (waiting
    in IDLE), ``polling`` (waiting between polls), ``standby`` (another
    process holds the lease), ``error`` (waiting to retry; ``problem`` says
    what is wrong and what to do), ``stopped``.
    """

    status: str = "starting"
    connected: bool = False
    mode: str = ""  # idle | polling, once connected
    problem: str | None = None
    problem_kind: str | None = None
    since: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    mailbox: str = ""
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    moved: int = 0
    failed: int = 0
    batches: int = 0


class ImapConsumer:
    """Reads ``[imap] mailbox`` for as long as it runs; start() and stop() it."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings.imap
        self.state = ConsumerState(mailbox=self.settings.mailbox)
        self.holder = holder_name()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._holds_lease = False
        self._uidvalidity: int | None = None
        self._failures = 0  # in a row, for the backoff

    @property
    def configured(self) -> bool:
        return bool(self.settings.host)

    @property
    def account(self) -> str:
        return f"{self.settings.username}@{self.settings.host}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="imap-consumer")
        log.info("IMAP consumer for %s mailbox %s starting", self.account, self.settings.mailbox)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._holds_lease:
            try:
                await leases.release(self.services, LEASE, self.holder)
            except Exception:  # the database may be closing; the lease lapses anyway
                log.debug("could not release the IMAP lease", exc_info=True)
            self._holds_lease = False
        self._set("stopped", connected=False)

    # -- state --------------------------------------------------------------

    def _set(self, status: str, *, connected: bool | None = None, mode: str | None = None) -> None:
        state = self.state
        if status != state.status:
            state.since = datetime.now(timezone.utc)
        state.status = status
        if connected is not None:
            state.connected = connected
        if mode is not None:
            state.mode = mode

    def _trouble(self, fault: ImapFault) -> None:
        """Record a fault; log it only when it differs from the one before."""
        message = str(fault)
        if message != self.state.problem:
            log.error("IMAP %s: %s (retrying with backoff)", fault.kind, message)
        self.state.problem, self.state.problem_kind = message, fault.kind
        self._set("error", connected=False)

    def _recovered(self, mode: str) -> None:
        if self.state.problem is not None:
            log.warning("IMAP connected again to %s after: %s", self.account, self.state.problem)
        self.state.problem = self.state.problem_kind = None
        self._failures = 0
        self._set("reading", connected=True, mode=mode)

    # -- the loop -------------------------------------------------------------

    @property
    def _lease_seconds(self) -> float:
        # Renewed at least once per wait; long enough for a slow round.
        return 3 * self._cycle_seconds + 2 * self.settings.timeout + 30

    @property
    def _cycle_seconds(self) -> float:
        return min(self.settings.poll_interval, MAX_IDLE_SECONDS)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if not await self._hold_lease():
                    self._set("standby", connected=False)
                    await self._pause(self._cycle_seconds)
                    continue
                await self._session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every fault is retried; serve goes on
                fault = fault_of(exc)
                if not isinstance(exc, ImapFault) and str(fault) != self.state.problem:
                    log.exception("IMAP consumer failed")  # a bug or the database: keep the trace
                self._trouble(fault)
                self._failures += 1
                delay = min(BACKOFF_FIRST * 2 ** (self._failures - 1), BACKOFF_MAX)
                await self._pause(delay * random.uniform(0.8, 1.2))

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _hold_lease(self) -> bool:
        seconds = self._lease_seconds
        holder = await leases.hold(self.services, LEASE, self.holder, seconds)
        if holder != self.holder and not holder_alive(holder):
            # Its process on this machine is gone (killed outright): take over.
            if await leases.take_over(
                self.services, LEASE, from_holder=holder, holder=self.holder, seconds=seconds
            ):
                holder = self.holder
        if holder != self.holder:
            if self.state.status != "standby":
                log.info("IMAP: %s reads the mailbox; this process stands by", holder)
            self._holds_lease = False
            return False
        self._holds_lease = True
        return True

    async def _session(self) -> None:
        """One connection: prepare the folders, then read, wait, read, ... until a fault."""
        settings = self.settings
        self._set("connecting")
        mailbox = await Mailbox.open(settings)
        try:
            await self._prepare(mailbox)
            selected = await mailbox.select(settings.mailbox)
            self._check_uidvalidity(selected)
            use_idle = settings.idle and mailbox.offers_idle
            mode = "idle" if use_idle else "polling"
            self._recovered(mode)
            log.info(
                "IMAP connected to %s:%d as %s; mailbox %s (%d messages); %s",
                settings.host, settings.port, settings.username, settings.mailbox, selected.exists,
                "waiting in IDLE" if use_idle else
                f"polling every {settings.poll_interval:g} s"
                + ("" if not settings.idle else " (the server does not offer IDLE)"),
            )
            while not self._stopping.is_set():
                if not await self._hold_lease():
                    log.info("IMAP: the lease went to another process; disconnecting")
                    return
                self._set("reading")
                await self._round(mailbox, selected)
                if use_idle:
                    self._set("idle")
                    try:
                        await mailbox.wait_for_news(self._cycle_seconds)
                    except ImapFault as fault:
                        if fault.kind != "server":
                            raise
                        # IDLE refused or broken: poll on this connection.
                        log.warning("IMAP IDLE failed (%s); polling every %g s instead",
                                    fault, settings.poll_interval)
                        use_idle = False
                        self._set("polling", mode="polling")
                else:
                    self._set("polling")
                    await self._pause(self._cycle_seconds)
                    if mailbox.lost.is_set():
                        raise ImapFault("lost", "the IMAP connection was closed", "")
        finally:
            await mailbox.close()
            self.state.connected = False

    async def _prepare(self, mailbox: Mailbox) -> None:
        """The folders exist: the one read (else a clear fault), the two filed into (created)."""
        settings = self.settings
        names = set(await mailbox.list_mailboxes())
        if settings.mailbox not in names and settings.mailbox.upper() != "INBOX":
            raise ImapFault(
                "mailbox", f"the mailbox {settings.mailbox!r} does not exist on {settings.host}",
                f"check [imap] mailbox (was it renamed?); there are: {', '.join(sorted(names))}",
            )
        for name in (settings.processed_mailbox, settings.failed_mailbox):
            if name not in names:
                await mailbox.create(name)
                log.info("IMAP: created the mailbox %s", name)

    def _check_uidvalidity(self, selected: Selected) -> None:
        if self._uidvalidity is not None and selected.uidvalidity != self._uidvalidity:
            log.warning(
                "IMAP: UIDVALIDITY of %s changed from %d to %d (the mailbox was recreated or"
                " restored); messages stored before are recognised by their Message-ID",
                selected.name, self._uidvalidity, selected.uidvalidity,
            )
        self._uidvalidity = selected.uidvalidity

    # -- one round ------------------------------------------------------------

    async def _round(self, mailbox: Mailbox, selected: Selected) -> None:
        """Take every message waiting now, one batch at a time."""
        uids = await mailbox.uids()
        if uids:
            log.info("IMAP: %d message(s) waiting in %s", len(uids), selected.name)
        for start in range(0, len(uids), BATCH):
            if self._stopping.is_set():
                return
            await self._batch(mailbox, selected, uids[start:start + BATCH])
            await asyncio.sleep(0)  # let everything else run between batches

    async def _batch(self, mailbox: Mailbox, selected: Selected, uids: list[int]) -> None:
        settings = self.settings
        limit = self.services.settings.limits.max_mail_size
        sizes = await mailbox.sizes(uids)
        oversize = [uid for uid in uids if sizes.get(uid, 0) > limit]
        for uid in oversize:
            log.warning(
                "IMAP: message UID %d in %s is %d bytes, more than [limits] max_mail_size (%d);"
                " filed in %s unread", uid, selected.name, sizes[uid], limit, settings.failed_mailbox,
            )
        wanted = [uid for uid in uids if uid in sizes and uid not in oversize]
        bodies = await mailbox.bodies(wanted) if wanted else {}
        self.state.fetched += len(bodies)
        self.state.batches += 1
        processed: list[int] = []
        failed: list[int] = list(oversize)
        try:
            for uid in wanted:
                raw = bodies.get(uid)
                if raw is None:
                    continue  # expunged meanwhile by someone else
                if await self._take(selected, uid, raw):
                    processed.append(uid)
                else:
                    failed.append(uid)
        finally:
            # Whatever was stored is filed, even when the store failed part-way.
            await self._file(mailbox, processed, settings.processed_mailbox)
            await self._file(mailbox, failed, settings.failed_mailbox)
        self.state.moved += len(processed)
        self.state.failed += len(failed)

    async def _take(self, selected: Selected, uid: int, raw: bytes) -> bool:
        """Store one message; True when it is mail for the service."""
        services = self.services
        sorting: Sorting = await asyncio.to_thread(
            sort_message, raw, from_address=services.settings.mail.from_address,
            max_calendar_size=services.settings.limits.max_resource_size,
        )
        origin = f"{self.account}/{selected.name};{selected.uidvalidity}:{uid}"
        try:
            message_id, _ = await inbound_service.receive(
                services, raw, via="imap", envelope_from=None, envelope_to=[], origin=origin
            )
        except AlreadyStored as earlier:
            self.state.duplicates += 1
            log.info("IMAP: message UID %d was stored before as #%d; filing it only",
                     uid, earlier.inbound_id)
            return sorting.for_the_service
        except InvalidInput as exc:
            log.warning("IMAP: message UID %d not taken (%s); filed in %s",
                        uid, exc, self.settings.failed_mailbox)
            return False
        self.state.stored += 1
        if not sorting.for_the_service:
            log.warning("IMAP: message UID %d (#%d) is not mail for the service (%s); filed in %s",
                        uid, message_id, sorting.reason, self.settings.failed_mailbox)
        return sorting.for_the_service

    async def _file(self, mailbox: Mailbox, uids: list[int], target: str) -> None:
        if uids:
            await mailbox.move(uids, target)

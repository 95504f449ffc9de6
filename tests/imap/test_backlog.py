"""A thousand old messages waiting at start-up: taken in batches, loop kept free.

The messages are already in the Maildir when the server starts (delivered
while it was away).  While the consumer works through them, a probe on the
server's event loop measures how late a 10 ms sleep wakes up: the worst
delay must stay far below what a single pass over all messages would
cost, and HTTP answers meanwhile.  The machine is shared, so the bound is
generous; the figure is printed.
"""

from __future__ import annotations

import asyncio
import time

from caldav_sched.mail.imap import BATCH
from tests.conftest import ServerThread, make_settings
from tests.imap.conftest import FAILED, PROCESSED, MailboxView, imap_table
from tests.imap.helpers import eventually, healthz, newsletter
from tests.replies.helpers import reply_mail

COUNT = 1000


async def loop_lag(stop: asyncio.Event, delays: list[float]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        await asyncio.sleep(0.01)
        delays.append(time.monotonic() - started - 0.01)


def test_a_thousand_waiting_messages_are_taken_in_batches(tmp_path, dovecot):
    for n in range(COUNT):
        if n % 2:
            raw = newsletter(n)
        else:
            raw = reply_mail(to="calendar+" + f"{n:032d}"[-32:] + "@cal.example.com",
                             attendee=f"guest{n}@example.org", partstat="ACCEPTED",
                             message_id=f"<reply-{n}@client.example>")
        dovecot.deliver(raw)
    settings = make_settings(tmp_path, imap=imap_table(dovecot),
                             mail={"from_address": "calendar@cal.example.com"})
    server = ServerThread(settings)
    stop = asyncio.Event()
    delays: list[float] = []
    server.start()
    try:
        probe = asyncio.run_coroutine_threadsafe(loop_lag(stop, delays), server.loop)
        started = time.monotonic()
        health_times = []

        def drained() -> bool:
            asked = time.monotonic()
            state = healthz(server.url)["imap"]["messages"]
            health_times.append(time.monotonic() - asked)
            return state["moved"] + state["failed"] == COUNT

        eventually(drained, timeout=240, what="all messages filed")
        took = time.monotonic() - started
        server.loop.call_soon_threadsafe(stop.set)
        probe.result(timeout=10)
        state = healthz(server.url)["imap"]
    finally:
        server.stop()
    mailbox = MailboxView(dovecot)
    assert mailbox.count("INBOX") == 0
    assert mailbox.count(PROCESSED) == COUNT // 2 and mailbox.count(FAILED) == COUNT // 2
    assert state["messages"]["stored"] == COUNT and state["messages"]["fetched"] == COUNT
    worst = max(delays)
    print(f"\n{COUNT} messages in {took:.1f} s; event loop late by at most {worst * 1000:.0f} ms"
          f" (median {sorted(delays)[len(delays) // 2] * 1000:.1f} ms);"
          f" /healthz answered in at most {max(health_times) * 1000:.0f} ms (shared machine)")
    from caldav_sched.dav.keys import IMAP_CONSUMER

    assert server.app[IMAP_CONSUMER].state.batches >= COUNT // BATCH
    # One pass over everything on the loop would hold it for seconds.
    assert worst < 0.5, f"the event loop was held for {worst:.3f} s"

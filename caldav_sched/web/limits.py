"""How many answers one client address may post: a token bucket per address.

Each address gets ``per_minute`` posts at once and one more every
``60 / per_minute`` seconds.  The buckets live in this process (each server
process counts on its own); the table is bounded, dropping the oldest
addresses first, so a flood of addresses cannot grow it without end.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

MAX_ADDRESSES = 10_000


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, address: str) -> bool:
        """Take one post from *address*'s bucket; False when it is empty."""
        if self.capacity <= 0:
            return True  # 0 turns the limit off
        now = self.clock()
        tokens, last = self._buckets.pop(address, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[address] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > MAX_ADDRESSES:
            self._buckets.popitem(last=False)
        return allowed

    def retry_after(self, address: str) -> int:
        """Seconds until *address* may post again (at least 1)."""
        tokens, _ = self._buckets.get(address, (self.capacity, 0.0))
        return max(1, int((1.0 - tokens) / self.rate + 0.999)) if self.rate else 60

"""When to try a failed job again: exponential backoff with jitter (pure)."""

from __future__ import annotations


def next_delay(
    attempts: int,
    *,
    max_attempts: int,
    base: float,
    cap: float,
    jitter: float,
) -> float | None:
    """Seconds until the next try after *attempts* tries, or ``None`` to give up.

    The delay doubles with each attempt (``base * 2**(attempts-1)``), is capped
    at *cap*, and is spread by *jitter* (a number in [0, 1) chosen by the
    caller) over the upper quarter, so that jobs failing together do not retry
    together.
    """
    if attempts >= max_attempts:
        return None
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return delay * (0.75 + 0.25 * jitter)

"""Small helpers for the IMAP tests: waiting, the monitoring endpoints, filler mail."""

from __future__ import annotations

import email.policy
import json
import time
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 15.0, what: str = "") -> T:
    """Call *check* until it returns something true; fail after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}: {result!r}"
        time.sleep(0.05)


def healthz(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(base_url.rstrip("/") + "/healthz", timeout=10) as resp:
        return json.loads(resp.read())


def metrics(base_url: str) -> str:
    with urllib.request.urlopen(base_url.rstrip("/") + "/metrics", timeout=10) as resp:
        return resp.read().decode()


def newsletter(number: int = 1, to: str = "calendar@cal.example.com") -> bytes:
    """What else lands in a shared mailbox: mail that is not for the service."""
    message = EmailMessage()
    message["From"] = "news@shop.example"
    message["To"] = to
    message["Subject"] = f"Our offers of the week, number {number}"
    message["Message-ID"] = f"<news-{number}@shop.example>"
    message.set_content("Everything must go!\n" * 20)
    return message.as_bytes(policy=email.policy.SMTP)

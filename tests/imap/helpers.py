"""Small helpers for the IMAP tests: waiting, the monitoring endpoints, filler mail."""

from __future__ import annotations

import email.policy
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, TypeVar

from pathlib import Path

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]


def imap_check(
    tmp_path: Path, table: dict[str, Any], *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`caldav-sched imap check` with an [imap] table, as an operator runs it."""
    lines = ["[imap]"] + [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    config = tmp_path / "check.toml"
    config.write_text("\n".join(lines) + "\n")
    return subprocess.run(
        [sys.executable, "-m", "caldav_sched", "imap", "check", "--config", str(config), *extra],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


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

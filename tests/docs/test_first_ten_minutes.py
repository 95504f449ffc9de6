"""README "First ten minutes", run command by command as a newcomer would.

Every ``sh`` block of the section runs, in order, in a fresh directory that
has only a ``.venv/bin/caldav-sched`` (this checkout's command).  The one
block that starts the server runs in the background; what the README says
the server prints on start must be what it prints, and each "It prints
`...`" after a block must be in that block's output.  The one liberty
taken: the server listens on a free port instead of 5232.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.docs.readme import ROOT, blocks, section

SERVE = ".venv/bin/caldav-sched serve"
SHOWN_CWD = "/home/you/caldav_sched"

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is needed")


def newcomer_dir(tmp_path: Path, port: int) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "checkout"
    (home / ".venv" / "bin").mkdir(parents=True)
    command = home / ".venv" / "bin" / "caldav-sched"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m caldav_sched "$@"\n')
    command.chmod(0o755)
    config = tmp_path / "port.toml"
    config.write_text(f"[server]\nport = {port}\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "CALDAV_SCHED_CONFIG": str(config),
    }
    return home, env


def wait_for_lines(log: Path, count: int, process: subprocess.Popen) -> list[str]:
    deadline = time.monotonic() + 20
    while True:
        lines = [l for l in log.read_text().splitlines() if " INFO caldav_sched: " in l]
        if len(lines) >= count:
            return lines
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def wait_for_invitation(home: Path) -> None:
    deadline = time.monotonic() + 10
    while not list((home / "var" / "outbox-mail").glob("*.eml")):
        assert time.monotonic() < deadline, "no invitation was written"
        time.sleep(0.05)


def test_the_first_ten_minutes_work_as_written(tmp_path):
    text = section("First ten minutes")
    steps = [b for b in blocks(text)]
    commands = [b for b in steps if b.info == "sh"]
    assert [b.code.strip() for b in commands][0] == SERVE
    shown = next(b for b in steps if b.info == "text").code.splitlines()

    port = free_port()
    home, env = newcomer_dir(tmp_path, port)
    log = tmp_path / "serve.log"
    server = None
    try:
        for block in commands:
            code = block.code.replace("127.0.0.1:5232", f"127.0.0.1:{port}")
            if block.code.strip() == SERVE:
                with log.open("w") as sink:
                    server = subprocess.Popen(
                        code.split(), cwd=home, env=env, stdout=sink, stderr=subprocess.STDOUT
                    )
                started = wait_for_lines(log, 2, server)
                for said, expected in zip(started, shown, strict=True):
                    expected = expected.replace(SHOWN_CWD, str(home)).replace(
                        "127.0.0.1:5232", f"127.0.0.1:{port}"
                    )
                    assert said.partition(" INFO ")[2] == expected.partition(" INFO ")[2]
                continue
            if "var/outbox-mail" in code:
                wait_for_invitation(home)  # the queue's worker writes it a moment later
            done = subprocess.run(
                ["bash", "-e", "-c", code], cwd=home, env=env, capture_output=True, text=True,
                timeout=60,
            )
            assert done.returncode == 0, (code, done.stdout, done.stderr)
            for promised in re.findall(r"It prints `([^`]+)`", block.after):
                assert promised in done.stdout, (code, promised, done.stdout)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=30) == 0, log.read_text()
    assert len(commands) >= 7, "start, user, event, file, answer, show, GET"

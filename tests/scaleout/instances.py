"""``caldav-sched serve`` instances as separate processes sharing one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import SmtpSink, free_port

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


class Instance:
    """One ``caldav-sched serve`` process."""

    def __init__(
        self, directory: Path, url: str, sink: SmtpSink, *, tables: str = "", **server: object
    ) -> None:
        """*server*: more of ``[server]``; *tables*: more TOML tables."""
        directory.mkdir()
        self.port = free_port()
        self.config = directory / "config.toml"
        extra = "".join(f"{key} = {value}\n" for key, value in server.items())
        self.config.write_text(
            f'[server]\nhost = "127.0.0.1"\nport = {self.port}\nshutdown_timeout = 10.0\n{extra}'
            f'[storage]\nurl = "{url}"\n'
            '[mail]\ntransport = "smtp"\nfrom_address = "calendar@cal.example.com"\n'
            f'[smtp]\nhost = "127.0.0.1"\nport = {sink.port}\ntimeout = 5.0\n'
            '[queue]\npoll_interval = 0.05\nbackoff_base = 0.2\nbackoff_max = 1.0\n'
            + tables
        )
        self.log = open(directory / "serve.log", "wb")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "caldav_sched", "serve", "--config", str(self.config)],
            env=ENV, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, Path(self.log.name).read_text()
            try:
                urllib.request.urlopen(self.base + "healthz", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("serve did not start")

    def cli(self, *args: str, stdin: str = "") -> str:
        done = subprocess.run(
            [sys.executable, "-m", "caldav_sched", *args, "--config", str(self.config)],
            env=ENV, input=stdin, capture_output=True, text=True,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

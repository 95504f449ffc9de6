"""A real nginx, run from docs/deploy/nginx.conf, in front of a test server.

The documented file is used as written; only its addresses, port and
certificate paths are replaced (each replacement must match exactly once, so
the test fails loudly when the documentation changes shape).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "deploy" / "nginx.conf"


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


NGINX = find_nginx()
OPENSSL = shutil.which("openssl")

needs_nginx = pytest.mark.skipif(
    NGINX is None or OPENSSL is None,
    reason="nginx and openssl are needed (apt-get install nginx openssl; .ci/run installs them)",
)


def self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:cal.example.com",
         "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True,
    )
    return cert, key


def site_config(upstream_port: int, port: int, cert: Path, key: Path) -> str:
    text = EXAMPLE.read_text()
    for old, new in (
        ("server 127.0.0.1:5232;", f"server 127.0.0.1:{upstream_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("/etc/letsencrypt/live/cal.example.com/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/cal.example.com/privkey.pem", str(key)),
    ):
        assert text.count(old) == 1, f"docs/deploy/nginx.conf no longer has {old!r} once"
        text = text.replace(old, new)
    return text


@dataclass
class Nginx:
    process: subprocess.Popen
    port: int
    directory: Path
    cert: Path | None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_nginx(directory: Path, upstream_port: int, port: int) -> Nginx:
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(directory)
    return run_site(directory, site_config(upstream_port, port, cert, key), port, cert)


def run_site(directory: Path, site: str, port: int, cert: Path | None = None) -> Nginx:
    """Run nginx with *site* included in its http block, listening on *port*."""
    assert NGINX is not None
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "caldav-sched.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root root;\n" if os.geteuid() == 0 else ""
    main = directory / "nginx.conf"
    main.write_text(
        f"{user}worker_processes 1;\n"
        f"pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} info;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"    access_log {directory / 'access.log'};\n"
        "    default_type application/octet-stream;\n"
        f"{temp}\n"
        f"    include {directory / 'caldav-sched.conf'};\n"
        "}\n"
    )
    process = subprocess.Popen(
        [NGINX, "-e", str(directory / "error.log"), "-p", str(directory), "-c", str(main),
         "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    nginx = Nginx(process, port, directory, cert)
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            raise AssertionError(f"nginx exited: {process.stderr.read()}\n{nginx.error_log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return nginx
        except OSError:
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.05)

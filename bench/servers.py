"""Start and stop the servers under test, each as its own process on loopback.

caldav_sched runs from this environment (``caldav-sched serve``); Radicale
and Xandikos are installed from PyPI into a separate virtual environment
that this module creates on first use; the aiohttp ceiling is
``bench/ceiling.py``.  A server that cannot be started is reported as
unavailable with the reason, and the run goes on without it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import Target

REPO = Path(__file__).resolve().parent.parent
PEERS = {"radicale": "radicale==3.9.0", "xandikos": "xandikos==0.4.10"}
USER = "bench"
EMAIL = "bench@example.com"
PASSWORD = "bench password 1"


class Unavailable(Exception):
    """The server could not be installed or started."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Running:
    name: str
    process: subprocess.Popen
    target: Target
    workdir: Path
    ports: dict[str, int] = field(default_factory=dict)
    log_path: Path | None = None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _wait_http(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Unavailable(f"exited with {process.returncode}: {_tail(log_path)}")
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="OPTIONS"), timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise Unavailable(f"did not answer within {timeout:.0f} s: {_tail(log_path)}")


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-400:].strip()
    except OSError:
        return ""


def _spawn(argv: list[str], workdir: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, Path]:
    log_path = workdir / "server.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env or os.environ.copy()
    )
    return process, log_path


# -- caldav_sched ----------------------------------------------------------------------


def caldav_sched_config(workdir: Path, port: int, **tables: dict[str, object]) -> Path:
    data: dict[str, dict[str, object]] = {
        "server": {"host": "127.0.0.1", "port": port},
        "storage": {"path": str(workdir / "db.sqlite3")},
        "mail": {"transport": "file", "file_dir": str(workdir / "mail"),
                 "from_address": "calendar@bench.example"},
        # Delivery is measured on its own (the iTIP figures); here the jobs a
        # PUT schedules are written, as always, but not sent.
        "queue": {"workers": 0},
    }
    for name, values in tables.items():
        data.setdefault(name, {}).update(values)
    lines = []
    for table, values in data.items():
        lines.append(f"[{table}]")
        for key, value in values.items():
            if isinstance(value, str):
                lines.append(f'{key} = "{value}"')
            elif isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            else:
                lines.append(f"{key} = {value}")
    path = workdir / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


# This checkout: its editable install already reads its own migrations.
_CHECKOUT = Path(__file__).resolve().parents[1]


def _own_migrations(source: Path) -> None:
    """Make the tree ``source`` migrate with its own files, not this checkout's.

    An installed package reads ``caldav_sched.migrations``, which the
    editable install of this checkout maps to its own top-level folder; a
    ``caldav_sched/migrations`` inside ``source`` is found first.
    """
    inside = source / "caldav_sched" / "migrations"
    if inside.exists() or source.resolve() == _CHECKOUT:
        return
    if not (source / "migrations").is_dir():
        raise Unavailable(
            f"{source} has no migrations/: make it with"
            f" `git archive REV caldav_sched migrations | tar -x -C {source}`"
        )
    inside.symlink_to(Path("..") / "migrations", target_is_directory=True)


def start_caldav_sched(
    source: Path | None = None, name: str = "caldav_sched", **tables: dict[str, object]
) -> Running:
    """caldav_sched from this checkout, or from the source tree ``source`` (another
    version of the code, such as the one before a change, measured in the same run)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-caldav-sched-"))
    port = free_port()
    config = caldav_sched_config(workdir, port, **tables)
    cli = [sys.executable, "-m", "caldav_sched"]
    env = os.environ.copy()
    if source is not None:
        _own_migrations(source)
        env["PYTHONPATH"] = str(source) + os.pathsep + env.get("PYTHONPATH", "")
    added = subprocess.run(
        cli + ["user", "add", USER, "--email", EMAIL, "--password-stdin", "--config", str(config)],
        input=PASSWORD + "\n", text=True, capture_output=True, cwd=workdir, env=env,
    )
    if added.returncode != 0:
        raise Unavailable(f"user add failed: {added.stderr.strip()}")
    process, log_path = _spawn(cli + ["serve", "--config", str(config)], workdir, env)
    root = f"http://127.0.0.1:{port}/"
    _wait_http(root, process, log_path)
    target = Target(name, f"{root}home/{USER}/calendar/event/", USER, PASSWORD,
                    pid=process.pid, organizer=EMAIL, metrics_url=f"{root}metrics")
    return Running(name, process, target, workdir, {"http": port}, log_path)


# -- the aiohttp ceiling -------------------------------------------------------------------


def start_ceiling() -> Running:
    workdir = Path(tempfile.mkdtemp(prefix="bench-ceiling-"))
    port = free_port()
    env = os.environ.copy()
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    process, log_path = _spawn(
        [sys.executable, "-m", "bench.ceiling", "--port", str(port), "--user", USER,
         "--password", PASSWORD], workdir, env)
    root = f"http://127.0.0.1:{port}/"
    _wait_http(root, process, log_path)
    target = Target("aiohttp ceiling", f"{root}cal/", USER, PASSWORD, pid=process.pid, dav=False)
    return Running("aiohttp ceiling", process, target, workdir, {"http": port}, log_path)


# -- Radicale and Xandikos, from PyPI into their own environment ---------------------------


def peers_env(path: Path, log=print) -> Path:
    """A virtual environment holding the peers; created and filled on first use."""
    python = path / "bin" / "python"
    marker = path / ".installed"
    wanted = " ".join(sorted(PEERS.values()))
    if marker.exists() and marker.read_text() == wanted:
        return python
    log(f"installing {wanted} into {path} (from PyPI)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *PEERS.values()],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise Unavailable(f"pip install failed: {done.stderr.strip()[-400:]}")
    marker.write_text(wanted)
    return python


def start_radicale(python: Path) -> Running:
    workdir = Path(tempfile.mkdtemp(prefix="bench-radicale-"))
    port = free_port()
    (workdir / "users").write_text(f"{USER}:{PASSWORD}\n")
    config = workdir / "config"
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\n"
        "type = htpasswd\n"
        f"htpasswd_filename = {workdir / 'users'}\n"
        "htpasswd_encryption = plain\n"
        "[rights]\n"
        "type = owner_only\n"
        "[storage]\n"
        f"filesystem_folder = {workdir / 'collections'}\n"
        "[logging]\n"
        "level = warning\n"
    )
    process, log_path = _spawn([str(python), "-m", "radicale", "--config", str(config)], workdir)
    root = f"http://127.0.0.1:{port}/"
    _wait_http(root, process, log_path)
    url = f"{root}{USER}/calendar/"
    _mkcalendar(url)
    target = Target("radicale", url, USER, PASSWORD, pid=process.pid, organizer=EMAIL,
                    seed=lambda items: _seed_radicale(python, config, f"/{USER}/calendar/", items))
    return Running("radicale", process, target, workdir, {"http": port}, log_path)


def _run_seeder(python: Path, script: str, args: list[str], items: list[tuple[str, bytes]]) -> None:
    """Run a ``bench/seed_*.py`` script with the peers' Python, the objects as JSON on its stdin."""
    payload = json.dumps({name: body.decode("utf-8") for name, body in items})
    done = subprocess.run(
        [str(python), str(Path(__file__).with_name(script)), *args],
        input=payload, text=True, capture_output=True, timeout=1800,
    )
    if done.returncode != 0:
        raise Unavailable(f"{script} failed: {done.stderr.strip()[-500:]}")


def _seed_radicale(python: Path, config: Path, collection: str, items: list[tuple[str, bytes]]) -> None:
    """Through Radicale's storage API (``bench/seed_radicale.py``): file, item cache, history."""
    _run_seeder(python, "seed_radicale.py", [str(config), collection], items)


def _seed_xandikos(python: Path, repository: Path, items: list[tuple[str, bytes]]) -> None:
    """One git commit for all the objects, made by ``bench/seed_xandikos.py``."""
    _run_seeder(python, "seed_xandikos.py", [str(repository)], items)


def _mkcalendar(url: str) -> None:
    import base64

    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(url, method="MKCALENDAR", headers={"Authorization": f"Basic {auth}"})
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as exc:
        if exc.code not in (201, 405):
            raise Unavailable(f"MKCALENDAR {url}: {exc.code}") from exc


def start_xandikos(python: Path) -> Running:
    workdir = Path(tempfile.mkdtemp(prefix="bench-xandikos-"))
    port = free_port()
    xandikos = python.parent / "xandikos"
    process, log_path = _spawn(
        [str(xandikos), "serve", "-d", str(workdir / "data"), "--defaults",
         "--current-user-principal", f"/{USER}/", "-l", "127.0.0.1", "-p", str(port),
         "--state-dir", str(workdir / "state")],
        workdir,
    )
    root = f"http://127.0.0.1:{port}/"
    _wait_http(root, process, log_path)
    repository = workdir / "data" / USER / "calendars" / "calendar"
    target = Target("xandikos", f"{root}{USER}/calendars/calendar/", USER, PASSWORD,
                    pid=process.pid, organizer=EMAIL,
                    seed=lambda items: _seed_xandikos(python, repository, items))
    return Running("xandikos", process, target, workdir, {"http": port}, log_path)

"""A real Dovecot IMAP server, started by the tests in a temporary directory.

Everything it needs lives under one directory: its configuration, its
runtime and state directories, its log, a passwd-file with one user and
that user's Maildir.  It listens on a free loopback port (plain IMAP, and
with ``tls=True`` also implicit TLS and STARTTLS on a self-signed
certificate) and runs as the user the tests run as.  The system's own
Dovecot service, if the package started one, is never touched.
"""

from __future__ import annotations

import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import free_port


def find_dovecot() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None
    )


DOVECOT = find_dovecot()
OPENSSL = shutil.which("openssl")

needs_dovecot = pytest.mark.skipif(
    DOVECOT is None,
    reason="Dovecot is needed (apt-get install dovecot-imapd; .ci/run installs it)",
)

USER = "calendar@cal.example.com"
PASSWORD = "mailbox secret"


def _account(name: str, fallback: str) -> str:
    try:
        return pwd.getpwnam(name).pw_name
    except KeyError:
        return fallback


def mail_account() -> pwd.struct_passwd:
    """Who owns the mail: the tests' own user, or as root an unprivileged one."""
    if os.getuid() != 0:
        return pwd.getpwuid(os.getuid())
    for name in ("mail", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("no unprivileged account for Dovecot's mail")


def _give(path: Path) -> None:
    owner = mail_account()
    os.chown(path, owner.pw_uid, owner.pw_gid)


def _config(directory: Path, port: int, tls: tuple[Path, Path, int] | None) -> str:
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    # As root, Dovecot's own processes must drop to unprivileged users, and
    # it refuses root as the mail user.
    internal = _account("dovecot", user) if os.getuid() == 0 else user
    login = _account("dovenull", _account("nobody", user)) if os.getuid() == 0 else user
    mail_user = mail_account()
    mail_group = grp.getgrgid(mail_user.pw_gid).gr_name
    lines = [
        f"base_dir = {directory}/run",
        f"state_dir = {directory}/state",
        f"log_path = {directory}/dovecot.log",
        f"info_log_path = {directory}/dovecot.log",
        "protocols = imap",
        "listen = 127.0.0.1",
        f"default_internal_user = {internal}",
        f"default_login_user = {login}",
        f"mail_uid = {mail_user.pw_name}",
        f"mail_gid = {mail_group}",
        "first_valid_uid = 0",
        "first_valid_gid = 0",
        f"mail_location = maildir:{directory}/mail/%u",
        "mail_home = " + f"{directory}/home/%u",
        "auth_mechanisms = plain login",
        "disable_plaintext_auth = no",
        "auth_verbose = yes",
        "passdb {",
        "  driver = passwd-file",
        f"  args = scheme=PLAIN username_format=%u {directory}/passwd",
        "}",
        "userdb {",
        "  driver = static",
        f"  args = uid={mail_user.pw_name} gid={mail_group}",
        "}",
        "ssl = " + ("yes" if tls else "no"),
        "service imap-login {",
        "  inet_listener imap {",
        "    address = 127.0.0.1",
        f"    port = {port}",
        "  }",
        "  inet_listener imaps {",
        "    address = 127.0.0.1",
        f"    port = {tls[2] if tls else 0}",
        "    ssl = yes" if tls else "",
        "  }",
        "}",
        "service anvil {",
        "  chroot =",
        "}",
        "service imap-login {",
        "  chroot =",
        "}",
        "service auth {",
        # The passwd-file sits in the tests' private temporary directory.
        f"  user = {user}",
        "  unix_listener auth-userdb {",
        f"    user = {user}",
        "  }",
        "}",
        "namespace inbox {",
        "  inbox = yes",
        "  separator = /",
        "}",
        "imap_idle_notify_interval = 1 mins",
    ]
    if tls:
        cert, key, _ = tls
        lines += [f"ssl_cert = <{cert}", f"ssl_key = <{key}"]
    return "\n".join(lines) + "\n"


def self_signed(directory: Path) -> tuple[Path, Path]:
    assert OPENSSL is not None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True,
    )
    return cert, key


@dataclass
class Dovecot:
    """One Dovecot master process and what it serves."""

    directory: Path
    port: int
    tls_port: int = 0
    cert: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def config_path(self) -> Path:
        return self.directory / "dovecot.conf"

    def log(self) -> str:
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def maildir(self, mailbox: str = "INBOX") -> Path:
        root = self.directory / "mail" / USER
        return root if mailbox == "INBOX" else root / ("." + mailbox.replace("/", "."))

    def start(self) -> None:
        assert DOVECOT is not None
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: stop() ends every child too
        )
        deadline = time.monotonic() + 15
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"dovecot exited: {self.process.stderr.read().decode()}\n{self.log()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot did not answer on {self.port}:\n{self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the master and every process it started (as a server going down would)."""
        if self.process is None:
            return
        group = os.getpgid(self.process.pid)
        os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=5)
        try:
            os.killpg(group, signal.SIGKILL)  # children still shutting down
        except ProcessLookupError:
            pass
        self.process = None
        # Wait until the port is free again, so a restart can bind it.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
            except OSError:
                return
            time.sleep(0.05)

    def deliver(self, raw: bytes, mailbox: str = "INBOX") -> Path:
        """Put a message straight into the Maildir, as a local delivery agent would."""
        root = self.maildir(mailbox)
        for sub in ("", "new", "cur", "tmp"):
            if not (root / sub).exists():
                (root / sub).mkdir(parents=True)
                _give(root / sub)
        name = f"{time.time_ns()}.P{os.getpid()}.test"
        (root / "tmp" / name).write_bytes(raw)
        _give(root / "tmp" / name)
        os.rename(root / "tmp" / name, root / "new" / name)
        return root / "new" / name


def make_dovecot(directory: Path, *, tls: bool = False, introspection_url: str = "") -> Dovecot:
    """A configured, not yet started Dovecot in *directory* (a new one, under /tmp).

    The mail user must reach the Maildir, so the directory belongs to it
    (pytest's own temporary directories are private to the user running
    the tests).
    """
    directory.mkdir(parents=True, exist_ok=True)
    _give(directory)
    for sub in ("run", "state", "mail", "home"):
        (directory / sub).mkdir(exist_ok=True)
    _give(directory / "mail")
    _give(directory / "home")
    (directory / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port = free_port()
    server = Dovecot(directory=directory, port=port)
    tls_parts = None
    if tls:
        cert, key = self_signed(directory)
        server.cert = cert
        server.tls_port = free_port()
        tls_parts = (cert, key, server.tls_port)
    config = _config(directory, port, tls_parts)
    if introspection_url:
        # OAuth2 bearer tokens (XOAUTH2), checked by RFC 7662 introspection.
        (directory / "oauth2.conf").write_text(
            "introspection_mode = post\n"
            f"introspection_url = {introspection_url}\n"
            "username_attribute = username\n"
            "active_attribute = active\nactive_value = true\n"
        )
        config = config.replace("auth_mechanisms = plain login", "auth_mechanisms = plain login xoauth2")
        config += (
            "passdb {\n  driver = oauth2\n  mechanisms = xoauth2\n"
            f"  args = {directory}/oauth2.conf\n}}\n"
        )
    server.config_path.write_text(config)
    return server

"""The example Postfix wiring in docs/mail/ works as written.

The LMTP transport's socket path and the pipe transport's argv are read from
the example files, pointed at a temporary directory, and exercised: a reply
delivered to the socket, and a message piped to the command, are both
stored and answered as a mail system expects.
"""

from __future__ import annotations

import os
import re
import shlex
import smtplib
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import ServerThread, make_settings
from tests.replies.helpers import reply_mail

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "mail"


def example_socket() -> str:
    text = (DOCS / "transport").read_text()
    [path] = re.findall(r"^calendar@\S+\s+lmtp:unix:(\S+)", text, re.MULTILINE)
    return path


def example_pipe_argv() -> list[str]:
    text = (DOCS / "master.cf").read_text()
    [argv] = re.findall(r"argv=(.+)$", text, re.MULTILINE)
    return shlex.split(argv)


def test_the_examples_agree_with_each_other():
    config = tomllib.loads((DOCS / "caldav-sched.toml").read_text())
    assert config["inbound"]["lmtp_socket"] == example_socket()
    assert "recipient_delimiter = +" in (DOCS / "main.cf").read_text()
    assert "calendar@" + config["mail"]["from_address"].split("@")[1] in (DOCS / "transport").read_text()
    argv = example_pipe_argv()
    assert argv[0].endswith("caldav-sched") and argv[1] == "ingest"


def test_lmtp_transport_to_the_unix_socket(tmp_path):
    socket_path = str(tmp_path / Path(example_socket()).name)
    server = ServerThread(make_settings(
        tmp_path,
        mail={"from_address": "calendar@cal.example.com"},
        inbound={"lmtp_socket": socket_path},
    ))
    server.start()
    try:
        raw = reply_mail(to="calendar+" + "z" * 26 + "@cal.example.com", attendee="b@example.com",
                         partstat="ACCEPTED")
        with smtplib.LMTP(socket_path) as lmtp:
            refused = lmtp.sendmail("b@example.com", ["calendar+" + "z" * 26 + "@cal.example.com"], raw)
            assert refused == {}
            lmtp.mail("b@example.com")
            code, answer = lmtp.rcpt("someone-else@cal.example.com")
            assert code == 550
        from caldav_sched.services import inbound as inbound_service

        [message] = server.call(inbound_service.list_messages(server.services))
        assert message.via == "lmtp"
        assert oct(os.stat(socket_path).st_mode & 0o777) == "0o660"
    finally:
        server.stop()


def test_pipe_transport_runs_ingest(tmp_path):
    argv = example_pipe_argv()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n'
        '[mail]\nfrom_address = "calendar@cal.example.com"\n'
    )
    # The example's program and config file, as installed on this machine.
    argv = [sys.executable, "-m", "caldav_sched"] + argv[1:]
    argv[argv.index("--config") + 1] = str(config)
    raw = reply_mail(to="calendar+" + "z" * 26 + "@cal.example.com", attendee="b@example.com",
                     partstat="ACCEPTED")
    subprocess.run([sys.executable, "-m", "caldav_sched", "migrate", "--config", str(config)],
                   check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    done = subprocess.run(argv, input=raw, capture_output=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert b"message #1 refused: unknown reply token" in done.stdout

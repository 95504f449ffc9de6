"""What a newcomer tripped over on the command line, each kept fixed.

A listing piped into ``head`` stops quietly; ``ingest`` of something that is
not mail exits 65 as documented and stores nothing; usage errors exit 2;
empty cells show ``-``; ``queue list`` names each job's kind; long reasons
are cut between words; and a command run where there is no database says so
instead of making a new, empty one.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from caldav_sched.cli.main import EXIT_CLOSED_PIPE, main, shorten
from tests.replies.helpers import reply_mail

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop("CALDAV_SCHED_CONFIG", None)


@pytest.fixture
def install(tmp_path, capsys):
    """A configured database with one user and one inbound message (a refused reply)."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n'
        '[mail]\nfrom_address = "calendar@cal.example.com"\n'
    )
    assert main(["migrate", "--config", str(config)]) == 0
    capsys.readouterr()
    return config


def cli(capsys, monkeypatch, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def ingest(config: Path, raw: bytes, *, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "caldav_sched", "ingest", "--config", str(config)],
        input=raw, capture_output=True, cwd=cwd, env=ENV,
    )


def with_stdout_closed(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run a command whose reader went away before it wrote (``| head`` after its line)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "caldav_sched", *args],
            stdout=write, stderr=subprocess.PIPE, text=True, cwd=cwd, env=ENV,
        )
    finally:
        os.close(write)


@pytest.mark.parametrize("listing", [("queue", "list", "--json"), ("inbound", "list", "--json"),
                                     ("queue", "list"), ("user", "list")])
def test_a_closed_pipe_ends_a_listing_quietly(tmp_path, install, listing):
    raw = reply_mail(to="calendar+" + "q" * 26 + "@cal.example.com", attendee="b@example.com",
                     partstat="ACCEPTED")
    assert ingest(install, raw, cwd=tmp_path).returncode == 0

    done = with_stdout_closed(*listing, "--config", str(install), cwd=tmp_path)

    assert done.returncode == EXIT_CLOSED_PIPE
    assert done.stderr == "", "no traceback, no 'Exception ignored' either"


def test_ingest_of_something_that_is_not_mail_exits_65_and_keeps_nothing(
    tmp_path, install, capsys
):
    done = ingest(install, b"hello\n", cwd=tmp_path)
    assert done.returncode == 65
    assert b"not a mail message" in done.stderr
    assert main(["inbound", "list", "--json", "--config", str(install)]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize(
    "args",
    [("queue", "purge"), ("queue", "retry"), ("queue", "retry", "7", "--failed")],
)
def test_usage_errors_exit_2_with_the_usage(capsys, monkeypatch, install, args):
    code, out, err = cli(capsys, monkeypatch, *args, "--config", str(install))
    assert code == 2
    assert err.startswith("usage: caldav-sched queue ")
    assert "Traceback" not in err


def test_queue_list_names_each_jobs_kind_and_fills_empty_cells(
    tmp_path, capsys, monkeypatch, install
):
    raw = reply_mail(to="calendar+" + "q" * 26 + "@cal.example.com", attendee="b@example.com",
                     partstat="ACCEPTED")
    assert ingest(install, raw, cwd=tmp_path).returncode == 0

    code, out, _ = cli(capsys, monkeypatch, "queue", "list", "--config", str(install))
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["ID", "KIND", "STATE", "ATTEMPTS", "METHOD", "RECIPIENT", "UID",
                              "NEXT_ATTEMPT", "LAST_ERROR"]
    cells = row.split()
    assert cells[:4] == ["1", "process_inbound", "done", "1"]
    # An inbound job has no method, recipient, UID, next attempt or error.
    assert cells[4:] == ["-"] * 5
    assert "None" not in out

    code, out, _ = cli(capsys, monkeypatch, "queue", "list", "--json", "--config", str(install))
    [job] = json.loads(out)
    assert job["kind"] == "process_inbound" and job["uid"] is None, "JSON keeps null"


def test_inbound_list_cuts_a_long_reason_between_words(tmp_path, capsys, monkeypatch, install):
    raw = reply_mail(to="calendar+" + "q" * 26 + "@cal.example.com", attendee="b@example.com",
                     partstat="ACCEPTED")
    assert ingest(install, raw, cwd=tmp_path).returncode == 0
    code, out, _ = cli(capsys, monkeypatch, "inbound", "list", "--json", "--config", str(install))
    [message] = json.loads(out)
    reason = message["reason"]

    code, out, _ = cli(capsys, monkeypatch, "inbound", "list", "--config", str(install))
    assert code == 0
    shown = out.splitlines()[1].split("  ")[-1].strip()
    if len(reason) > 80:
        assert shown.endswith("...")
        assert reason.startswith(shown.removesuffix("..."))
        assert reason[len(shown) - 3] == " ", "cut where a word ends"
    else:
        assert shown == reason


@pytest.mark.parametrize(
    "text, width, shown",
    [
        ("short", 10, "short"),
        ("the reply token of mailto:b@example.com was revoked", 30, "the reply token of..."),
        ("unknown reply token abcdefghijklmnopqrstuvwxyz0123", 30, "unknown reply token..."),
        ("oneverylongwordwithoutanyspaceatallinside", 20, "oneverylongwordwi..."),
        ("  spaces   inside\tare\nfolded  ", 40, "spaces inside are folded"),
        (None, 10, ""),
    ],
)
def test_shorten_cuts_at_a_word_boundary(text, width, shown):
    assert shorten(text, width) == shown
    assert len(shorten(text, width)) <= width


def test_a_command_where_there_is_no_database_refuses_and_creates_nothing(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "caldav_sched", "queue", "list"],
        capture_output=True, text=True, cwd=elsewhere, env=ENV,
    )
    assert done.returncode == 1
    expected = elsewhere / "var" / "caldav_sched.sqlite3"
    assert f"no database at {expected}" in done.stderr
    assert "caldav-sched migrate" in done.stderr
    assert list(elsewhere.iterdir()) == [], "no ./var/ made in passing"
    backup = subprocess.run(
        [sys.executable, "-m", "caldav_sched", "backup", "copy.sqlite3"],
        capture_output=True, text=True, cwd=elsewhere, env=ENV,
    )
    assert backup.returncode == 1 and f"no database at {expected}" in backup.stderr


def test_ingest_where_there_is_no_database_asks_the_mail_system_to_retry(tmp_path):
    raw = reply_mail(to="calendar+" + "q" * 26 + "@localhost", attendee="b@example.com",
                     partstat="ACCEPTED")
    for config in ("/dev/null", str(tmp_path / "missing.toml")):
        done = ingest(Path(config), raw, cwd=tmp_path)
        assert done.returncode == 75, done.stderr
    assert not (tmp_path / "var").exists()


def test_the_commands_that_set_up_an_install_create_the_database_and_say_so(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "caldav_sched", "user", "add", "alice", "--email",
         "alice@example.com", "--password-stdin"],
        input="a long passphrase\n", capture_output=True, text=True, cwd=tmp_path, env=ENV,
    )
    assert done.returncode == 0, done.stderr
    database = tmp_path / "var" / "caldav_sched.sqlite3"
    assert f"no database at {database} ([storage] path): creating a new one" in done.stderr
    assert database.is_file()
    again = subprocess.run(
        [sys.executable, "-m", "caldav_sched", "migrate"],
        capture_output=True, text=True, cwd=tmp_path, env=ENV,
    )
    assert again.returncode == 0 and again.stderr == ""

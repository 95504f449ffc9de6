"""The admin command line, run in process the way an operator types it."""

from __future__ import annotations

import io
import json
import sys

import pytest

from caldav_sched.cli.main import main


@pytest.fixture
def config(tmp_path, capsys):
    """A configuration and its database, created the way an operator does."""
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n')
    assert main(["migrate", "--config", str(path)]) == 0
    capsys.readouterr()
    return str(path)


def run(capsys, monkeypatch, *args, stdin: str = ""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_user_lifecycle(capsys, monkeypatch, config):
    code, out, _ = run(
        capsys, monkeypatch, "user", "add", "alice", "--email", "alice@example.com",
        "--password-stdin", "--config", config, stdin="s3cret\n",
    )
    assert code == 0
    assert "/home/alice/calendar/" in out

    code, out, _ = run(capsys, monkeypatch, "user", "list", "--json", "--config", config)
    assert code == 0
    [alice] = json.loads(out)
    assert alice["name"] == "alice" and alice["email"] == "alice@example.com"
    assert alice["has_password"] and not alice["disabled"]

    code, _, _ = run(capsys, monkeypatch, "user", "disable", "alice", "--config", config)
    assert code == 0
    code, out, _ = run(capsys, monkeypatch, "user", "list", "--config", config)
    assert "disabled" in out

    code, _, _ = run(
        capsys, monkeypatch, "user", "passwd", "alice", "--password-stdin", "--config", config,
        stdin="other\n",
    )
    assert code == 0

    code, out, _ = run(capsys, monkeypatch, "user", "set", "alice", "--also-email", "on",
                       "--config", config)
    assert code == 0 and "also by mail on" in out
    code, out, _ = run(capsys, monkeypatch, "user", "list", "--json", "--config", config)
    assert json.loads(out)[0]["also_email"] is True


@pytest.mark.parametrize(
    "args, message",
    [
        (("user", "add", "bad name", "--email", "x@example.com"), "invalid user name"),
        (("user", "add", "bob", "--email", "not-an-address"), "invalid mail address"),
        (("user", "passwd", "ghost", "--password-stdin"), "no user named ghost"),
        (("user", "disable", "ghost"), "no user named ghost"),
    ],
)
def test_refusals_are_one_line_messages(capsys, monkeypatch, config, args, message):
    code, _, err = run(capsys, monkeypatch, *args, "--config", config, stdin="pw\n")
    assert code == 1
    assert message in err
    assert "Traceback" not in err


def test_duplicate_user_is_refused(capsys, monkeypatch, config):
    args = ("user", "add", "bob", "--email", "bob@example.com", "--password-stdin", "--config", config)
    assert run(capsys, monkeypatch, *args, stdin="pw\n")[0] == 0
    code, _, err = run(
        capsys, monkeypatch, "user", "add", "bob", "--email", "other@example.com",
        "--password-stdin", "--config", config, stdin="pw\n",
    )
    assert code == 1 and "already exists" in err
    code, _, err = run(
        capsys, monkeypatch, "user", "add", "robert", "--email", "BOB@example.com",
        "--password-stdin", "--config", config, stdin="pw\n",
    )
    assert code == 1 and "already belongs" in err


def test_bad_config_file_is_reported_not_raised(capsys, monkeypatch, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[server]\nport = 'x'\n")
    code, _, err = run(capsys, monkeypatch, "user", "list", "--config", str(path))
    assert code == 1 and "[server] port" in err


def test_unreadable_database_is_reported_not_raised(capsys, monkeypatch, tmp_path):
    path = tmp_path / "c.toml"
    (tmp_path / "dir.sqlite3").mkdir()
    path.write_text(f'[storage]\npath = "{tmp_path / "dir.sqlite3"}"\n')
    code, _, err = run(capsys, monkeypatch, "user", "list", "--config", str(path))
    assert code == 1 and "database" in err
    assert "Traceback" not in err


def test_migrate_is_idempotent(capsys, monkeypatch, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "db.sqlite3"}"\n')
    code, out, _ = run(capsys, monkeypatch, "migrate", "--json", "--config", str(config))
    applied = json.loads(out)["applied"]
    assert code == 0 and applied == sorted(applied) and applied[0] == "0001_initial.sql"
    code, out, _ = run(capsys, monkeypatch, "migrate", "--config", str(config))
    assert code == 0 and "up to date" in out

"""What the scale-out settings and `storage copy` refuse, each with a one-line message."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caldav_sched.cli.main import main as cli
from caldav_sched.config import ConfigError, settings_from_dict
from caldav_sched.store.postgresql import redact
from tests.conftest import free_port


def run(capsys, tmp_path, config: str, *args: str) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    path.write_text(config)
    code = cli([*args, "--config", str(path)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.strip()


def test_several_processes_on_sqlite_are_refused_with_the_reason(capsys, tmp_path):
    code, err = run(capsys, tmp_path, "[server]\nprocesses = 2\n", "serve")
    assert code == 1
    assert "more than 1 needs PostgreSQL ([storage] url)" in err


@pytest.mark.parametrize("url", ["mysql://db/caldav", "db.example.com", "sqlite:///x"])
def test_a_storage_url_that_is_not_postgresql_is_refused(capsys, tmp_path, url):
    code, err = run(capsys, tmp_path, f'[storage]\nurl = "{url}"\n', "user", "list")
    assert code == 1 and "[storage] url: must look like postgresql://" in err


def test_an_unreachable_postgresql_is_one_line(capsys, tmp_path):
    url = f"postgresql://caldav:secret@127.0.0.1:{free_port()}/caldav"
    code, err = run(capsys, tmp_path, f'[storage]\nurl = "{url}"\n', "user", "list")
    assert code == 1
    assert err.startswith("caldav-sched: error: cannot connect to PostgreSQL") and "\n" not in err
    assert "secret" not in err


def test_copy_never_overwrites_a_file(capsys, tmp_path):
    source = tmp_path / "db.sqlite3"
    config = f'[storage]\npath = "{source}"\n'
    (tmp_path / "config.toml").write_text(config)
    assert cli(["migrate", "--config", str(tmp_path / "config.toml")]) == 0
    existing = tmp_path / "taken.sqlite3"
    existing.write_bytes(b"something")
    code, err = run(capsys, tmp_path, config, "storage", "copy", "--to", str(existing))
    assert code == 1 and "exists; name a new file" in err
    assert existing.read_bytes() == b"something"
    code, err = run(capsys, tmp_path, config, "storage", "copy", "--to", str(source))
    assert code == 1


VALID = "postgresql://caldav:s3cret@db.example.com:5432/caldav?sslmode=require"


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_storage_urls_load_or_are_refused_and_never_leak_the_password(data):
    """Any [storage] url either loads or is a ConfigError; redact() never shows the password."""
    position = data.draw(st.integers(0, len(VALID)))
    cut = data.draw(st.integers(0, 5))
    insert = data.draw(st.text(max_size=6))
    url = VALID[:position] + insert + VALID[position + cut:]
    try:
        loaded = settings_from_dict({"storage": {"url": url}})
    except ConfigError:
        return
    assert loaded.storage.url == url
    shown = redact(url)
    rest = url.partition("://")[2]
    secret_at = rest.find("s3cret")
    if secret_at >= 0 and "s3cret" not in insert and ":" in rest[:secret_at] \
            and "@" in rest[secret_at:]:
        assert "s3cret" not in shown

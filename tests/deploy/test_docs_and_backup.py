"""The systemd example runs a real command; backups are consistent copies."""

from __future__ import annotations

import asyncio
import configparser
import shlex
import sqlite3
from pathlib import Path

import aiohttp

from caldav_sched.cli.main import build_parser, main
from tests.conftest import ServerThread, basic, make_settings
from tests.deploy.test_shutdown import event

ROOT = Path(__file__).resolve().parents[2]


def test_the_systemd_unit_starts_serve_and_stops_with_sigterm():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment]
    unit.read_string((ROOT / "docs" / "deploy" / "caldav-sched.service").read_text())
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/caldav-sched")
    args = build_parser().parse_args(argv[1:])
    assert args.command == "serve" and args.config == "/etc/caldav-sched/config.toml"
    assert service["KillSignal"] == "SIGTERM"
    # Long enough for shutdown_timeout (30 s by default) and an SMTP timeout.
    assert int(service["TimeoutStopSec"]) > 60


def test_a_backup_while_serving_is_a_consistent_copy(tmp_path, capsys):
    server = ServerThread(make_settings(tmp_path))
    server.start()
    server.add_user("alice", "alice@example.com")
    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\npath = "{server.settings.storage.path}"\n')
    destination = tmp_path / "backup.sqlite3"

    async def put_many(count: int) -> None:
        async with aiohttp.ClientSession(headers={"Authorization": basic("alice")}) as session:
            for i in range(count):
                async with session.put(
                    server.url + f"home/alice/calendar/event/b{i}.ics", data=event(i + 1).encode()
                ) as resp:
                    assert resp.status == 201

    try:
        asyncio.run(put_many(20))
        assert main(["backup", str(destination), "--config", str(config)]) == 0
        assert "copied" in capsys.readouterr().out
        # A second backup to the same name is refused, not overwritten.
        assert main(["backup", str(destination), "--config", str(config)]) == 1
        assert "exists" in capsys.readouterr().err
    finally:
        server.stop()
    with sqlite3.connect(destination) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT count(*) FROM objects").fetchone() == (20,)
    # The copy is a database the server can run on.
    assert main(["migrate", "--json", "--config", str(config)]) == 0
    capsys.readouterr()
    restored = tmp_path / "r.toml"
    restored.write_text(f'[storage]\npath = "{destination}"\n')
    assert main(["event", "list", "--json", "--config", str(restored)]) == 0
    assert '"owner": "alice"' in capsys.readouterr().out

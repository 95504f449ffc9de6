"""`event show` and `event list` as a person reads them, after the seed scenario."""

from __future__ import annotations

import json
import re

import pytest

from caldav_sched.cli.main import main
from tests.replies.helpers import deliver_lmtp, reply_mail
from tests.replies.test_seed_scenario import invite, scenario  # noqa: F401  (fixture)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def after_replies(scenario, tmp_path):  # noqa: F811
    """A invited B and C; B accepted and C declined by mail."""
    a, sink, lmtp = scenario
    import asyncio

    mails, _ = asyncio.run(invite(a, sink))
    for who, answer in (("b", "ACCEPTED"), ("c", "DECLINED")):
        token = mails[f"{who}@example.com"].organizer
        deliver_lmtp(lmtp, token, reply_mail(to=token, attendee=f"{who}@example.com", partstat=answer))
    etag, _ = asyncio.run(a.wait_for(b="ACCEPTED", c="DECLINED"))
    config = tmp_path / "cli.toml"
    config.write_text(f'[storage]\npath = "{a.server.settings.storage.path}"\n')
    return str(config), etag


def test_event_show_tells_the_story_to_a_person(capsys, after_replies):
    config, etag = after_replies
    code, out, err = run(capsys, "event", "show", "identifier", "--config", config)
    assert code == 0, err
    assert "identifier" in out
    assert re.search(r"^\s+sequence\s+0$", out, re.M)
    assert etag.strip('"') in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if "@example.com" in line}
    # SCHEDULE-STATUS 1.2: the attendee's answer came back, so it was delivered.
    assert rows["b@example.com"][2:4] == ["ACCEPTED", "1.2"]
    assert rows["c@example.com"][2:4] == ["DECLINED", "1.2"]
    history = out.split("iTIP history:")[1].splitlines()
    header = history[1].split()
    assert header[:3] == ["TIME", "DIRECTION", "METHOD"]
    lines = [l.split() for l in history[2:] if l.strip()]
    story = [(l[1], l[2], l[3], l[5]) for l in lines]
    assert story == [
        ("sent", "REQUEST", "b@example.com", "sent"),
        ("sent", "REQUEST", "c@example.com", "sent"),
        ("received", "REPLY", "b@example.com", "applied"),
        ("received", "REPLY", "c@example.com", "applied"),
    ]


def test_event_list_for_a_person_and_for_a_script(capsys, after_replies):
    config, _ = after_replies
    code, out, _ = run(capsys, "event", "list", "--user", "A", "--config", config)
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["UID", "OWNER", "SUMMARY", "START", "ORGANIZER", "ATTENDEES"]
    assert row.startswith("identifier")
    assert "b@example.com=ACCEPTED" in row and "c@example.com=DECLINED" in row
    code, out, _ = run(capsys, "event", "list", "--json", "--config", config)
    [event] = json.loads(out)
    assert event["uid"] == "identifier" and event["owner"] == "A"


@pytest.mark.parametrize(
    "args, message",
    [
        (("event", "show", "no-such-uid"), "no event with UID no-such-uid"),
        (("event", "list", "--user", "ghost"), "no user named ghost"),
        (("queue", "retry", "999"), "no job 999"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_1(capsys, after_replies, args, message):
    config, _ = after_replies
    code, out, err = run(capsys, *args, "--config", config)
    assert code == 1
    # (the in-process server thread logs to stderr too; the verdict is the last line)
    assert message in err.splitlines()[-1]
    assert "Traceback" not in err


def test_an_unreadable_database_is_one_line(capsys, tmp_path):
    (tmp_path / "db").mkdir()
    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "db"}"\n')
    for args in (("event", "show", "x"), ("event", "list"), ("queue", "list")):
        code, _, err = run(capsys, *args, "--config", str(config))
        assert code == 1 and "database" in err and "Traceback" not in err, err

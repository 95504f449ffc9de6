"""The operator's notes name things that exist.

The systemd unit installs from a checkout or a built wheel (there is no
package on the index); every ``caldav-sched`` command shown in the README
and the deployment notes is one the command line accepts; the licence is
the one pyproject names, in full; the changelog covers this version.
"""

from __future__ import annotations

import re
import shlex
import tomllib

import pytest

from caldav_sched import __version__
from caldav_sched.cli.main import build_parser
from tests.docs.readme import README, ROOT

UNIT = ROOT / "docs" / "deploy" / "caldav-sched.service"


def unit_commands() -> list[list[str]]:
    lines = [line[1:].strip() for line in UNIT.read_text().splitlines() if line.startswith("#   ")]
    commands = []
    for line in lines:
        for part in line.split("&&"):
            commands.append(shlex.split(part))
    return commands


def test_the_unit_installs_from_a_checkout_or_a_built_wheel():
    installs = [c for c in unit_commands() if c[0].endswith("/pip") and c[1] == "install"]
    assert len(installs) == 2
    checkout, wheel = (c[2] for c in installs)
    assert checkout.startswith("/"), "a checkout's directory, not a name on the package index"
    assert wheel == f"dist/caldav_sched-{__version__}-py3-none-any.whl"
    [build] = [c for c in unit_commands() if c[1:4] == ["-m", "pip", "wheel"]]
    # What tests/test_packaging.py builds and installs.
    assert build[4:] == ["--no-deps", "-w", "dist", "."]
    packaging = (ROOT / "tests" / "test_packaging.py").read_text()
    assert '"wheel", "--quiet", "--no-deps", "-w"' in packaging


def shown_commands(text: str) -> list[str]:
    """``caldav-sched`` command lines in code blocks (fenced or indented)."""
    found = []
    in_fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        if not (in_fence or line.startswith("    ")):
            continue
        for segment in re.split(r"&&|[|;`]|\$\(", line.replace("$(date +%F)", "today")):
            try:
                words = shlex.split(segment)
            except ValueError:
                continue
            for i, word in enumerate(words):
                if word.split("/")[-1] == "caldav-sched" and (i == 0 or words[i - 1] == "--"):
                    command = []
                    for rest in words[i:]:
                        if rest in ("<", ">"):
                            break
                        command.append(rest)
                    found.append(shlex.join(command))
    return found


DOCS = [README, ROOT / "docs" / "deploy" / "tls.md", ROOT / "docs" / "clients.md"]
COMMANDS = sorted({c for doc in DOCS for c in shown_commands(doc.read_text())})


def test_the_notes_show_commands_at_all():
    assert len(COMMANDS) >= 8
    assert any(" migrate --config" in c for c in COMMANDS), "Upgrading"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_shown_is_one_the_command_line_accepts(command):
    argv = shlex.split(command)
    assert argv[0].endswith("caldav-sched")
    try:
        build_parser().parse_args(argv[1:])
    except SystemExit as exc:
        pytest.fail(f"{command!r} is not accepted (exit {exc.code})")


def test_the_licence_is_the_full_apache_2_0_text_that_pyproject_names():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "Apache-2.0"}
    text = (ROOT / "LICENSE").read_text()
    assert text.split() [:5] == ["Apache", "License", "Version", "2.0,", "January"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert len(re.findall(r"^\s+\d\. ", text, re.MULTILINE)) == 9, "sections 1 to 9"


def test_the_changelog_covers_this_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert f"\n## {__version__} " in text

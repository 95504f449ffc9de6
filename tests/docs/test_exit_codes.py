"""The README's exit-code table is the test: each example exits as it says.

Every row's example runs in bash (with ``pipefail``, so a pipeline's status
is the command's) in a directory where `serve` would run: a database under
``./var/`` with one user, ``caldav-sched`` on the PATH.  Each code the CLI
can return is in the table.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from caldav_sched.cli.main import EX_DATAERR, EX_TEMPFAIL, EXIT_CLOSED_PIPE, main
from tests.docs.readme import ROOT, code_span, section, table

ROWS = table(section("For operators"), "exit")


@pytest.fixture(scope="module")
def install(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    home = tmp_path_factory.mktemp("install")
    bin_dir = home / "bin"
    bin_dir.mkdir()
    command = bin_dir / "caldav-sched"
    command.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m caldav_sched "$@"\n')
    command.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
           "PYTHONPATH": str(ROOT)}
    subprocess.run(
        ["caldav-sched", "user", "add", "alice", "--email", "alice@example.com",
         "--password-stdin"],
        input="a long passphrase\n", text=True, check=True, capture_output=True, cwd=home,
        env=env,
    )
    return home, env


def test_the_table_names_every_exit_code_the_command_line_returns():
    assert [int(row[0]) for row in ROWS] == [0, 1, 2, EX_DATAERR, EX_TEMPFAIL, EXIT_CLOSED_PIPE]


@pytest.mark.parametrize("row", ROWS, ids=[row[0] for row in ROWS])
def test_each_example_exits_as_the_table_says(install, row):
    home, env = install
    code, _, example = row
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", code_span(example)],
        cwd=home, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == int(code), (example, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    if int(code) in (1, 2, EX_DATAERR, EX_TEMPFAIL):
        assert done.stderr.strip(), "a refusal says why"
    if int(code) == EXIT_CLOSED_PIPE:
        assert done.stderr == "", "a closed pipe is not an error to report"


def test_help_and_version_exit_0_in_process(capsys):
    assert main(["--version"]) == 0
    assert main(["queue", "--help"]) == 0
    capsys.readouterr()

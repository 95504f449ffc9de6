"""`pip install .` from a checkout gives a working server: migrations ship inside."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_built_wheel_carries_the_migrations_and_migrates(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".git", ".venv", "var", "build", "*.egg-info", "__pycache__"),
    )
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = wheels.glob("caldav_sched-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    # The top-level migrations/ ships inside the package, per backend.
    assert "caldav_sched/migrations/sqlite/0001_initial.sql" in names
    assert "caldav_sched/migrations/postgresql/0001_initial.sql" in names

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    workdir = tmp_path / "run"
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("CALDAV_SCHED_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "caldav_sched", "migrate", "--json"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"0001_initial.sql"' in done.stdout
    # The embedded default keeps its database under ./var/.
    assert (workdir / "var" / "caldav_sched.sqlite3").exists()
    where = subprocess.run(
        [sys.executable, "-c", "import caldav_sched; print(caldav_sched.__file__)"],
        cwd=workdir, env=env, capture_output=True, text=True, check=True,
    )
    assert where.stdout.startswith(str(target))


def test_the_installed_package_reads_both_backends_migrations():
    """However it is installed (this run: ``pip install -e .`` or ``pip install .``)."""
    from caldav_sched.store.migrate import available_migrations

    assert available_migrations("sqlite")[0].name == "0001_initial.sql"
    assert available_migrations("postgresql")[0].name == "0001_initial.sql"


def test_every_later_sqlite_migration_has_a_postgresql_twin():
    """PostgreSQL's 0001 folds SQLite's first migrations; every other one has a twin."""
    from caldav_sched.store.migrate import FOLDED_INTO_INITIAL, available_migrations

    sqlite = {m.version for m in available_migrations("sqlite")} - FOLDED_INTO_INITIAL
    postgresql = {m.version for m in available_migrations("postgresql") if m.version > 1}
    assert sqlite == postgresql

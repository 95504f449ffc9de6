"""The inbound reader stays in the domain layer (design.md "Layers").

Pure: no I/O, no clock, no randomness, no imports from the layers above.
The imip package's own layering test only sees its top-level modules, so
this one covers the ``inbound`` sub-package.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "caldav_sched" / "domain" / "imip" / "inbound"
MODULES = sorted(PACKAGE.glob("*.py"))
FORBIDDEN_PROJECT = tuple(
    f"caldav_sched.{name}" for name in ("store", "services", "dav", "mail", "queue", "cli", "daemon")
)
ALLOWED_THIRD_PARTY = {"icalendar"}
FORBIDDEN_STDLIB = {
    "asyncio", "socket", "sqlite3", "smtplib", "http", "urllib", "subprocess", "os",
    "time", "random", "secrets", "threading", "pathlib", "io", "shutil", "logging", "uuid",
}
FORBIDDEN_THIRD_PARTY = {"aiohttp", "aiosqlite", "aiosmtpd", "aiosmtplib"}
CLOCK_CALLS = {"now", "utcnow", "today", "monotonic", "urandom", "uuid4", "make_msgid", "open"}


def imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append("caldav_sched.domain.imip" if node.level else node.module or "")
    return names


def test_package_has_its_modules():
    assert {m.stem for m in MODULES} >= {"__init__", "model", "reader", "tree", "calendars", "dsn", "fields"}


@pytest.mark.parametrize("path", MODULES, ids=[m.name for m in MODULES])
def test_imports_point_down_only(path):
    for name in imported(ast.parse(path.read_text())):
        top = name.split(".")[0]
        assert top not in FORBIDDEN_THIRD_PARTY, f"{path.name} imports {name}"
        if top == "caldav_sched":
            assert not name.startswith(FORBIDDEN_PROJECT), f"{path.name} imports {name}"
        elif top in sys.stdlib_module_names or top == "__future__":
            assert top not in FORBIDDEN_STDLIB, f"{path.name} imports {name}"
        else:
            assert top in ALLOWED_THIRD_PARTY, f"{path.name} imports {name}"


@pytest.mark.parametrize("path", MODULES, ids=[m.name for m in MODULES])
def test_no_clock_randomness_or_files(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert name not in CLOCK_CALLS, f"{path.name}:{node.lineno} calls {name}"

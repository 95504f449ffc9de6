"""The scheduling part stays pure: no upper layers, no I/O, no clock (design.md "Layers")."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "caldav_sched" / "domain" / "scheduling"
MODULES = sorted(PACKAGE.glob("*.py"))

# rule_reach and plain_rules: pure like this package; one tells the expander which
# rules have no later instance, the other expands a plain series around a window.
ALLOWED_PROJECT = (
    "caldav_sched.errors", "caldav_sched.domain.scheduling", "caldav_sched.domain.rule_reach",
    "caldav_sched.domain.plain_rules",
)
ALLOWED_THIRD_PARTY = {"icalendar", "recurring_ical_events"}
FORBIDDEN_STDLIB = {
    "asyncio", "socket", "sqlite3", "smtplib", "email", "http", "urllib", "subprocess", "os",
    "time", "random", "threading", "pathlib", "io", "shutil", "logging",
}
CLOCK_CALLS = {"now", "utcnow", "today", "monotonic"}  # the time module is banned above


def imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside the package
                names.append("caldav_sched.domain.scheduling")
            else:
                names.append(node.module or "")
    return names


def test_package_has_modules():
    assert {m.stem for m in MODULES} >= {"__init__", "organizer", "reply", "attendee", "model"}


@pytest.mark.parametrize("path", MODULES, ids=[m.name for m in MODULES])
def test_imports_point_down_only(path):
    tree = ast.parse(path.read_text())
    for name in imported(tree):
        top = name.split(".")[0]
        if top == "caldav_sched":
            assert name.startswith(ALLOWED_PROJECT), f"{path.name} imports {name}"
        elif top in sys.stdlib_module_names or top == "__future__":
            assert top not in FORBIDDEN_STDLIB, f"{path.name} imports {name}"
        else:
            assert top in ALLOWED_THIRD_PARTY, f"{path.name} imports {name}"


@pytest.mark.parametrize("path", MODULES, ids=[m.name for m in MODULES])
def test_no_clock_reads_and_no_open(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert name not in CLOCK_CALLS, f"{path.name}:{node.lineno} reads the clock"
            assert name not in {"open", "print", "input"}, f"{path.name}:{node.lineno} does I/O"


@pytest.mark.parametrize("path", MODULES, ids=[m.name for m in MODULES])
def test_every_module_says_what_it_owns(path):
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), f"{path.name} has no module docstring"
    assert "from __future__ import annotations" in path.read_text()

"""The layers of design.md, checked on the imports of every module.

cli > dav > web > mail > queue > services > domain > store > config, errors:
a module may import its own layer and the layers below it, never above.
(The domain packages have stricter tests of their own: no I/O, no clock.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "caldav_sched"
ORDER = ["cli", "dav", "web", "mail", "queue", "services", "domain", "store", "leaf"]
LEAVES = {"config", "errors", "__init__"}


def layer_of(module: str) -> str:
    """'caldav_sched.services.objects' -> 'services'; the daemon, its processes and __main__ sit with the CLI."""
    parts = module.split(".")
    if len(parts) == 1:
        return "leaf"
    top = parts[1]
    if top in ("daemon", "processes", "__main__"):
        return "cli"
    if top in LEAVES or top.startswith("logging_setup"):
        return "leaf"
    return top


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(relative.parts)
        found.append((name.removesuffix(".__init__"), path))
    return found


def imports(name: str, path: Path) -> list[str]:
    out = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                out.append(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                out.append(node.module)
    return [m for m in out if m.startswith("caldav_sched")]


@pytest.mark.parametrize("name, path", modules(), ids=[m for m, _ in modules()])
def test_imports_point_down(name, path):
    own = layer_of(name)
    assert own in ORDER, f"{name}: no layer for it in design.md"
    for target in imports(name, path):
        other = layer_of(target)
        assert ORDER.index(other) >= ORDER.index(own), f"{name} ({own}) imports {target} ({other})"

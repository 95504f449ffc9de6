"""Reading README.md the way its tests need it: sections, code blocks, tables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    """A fenced code block, and the prose that follows it up to the next block."""

    info: str
    code: str
    after: str


def section(title: str, text: str | None = None) -> str:
    """The text under a ``## title`` heading, up to the next heading of that level."""
    text = README.read_text() if text is None else text
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def blocks(text: str) -> list[Block]:
    found = list(_FENCE.finditer(text))
    return [
        Block(
            info=match.group(1),
            code=match.group(2),
            after=text[match.end() : found[i + 1].start() if i + 1 < len(found) else None],
        )
        for i, match in enumerate(found)
    ]


def table(text: str, first_header: str) -> list[list[str]]:
    """The rows of the Markdown table whose first header cell is *first_header*."""
    lines = text.splitlines()
    start = next(
        i for i, line in enumerate(lines)
        if line.startswith("|") and _cells(line)[0] == first_header
    )
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(_cells(line))
    return rows


def _cells(line: str) -> list[str]:
    # A "|" inside a cell is written "\|".
    parts = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [part.strip().replace("\\|", "|") for part in parts]


def code_span(cell: str) -> str:
    match = re.fullmatch(r"`([^`]+)`", cell)
    assert match, f"not one code span: {cell!r}"
    return match.group(1)

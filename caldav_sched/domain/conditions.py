"""Conditional requests (RFC 7232) as plain data and one pure check.

The DAV layer turns ``If-Match`` / ``If-None-Match`` headers into
``Preconditions``; the service evaluates them inside the write transaction,
against the entity tag that is stored at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass

ANY = "*"


@dataclass(frozen=True)
class Preconditions:
    """``None`` means the header was absent; ``("*",)`` means any entity."""

    if_match: tuple[str, ...] | None = None
    if_none_match: tuple[str, ...] | None = None
    # RFC 6638 §3.2.10: the Schedule-Tag the client's change is based on.
    if_schedule_tag_match: str | None = None


def normalise_etag(value: str) -> str:
    """Quote a bare tag: ``If-Match: 500`` means ``"500"``."""
    value = value.strip()
    if value == ANY or value.startswith('"') or value.startswith("W/"):
        return value
    return f'"{value}"'


def parse_etag_list(header: str | None) -> tuple[str, ...] | None:
    if header is None:
        return None
    tags: list[str] = []
    current = ""
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            if current.strip():
                tags.append(normalise_etag(current))
            current = ""
        else:
            current += char
    if current.strip():
        tags.append(normalise_etag(current))
    return tuple(tags)


def preconditions_hold(pre: Preconditions, current_etag: str | None) -> bool:
    """RFC 7232 sections 3.1-3.2 for a state-changing request.

    If-Match uses the strong comparison, so a weak tag never matches.
    """
    if pre.if_match is not None:
        if current_etag is None:
            return False
        if ANY not in pre.if_match and current_etag not in pre.if_match:
            return False
    if pre.if_none_match is not None:
        if current_etag is not None and (
            ANY in pre.if_none_match
            or current_etag in pre.if_none_match
            or f"W/{current_etag}" in pre.if_none_match
        ):
            return False
    return True


def schedule_tag_holds(pre: Preconditions, current_tag: str | None) -> bool:
    """RFC 6638 §3.2.10 If-Schedule-Tag-Match: the stored Schedule-Tag is the given one."""
    if pre.if_schedule_tag_match is None:
        return True
    return current_tag is not None and normalise_etag(pre.if_schedule_tag_match) == current_tag

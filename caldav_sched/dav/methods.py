"""Which methods each kind of resource answers: the ``Allow`` header of a 405.

RFC 9110 15.5.6: a 405 response carries ``Allow`` with the methods the
target resource does support.  The table follows what the handlers serve.
"""

from __future__ import annotations

from caldav_sched.dav.resources import parse_path

OUTBOX = "outbox"
_READ = ("OPTIONS", "PROPFIND", "REPORT")

ALLOWED: dict[str, tuple[str, ...]] = {
    "root": _READ,
    "principals": _READ,
    "principal": (*_READ, "PROPPATCH"),
    "home": (*_READ, "PROPPATCH"),
    "collection": (*_READ, "PROPPATCH", "DELETE", "MOVE"),
    "object": (
        "OPTIONS", "GET", "HEAD", "PUT", "DELETE", "PROPFIND", "PROPPATCH", "REPORT",
        "COPY", "MOVE",
    ),
}


def allowed_methods(path: str | None) -> tuple[str, ...]:
    """The methods served at a base-relative *path* (OPTIONS alone where nothing is served)."""
    target = parse_path(path) if path is not None else None
    if target is None:
        return ("OPTIONS",)
    if target.kind == "collection" and target.collection == OUTBOX:
        return (*_READ, "POST")
    return ALLOWED[target.kind]

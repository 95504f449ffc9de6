"""The URL layout of design.md, and resolving a request path to a resource.

| path                                  | resource            |
| /                                     | Root                |
| /home/                                | PrincipalCollection |
| /home/<user>/                         | Principal           |
| /home/<user>/calendar/                | CalendarHome        |
| /home/<user>/calendar/<collection>/   | Collection (calendar, inbox, outbox) |
| /home/<user>/calendar/<collection>/<name> | CalendarObject  |

Paths here are relative to ``server.base_path``; ``Hrefs`` adds it back and
percent-encodes, so every href in every response carries the prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from caldav_sched.store.collections import CollectionRow
from caldav_sched.store.objects import ObjectRow
from caldav_sched.store.users import UserRow

# Characters quote() leaves alone (RFC 3986 unreserved).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.~-]*\Z")

HOME_ROOT = "home"
CALENDAR_HOME = "calendar"


@dataclass(frozen=True)
class Target:
    """What a path names, before anything is loaded."""

    kind: str  # root | principals | principal | home | collection | object
    user: str | None = None
    collection: str | None = None
    name: str | None = None


def parse_path(path: str) -> Target | None:
    """Split a (decoded, base-relative) path; ``None`` if it names nothing we serve."""
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        return None
    if not parts:
        return Target("root")
    if parts[0] != HOME_ROOT:
        return None
    if len(parts) == 1:
        return Target("principals")
    user = parts[1]
    if len(parts) == 2:
        return Target("principal", user)
    if parts[2] != CALENDAR_HOME:
        return None
    if len(parts) == 3:
        return Target("home", user)
    if len(parts) == 4:
        return Target("collection", user, parts[3])
    if len(parts) == 5:
        return Target("object", user, parts[3], parts[4])
    return None


class Hrefs:
    """Builds hrefs under the configured base path."""

    def __init__(self, base_path: str = "") -> None:
        self.base = base_path.rstrip("/")

    def root(self) -> str:
        return self.base + "/"

    def principals(self) -> str:
        return f"{self.base}/{HOME_ROOT}/"

    def principal(self, user: str) -> str:
        return f"{self.base}/{HOME_ROOT}/{quote(user)}/"

    def home(self, user: str) -> str:
        return f"{self.principal(user)}{CALENDAR_HOME}/"

    def collection(self, user: str, path: str) -> str:
        return f"{self.home(user)}{quote(path)}/"

    def object(self, user: str, path: str, name: str) -> str:
        return f"{self.collection(user, path)}{quote(name)}"

    @staticmethod
    def member(collection_href: str, name: str) -> str:
        """The href of *name* inside a collection whose href is known (``object``)."""
        return collection_href + Hrefs.segment(name)

    @staticmethod
    def segment(name: str) -> str:
        """A member's *name* as it goes in its href: percent-encoded, so
        nothing in it needs XML escaping."""
        # Most names need no escaping; quote() is the costly part of a listing.
        return name if _PLAIN_NAME.match(name) else quote(name)

    @staticmethod
    def segments(names: list[str]) -> list[str]:
        """``segment`` of each name; the names themselves when none needs
        encoding (one test of them all: a listing has hundreds)."""
        if _PLAIN_NAME.match("".join(names)):
            return names
        return [Hrefs.segment(name) for name in names]

    def relative(self, href: str) -> str | None:
        """The base-relative decoded path of an href (absolute URL or path).

        None when it is outside the base path, or no URL at all (``http://[::1/``).
        """
        try:
            path = unquote(urlsplit(href.strip()).path)
        except ValueError:
            return None
        if self.base:
            if path != self.base and not path.startswith(self.base + "/"):
                return None
            path = path[len(self.base) :] or "/"
        return path


@dataclass(frozen=True)
class Root:
    pass


@dataclass(frozen=True)
class PrincipalCollection:
    pass


@dataclass(frozen=True)
class Principal:
    user: UserRow


@dataclass(frozen=True)
class CalendarHome:
    user: UserRow


@dataclass(frozen=True)
class Collection:
    user: UserRow
    row: CollectionRow


@dataclass(frozen=True)
class CalendarObject:
    user: UserRow
    collection: CollectionRow
    row: ObjectRow


@dataclass(frozen=True)
class Missing:
    """A path inside a collection where nothing is stored (yet)."""

    target: Target


Resource = Root | PrincipalCollection | Principal | CalendarHome | Collection | CalendarObject

"""Per-request state of the DAV layer, and loading the resource a path names.

Access rule (design.md, "Reliability and security"): a user reads and writes
only their own calendar home.  Other users' principal resources may be read
(clients look up attendees' addresses), nothing below them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from caldav_sched.dav.errors import Forbidden, NotFound
from caldav_sched.dav.properties import PropContext
from caldav_sched.dav.resources import (
    CalendarHome,
    CalendarObject,
    Collection,
    Hrefs,
    Missing,
    Principal,
    PrincipalCollection,
    Resource,
    Root,
    Target,
    parse_path,
)
from caldav_sched.services import Services
from caldav_sched.store import collections as collection_store
from caldav_sched.store import objects as object_store
from caldav_sched.store import users as user_store
from caldav_sched.store.users import UserRow


@dataclass
class DavContext:
    request: web.Request
    services: Services
    hrefs: Hrefs
    user: UserRow
    path: str

    @property
    def props(self) -> PropContext:
        return PropContext(self.hrefs, self.user, self.services.settings)

    def target(self) -> Target:
        target = parse_path(self.path)
        if target is None:
            raise NotFound(f"nothing is served at {self.path}")
        return target

    async def load(
        self, target: Target, *, with_data: bool = False, allow_missing: bool = False
    ) -> Resource | Missing:
        """The resource at *target*, after the access check."""
        if target.kind == "root":
            return Root()
        if target.kind == "principals":
            return PrincipalCollection()
        assert target.user is not None
        reader = self.services.db.reader()
        if target.user == self.user.name:
            owner: UserRow | None = self.user
        else:
            owner = await user_store.get_user(reader, target.user)
            if owner is None or owner.disabled:
                raise NotFound(f"no user {target.user}")
            if target.kind != "principal":
                raise Forbidden("you may only access your own calendars")
        assert owner is not None
        if target.kind == "principal":
            return Principal(owner)
        if target.kind == "home":
            return CalendarHome(owner)
        assert target.collection is not None
        if target.kind == "collection":
            row = await self.services.db.point_read(
                collection_store.get_collection_blocking, owner.name, target.collection
            )
            if row is None:
                if allow_missing:
                    return Missing(target)
                raise NotFound(f"no collection {target.collection}")
            return Collection(owner, row)
        assert target.name is not None
        # One statement: the collection and, when it exists, the object in it.
        collection, obj = await self.services.db.point_read(
            object_store.get_collection_and_object_blocking,
            owner.name, target.collection, target.name, with_data=with_data,
        )
        if collection is None:
            if allow_missing:
                return Missing(Target("collection", owner.name, target.collection))
            raise NotFound(f"no collection {target.collection}")
        if obj is None:
            if allow_missing:
                return Missing(target)
            raise NotFound(f"no resource {target.name}")
        return CalendarObject(owner, collection, obj)

    async def collection_for_write(self, target: Target) -> Collection:
        """The user's own collection that a write under *target* goes to."""
        if target.user != self.user.name:
            raise Forbidden("you may only change your own calendars")
        assert target.collection is not None
        row = await self.services.db.point_read(
            collection_store.get_collection_blocking, self.user.name, target.collection
        )
        if row is None:
            raise NotFound(f"no collection {target.collection}")
        return Collection(self.user, row)

    def href_of(self, resource: Resource) -> str:
        if isinstance(resource, Root):
            return self.hrefs.root()
        if isinstance(resource, PrincipalCollection):
            return self.hrefs.principals()
        if isinstance(resource, Principal):
            return self.hrefs.principal(resource.user.name)
        if isinstance(resource, CalendarHome):
            return self.hrefs.home(resource.user.name)
        if isinstance(resource, Collection):
            return self.hrefs.collection(resource.user.name, resource.row.path)
        return self.hrefs.object(resource.user.name, resource.collection.path, resource.row.name)

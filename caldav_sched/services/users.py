"""Use cases for users: create one with its calendar home, passwords, login.

A new user gets the URL layout of design.md: the principal, the calendar
home, the default calendar ``event`` and the scheduling inbox and outbox.
Passwords are stored as argon2 hashes.  Verifying argon2 costs tens of
milliseconds by design, so a successful check is remembered (keyed by a keyed
hash of the password, bound to the stored hash) and later requests with the
same credentials cost a dictionary look-up; a password change invalidates it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import argon2

from caldav_sched.services import Services
from caldav_sched.services.errors import AlreadyExists, InvalidInput, UnknownUser
from caldav_sched.store import collections as collection_store
from caldav_sched.store import users as user_store
from caldav_sched.store.errors import DuplicateName
from caldav_sched.store.users import UserRow

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")
DEFAULT_CALENDAR = "event"
INBOX = "inbox"
OUTBOX = "outbox"

_hasher = argon2.PasswordHasher()
# Each argon2 verification takes the hasher's memory cost (64 MiB by
# default) for tens of milliseconds: a burst of new connections, or of wrong
# passwords, would otherwise take that much per request at once.
VERIFICATIONS_AT_ONCE = 2


@dataclass(frozen=True)
class NewUser:
    user: UserRow
    calendar_path: str


def _check_name(name: str) -> None:
    if not USER_NAME.match(name):
        raise InvalidInput(
            f"invalid user name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)"
        )


def _check_email(email: str) -> None:
    if not EMAIL.match(email):
        raise InvalidInput(f"invalid mail address {email!r}")


async def hash_password(password: str) -> str:
    if not password:
        raise InvalidInput("the password must not be empty")
    return await asyncio.get_running_loop().run_in_executor(None, _hasher.hash, password)


async def add_user(
    services: Services,
    name: str,
    email: str,
    password: str | None,
    *,
    password_hash: str | None = None,
) -> NewUser:
    """Create a user with principal, calendar home, default calendar, inbox, outbox.

    *password_hash* takes an existing argon2 hash instead of a password (for
    moving users from another installation).
    """
    _check_name(name)
    _check_email(email)
    if password_hash is not None:
        if not password_hash.startswith("$argon2"):
            raise InvalidInput("the password hash must be an argon2 hash")
    else:
        password_hash = await hash_password(password) if password else ""
    now = services.timestamp()
    try:
        async with services.db.transaction() as conn:
            if await user_store.get_user_by_email(conn, email):
                raise AlreadyExists(f"the address {email} already belongs to a user")
            user = await user_store.insert_user(
                conn, name=name, email=email, password_hash=password_hash, created_at=now
            )
            await collection_store.insert_collection(
                conn,
                owner_id=user.id,
                path=DEFAULT_CALENDAR,
                kind="calendar",
                displayname="Calendar",
                created_at=now,
            )
            for kind in (INBOX, OUTBOX):
                await collection_store.insert_collection(
                    conn, owner_id=user.id, path=kind, kind=kind, created_at=now
                )
    except DuplicateName as exc:
        raise AlreadyExists(f"a user named {name} already exists") from exc
    return NewUser(user=user, calendar_path=DEFAULT_CALENDAR)


async def list_users(services: Services) -> list[UserRow]:
    return await user_store.list_users(services.db.reader())


async def get_user(services: Services, name: str) -> UserRow | None:
    return await user_store.get_user(services.db.reader(), name)


async def set_password(services: Services, name: str, password: str) -> None:
    password_hash = await hash_password(password)
    async with services.db.transaction() as conn:
        if not await user_store.set_password_hash(conn, name, password_hash):
            raise UnknownUser(f"no user named {name}")
    services.user_changed(name)


async def set_disabled(services: Services, name: str, disabled: bool = True) -> None:
    async with services.db.transaction() as conn:
        if not await user_store.set_disabled(conn, name, disabled):
            raise UnknownUser(f"no user named {name}")
    services.user_changed(name)


async def set_also_email(services: Services, name: str, also_email: bool) -> None:
    """Whether invitations delivered to this user's calendar are also mailed."""
    async with services.db.transaction() as conn:
        if not await user_store.set_also_email(conn, name, also_email):
            raise UnknownUser(f"no user named {name}")
    services.user_changed(name)


def mailbox_of(address: str) -> str:
    """The mailbox of a calendar user address, lower case (``mailto:`` dropped)."""
    return address.strip().lower().removeprefix("mailto:")


async def local_user(services: Services, address: str) -> UserRow | None:
    """The enabled user of this server a calendar address belongs to, if any."""
    mailbox = mailbox_of(address)
    user = await user_store.get_user_by_email(services.db.reader(), mailbox)
    return user if user is not None and not user.disabled else None


async def local_users(services: Services, addresses: Iterable[str]) -> dict[str, UserRow]:
    """The enabled users of this server among these addresses, by mailbox (lower case)."""
    mailboxes = sorted({mailbox_of(a) for a in addresses})
    users = await user_store.get_users_by_email(services.db.reader(), mailboxes)
    return {u.email.lower(): u for u in users if not u.disabled}


class Authenticator:
    """Checks Basic credentials, remembering successful argon2 verifications.

    User rows are cached for ``user_ttl`` seconds (default 5) so that a
    request with known credentials costs no database statement.  The cost:
    disabling a user or changing their password from another process (the
    ``caldav-sched user`` CLI, another ``serve``) takes effect here within
    that TTL, not at once.  A change made through ``Services`` in this
    process drops the cached row at once (``Services.user_changed``), and a
    failed verification drops it too, so the next attempt reads the database.

    Requests that arrive together with the same credentials (a client's
    parallel connections) share one argon2 verification, and at most
    ``VERIFICATIONS_AT_ONCE`` run at a time, which bounds the memory they take.
    """

    def __init__(
        self,
        services: Services,
        *,
        cache_size: int = 4096,
        user_ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._services = services
        self._secret = os.urandom(32)
        self._verified: dict[tuple[str, bytes], str] = {}
        self._cache_size = cache_size
        self._user_ttl = user_ttl
        self._clock = clock
        self._users: dict[str, tuple[float, UserRow]] = {}
        self._pending: dict[tuple[str, bytes, str], asyncio.Future[bool]] = {}
        self._verifying = asyncio.Semaphore(VERIFICATIONS_AT_ONCE)
        services.user_listeners.append(self.forget)

    def _key(self, name: str, password: str) -> tuple[str, bytes]:
        digest = hashlib.blake2b(password.encode("utf-8"), key=self._secret, digest_size=32)
        return name, digest.digest()

    async def user(self, name: str) -> UserRow | None:
        """The user row named *name*, from the short-lived cache or the database."""
        now = self._clock()
        cached = self._users.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        user = await user_store.get_user(self._services.db.reader(), name)
        if user is not None:  # unknown names are not cached: they may be added any time
            if len(self._users) >= self._cache_size:
                self._users.clear()
            self._users[name] = (now + self._user_ttl, user)
        return user

    def forget(self, name: str) -> None:
        """Drop the cached row of *name* (the next request reads the database)."""
        self._users.pop(name, None)

    async def authenticate(self, name: str, password: str) -> UserRow | None:
        user = await self.user(name)
        if user is None or user.disabled or not user.password_hash:
            self.forget(name)
            return None
        key = self._key(name, password)
        if self._verified.get(key) == user.password_hash:
            return user
        if not await self._verify(key, user.password_hash, password):
            self.forget(name)
            return None
        if len(self._verified) >= self._cache_size:
            self._verified.clear()
        self._verified[key] = user.password_hash
        return user

    async def _verify(self, key: tuple[str, bytes], password_hash: str, password: str) -> bool:
        """One argon2 verification for every request waiting on the same credentials."""
        pending_key = (*key, password_hash)
        pending = self._pending.get(pending_key)
        if pending is None:
            pending = asyncio.ensure_future(self._run_verification(password_hash, password))
            self._pending[pending_key] = pending
            pending.add_done_callback(lambda _done: self._pending.pop(pending_key, None))
        # Shielded: a client that hangs up does not cancel the others' answer.
        return await asyncio.shield(pending)

    async def _run_verification(self, password_hash: str, password: str) -> bool:
        async with self._verifying:
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(None, _hasher.verify, password_hash, password)
            except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
                return False
            return True

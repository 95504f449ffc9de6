"""A message read from a mailbox is stored once, whatever happens between store and move."""

from __future__ import annotations

import pytest

from caldav_sched.config import Settings
from caldav_sched.services import Services
from caldav_sched.services import inbound as inbound_service
from caldav_sched.services import leases
from caldav_sched.services.errors import AlreadyStored
from tests.conftest import BACKENDS
from tests.imap.helpers import newsletter


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Origins and leases are SQL of the store: both backends."""
    return str(request.param)


@pytest.fixture
def services(db) -> Services:
    return Services(db=db, settings=Settings())


async def receive(services: Services, raw: bytes, origin: str | None, via: str = "imap") -> int:
    message_id, _ = await inbound_service.receive(
        services, raw, via=via, envelope_from=None, envelope_to=[], origin=origin
    )
    return message_id


async def test_the_same_place_in_the_mailbox_is_stored_once(services):
    first = await receive(services, newsletter(1), "u@h/INBOX;7:1")
    with pytest.raises(AlreadyStored) as again:
        await receive(services, newsletter(1), "u@h/INBOX;7:1")
    assert again.value.inbound_id == first
    assert len(await inbound_service.list_messages(services)) == 1


async def test_after_a_uidvalidity_change_the_message_id_decides(services):
    first = await receive(services, newsletter(1), "u@h/INBOX;7:1")
    with pytest.raises(AlreadyStored) as again:
        await receive(services, newsletter(1), "u@h/INBOX;8:1")
    assert again.value.inbound_id == first
    # A different message at a renumbered place is new.
    await receive(services, newsletter(2), "u@h/INBOX;8:2")
    assert len(await inbound_service.list_messages(services)) == 2


async def test_mail_from_other_paths_is_not_taken_for_a_duplicate(services):
    await receive(services, newsletter(1), None, via="lmtp")
    await receive(services, newsletter(1), "u@h/INBOX;7:1")
    assert len(await inbound_service.list_messages(services)) == 2


async def test_one_holder_of_the_lease_at_a_time(services):
    assert await leases.hold(services, "imap", "a:1", 60) == "a:1"
    assert await leases.hold(services, "imap", "b:2", 60) == "a:1"
    assert await leases.hold(services, "imap", "a:1", 60) == "a:1"  # renewed
    assert not await leases.take_over(services, "imap", from_holder="b:2", holder="c:3", seconds=60)
    assert await leases.take_over(services, "imap", from_holder="a:1", holder="b:2", seconds=60)
    await leases.release(services, "imap", "a:1")  # not a's any more: nothing happens
    assert await leases.hold(services, "imap", "c:3", 60) == "b:2"
    await leases.release(services, "imap", "b:2")
    assert await leases.hold(services, "imap", "c:3", 60) == "c:3"


async def test_a_lapsed_lease_can_be_taken(services):
    assert await leases.hold(services, "imap", "a:1", -1) == "a:1"  # already lapsed
    assert await leases.hold(services, "imap", "b:2", 60) == "b:2"

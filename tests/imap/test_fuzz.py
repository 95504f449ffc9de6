"""The sorting between the processed and the failed folder, on odd input.

Whatever the bytes (arbitrary, or real messages mutated), it decides and
never raises.  Mutated messages through a real Dovecot mailbox and the
consumer are a storm of the fuzz tier (``tests/fuzz``, target ``imap``).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from caldav_sched.domain.imip.inbound.sorting import Sorting, sort_message
from tests.inbound.test_fuzz import SETTINGS, mutated


def sort(raw: bytes) -> Sorting:
    return sort_message(raw, from_address="calendar@cal.example.com", max_calendar_size=4096)


@SETTINGS
@given(st.binary(max_size=3000))
def test_sorting_arbitrary_bytes(raw: bytes):
    assert isinstance(sort(raw), Sorting)


@SETTINGS
@given(mutated())
def test_sorting_mutated_messages(raw: bytes):
    assert isinstance(sort(raw), Sorting)

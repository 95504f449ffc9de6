"""Reply tokens: format, plus-address, and reading them back (design.md "Mail addresses")."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caldav_sched.domain.imip import is_token, new_token, token_address, token_from_address

FROM = "calendar@cal.example.com"
TOKEN = new_token(bytes(range(16)))


@pytest.mark.parametrize(
    ("size", "length"),
    [(16, 26), (20, 32), (32, 52)],
)
def test_new_token_is_lower_base32_without_padding(size, length):
    token = new_token(bytes([0xA5]) * size)
    assert len(token) == length
    assert re.fullmatch(r"[a-z2-7]+", token)
    assert is_token(token)


@pytest.mark.parametrize("size", [0, 8, 15])
def test_new_token_refuses_fewer_than_128_bits(size):
    with pytest.raises(ValueError):
        new_token(b"\x01" * size)


def test_distinct_bytes_give_distinct_tokens():
    assert new_token(b"\x00" * 16) != new_token(b"\x00" * 15 + b"\x01")


@pytest.mark.parametrize(
    ("from_address", "expected"),
    [
        ("calendar@cal.example.com", f"calendar+{TOKEN}@cal.example.com"),
        ("mailto:calendar@cal.example.com", f"calendar+{TOKEN}@cal.example.com"),
        ("Calendar <calendar@cal.example.com>", f"calendar+{TOKEN}@cal.example.com"),
    ],
)
def test_token_address(from_address, expected):
    assert token_address(from_address, TOKEN) == expected


@pytest.mark.parametrize(
    "bad_token", ["", "short", TOKEN.upper(), TOKEN + "!", TOKEN + "\r\nBcc: x@evil", TOKEN[:-1] + "1"]
)
def test_token_address_refuses_a_malformed_token(bad_token):
    with pytest.raises(ValueError):
        token_address(FROM, bad_token)


@pytest.mark.parametrize("bad_from", ["", "calendar", "a@b@c", "cal endar@x.example", "x@y\r\nBcc: z@evil"])
def test_token_address_refuses_a_malformed_service_address(bad_from):
    with pytest.raises(ValueError):
        token_address(bad_from, TOKEN)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (f"calendar+{TOKEN}@cal.example.com", TOKEN),
        (f"CALENDAR+{TOKEN.upper()}@CAL.EXAMPLE.COM", TOKEN),
        (f"mailto:calendar+{TOKEN}@cal.example.com", TOKEN),
        (f"MAILTO:calendar+{TOKEN}@cal.example.com", TOKEN),
        (f'"Alice via caldav_sched" <calendar+{TOKEN}@cal.example.com>', TOKEN),
        (f"Alice <calendar+{TOKEN}@Cal.Example.com>", TOKEN),
        (f"  calendar+{TOKEN}@cal.example.com  ", TOKEN),
        # not ours, or not a token
        ("calendar@cal.example.com", None),
        ("calendar+@cal.example.com", None),
        (f"calendar+{TOKEN}@other.example.com", None),
        (f"calendar+{TOKEN}@cal.example.com.evil.example", None),
        (f"calendars+{TOKEN}@cal.example.com", None),
        (f"xcalendar+{TOKEN}@cal.example.com", None),
        (f"bob+{TOKEN}@cal.example.com", None),
        ("calendar+abc@cal.example.com", None),
        (f"calendar+{TOKEN}0@cal.example.com", None),
        (f"calendar+{TOKEN}+x@cal.example.com", None),
        (f"calendar+{TOKEN}@cal.example.com\r\nBcc: x@evil", None),
        (f"calendar+{TOKEN}@cal.example.com, other@example.com", None),
        ("", None),
        ("not an address", None),
        ("<>", None),
    ],
)
def test_token_from_address(address, expected):
    assert token_from_address(address, FROM) == expected


@pytest.mark.parametrize("bad_from", ["", "nonsense", "a@b@c"])
def test_token_from_address_with_a_broken_service_address_is_none(bad_from):
    assert token_from_address(f"calendar+{TOKEN}@cal.example.com", bad_from) is None


@given(st.binary(min_size=16, max_size=40))
def test_round_trip(random_bytes):
    token = new_token(random_bytes)
    address = token_address(FROM, token)
    assert token_from_address(address, FROM) == token
    assert token_from_address(address.upper(), FROM) == token
    assert token_from_address(f'"Someone" <{address}>', FROM) == token

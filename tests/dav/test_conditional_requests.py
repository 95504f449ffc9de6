"""RFC 7232 on PUT and DELETE: every combination, and a 412 changes nothing."""

from __future__ import annotations

import pytest

from tests.dav.helpers import CAL, ICS, event

PATH = CAL + "cond.ics"

# (resource exists?, If-Match, If-None-Match, expected status)
# "{etag}" stands for the current ETag, "{bare}" for it without quotes.
PUT_MATRIX = [
    (False, None, None, 201),
    (False, None, "*", 201),
    (False, "*", None, 412),
    (False, '"nope"', None, 412),
    (False, None, '"nope"', 201),
    (True, None, None, 204),
    (True, None, "*", 412),
    (True, "{etag}", None, 204),
    (True, "{bare}", None, 204),
    (True, '"nope"', None, 412),
    (True, "nope", None, 412),
    (True, '"nope", {etag}', None, 204),
    (True, "*", None, 204),
    (True, "W/{etag}", None, 412),
    (True, None, "{etag}", 412),
    (True, None, '"nope"', 204),
    (True, "{etag}", "*", 412),
]


def fill(value: str | None, etag: str) -> str | None:
    if value is None:
        return None
    return value.replace("{etag}", etag).replace("{bare}", etag.strip('"'))


@pytest.mark.parametrize("exists, if_match, if_none_match, expected", PUT_MATRIX)
async def test_put_conditions(http, exists, if_match, if_none_match, expected):
    etag = '"none"'
    if exists:
        status, headers, _ = await http.request("PUT", PATH, event(uid="cond"), ICS)
        assert status == 201
        etag = headers["ETag"]
    before = await http.request("GET", PATH)

    headers = dict(ICS)
    if (value := fill(if_match, etag)) is not None:
        headers["If-Match"] = value
    if (value := fill(if_none_match, etag)) is not None:
        headers["If-None-Match"] = value
    status, response_headers, _ = await http.request(
        "PUT", PATH, event(uid="cond", summary="Changed"), headers
    )

    assert status == expected
    after = await http.request("GET", PATH)
    if expected == 412:
        assert after[0] == before[0]
        assert after[2] == before[2], "a failed precondition changed the resource"
    else:
        assert response_headers["ETag"].startswith('"')
        assert after[1]["ETag"] == response_headers["ETag"]
        assert b"SUMMARY:Changed" in after[2]


@pytest.mark.parametrize(
    "if_match, expected", [(None, 204), ("{etag}", 204), ("{bare}", 204), ('"nope"', 412)]
)
async def test_delete_conditions(http, if_match, expected):
    status, headers, _ = await http.request("PUT", PATH, event(uid="cond"), ICS)
    etag = headers["ETag"]
    request_headers = {}
    if (value := fill(if_match, etag)) is not None:
        request_headers["If-Match"] = value
    status, _, _ = await http.request("DELETE", PATH, headers=request_headers)
    assert status == expected
    still_there = (await http.request("GET", PATH))[0]
    assert still_there == (200 if expected == 412 else 404)


async def test_etag_changes_with_every_change_and_only_then(http):
    _, first, _ = await http.request("PUT", PATH, event(uid="cond"), ICS)
    _, same, _ = await http.request("PUT", PATH, event(uid="cond"), ICS)
    _, changed, _ = await http.request("PUT", PATH, event(uid="cond", summary="New"), ICS)
    assert first["ETag"] == same["ETag"]
    assert changed["ETag"] != first["ETag"]
    status, _, _ = await http.request(
        "PUT", PATH, event(uid="cond", summary="Stale"), {**ICS, "If-Match": first["ETag"]}
    )
    assert status == 412


async def test_get_honours_if_none_match(http):
    _, headers, _ = await http.request("PUT", PATH, event(uid="cond"), ICS)
    status, _, body = await http.request("GET", PATH, headers={"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""

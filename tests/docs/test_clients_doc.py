"""docs/clients.md: what an app finds from the server address, step by step.

The steps an app takes (well-known, OPTIONS, principal, home, address set,
scheduling collections, the calendar list) run against a real server; the
answers, written the way the document writes them, must be its table.
"""

from __future__ import annotations

import pytest
from lxml import etree

from caldav_sched.dav.app import DAV_CLASSES
from tests.docs.readme import ROOT, table

DOC = ROOT / "docs" / "clients.md"
NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}


def propfind(*props: str) -> str:
    names = "".join(f"<{p}/>" for p in props)
    return (
        '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:prop>{names}</D:prop></D:propfind>"
    )


def hrefs(body: bytes, prop: str) -> list[str]:
    root = etree.fromstring(body)
    return [h.text for h in root.findall(f".//{prop}/D:href", NS)]


async def what_the_app_finds(http) -> list[list[str]]:
    rows = []
    status, headers, _ = await http.request("PROPFIND", "/.well-known/caldav", auth=None)
    rows.append(["1", "`PROPFIND /.well-known/caldav` (RFC 6764)",
                 f"`{status}` to `{headers['Location']}`"])

    _, headers, _ = await http.request("OPTIONS", "/", auth=None)
    rows.append(["2", "`OPTIONS /`", f"DAV classes `{headers['DAV']}`"])

    _, _, body = await http.request("PROPFIND", "/", propfind("D:current-user-principal"),
                                    {"Depth": "0"})
    [principal] = hrefs(body, "D:current-user-principal")
    rows.append(["3", "`PROPFIND /` for `current-user-principal`", f"`{principal}`"])

    _, _, body = await http.request(
        "PROPFIND", principal,
        propfind("C:calendar-home-set", "C:calendar-user-address-set", "C:schedule-inbox-URL",
                 "C:schedule-outbox-URL"),
        {"Depth": "0"},
    )
    [home] = hrefs(body, "C:calendar-home-set")
    rows.append(["4", f"`PROPFIND {principal}` for `calendar-home-set`", f"`{home}`"])
    addresses = [a for a in hrefs(body, "C:calendar-user-address-set") if a.startswith("mailto:")]
    rows.append(["5", f"`PROPFIND {principal}` for `calendar-user-address-set`",
                 ", ".join(f"`{a}`" for a in addresses)])
    [inbox], [outbox] = hrefs(body, "C:schedule-inbox-URL"), hrefs(body, "C:schedule-outbox-URL")
    rows.append(["6", f"`PROPFIND {principal}` for `schedule-inbox-URL` and `schedule-outbox-URL`",
                 f"`{inbox}`, `{outbox}`"])

    _, _, body = await http.request(
        "PROPFIND", home, propfind("D:resourcetype", "C:supported-calendar-component-set"),
        {"Depth": "1"},
    )
    calendars = []
    for response in etree.fromstring(body).findall("D:response", NS):
        kind = response.find(".//D:resourcetype", NS)
        if kind is not None and kind.find("C:calendar", NS) is not None:
            components = {c.get("name") for c in response.findall(".//C:comp", NS)}
            calendars.append((response.findtext("D:href", namespaces=NS), components))
    [(calendar, components)] = calendars
    assert {"VEVENT", "VTODO"} <= components
    rows.append(["7", f"`PROPFIND {home}`, Depth 1",
                 f"the calendar `{calendar}` (events and tasks)"])
    return rows


async def test_the_document_tells_what_the_server_answers(http):
    assert await what_the_app_finds(http) == table(DOC.read_text(), "step")
    assert DAV_CLASSES in DOC.read_text()


@pytest.mark.parametrize("app", ["Thunderbird", "Apple Calendar on macOS",
                                 "Apple Calendar on iOS and iPadOS", "DAVx5 (Android)",
                                 "Evolution"])
def test_each_app_has_its_section(app):
    text = DOC.read_text()
    assert f"\n## {app}\n" in text
    part = text.split(f"\n## {app}\n", 1)[1].split("\n## ", 1)[0]
    assert "cal.example.com" in part, "says what address to enter"
    assert "alice" in part, "says which user name"

"""The RSVP pages as an attendee reaches them: links from invitations, forms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

import aiohttp

from tests.conftest import Received

LINK = re.compile(r"(https?://\S+/rsvp/[a-z2-7]+)\?answer=(accepted|tentative|declined)")


def body_text(received: Received, subtype: str) -> str:
    for part in received.message.walk():
        if part.get_content_type() == f"text/{subtype}":
            return part.get_content()
    raise AssertionError(f"no text/{subtype} part")


def answer_links(received: Received, subtype: str = "plain") -> dict[str, str]:
    """{"accepted": url, ...} as the invitation's text (or HTML) part shows them."""
    text = body_text(received, subtype).replace("&amp;", "&")
    return {answer: f"{page}?answer={answer}" for page, answer in LINK.findall(text)}


def page_of(received: Received) -> str:
    """The answer page of an invitation (its link without ?answer=)."""
    return answer_links(received)["declined"].split("?")[0]


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action: str | None = None
        self.buttons: list[str] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "button":
            self.buttons.append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None


@dataclass
class Page:
    status: int
    html: str
    headers: dict
    form: _Form

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", self.html))


async def get_page(url: str, **headers: str) -> Page:
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=headers, allow_redirects=False) as resp:
            html = await resp.text()
            form = _Form()
            form.feed(html)
            return Page(resp.status, html, dict(resp.headers), form)


async def post_answer(
    url: str, answer: str | None, *, fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None, follow: bool = False, comment: str | None = None,
) -> Page:
    """Open the page, then press *answer* the way a browser posts the form."""
    if fields is None:
        page = await get_page(url)
        fields = dict(page.form.fields)
    data = dict(fields)
    if comment is not None:
        data["comment"] = comment
    if answer is not None:
        data["answer"] = answer
    async with aiohttp.ClientSession() as session:
        async with session.post(url.split("?")[0], data=data, headers=headers or {},
                                allow_redirects=follow) as resp:
            html = await resp.text()
            form = _Form()
            form.feed(html)
            return Page(resp.status, html, dict(resp.headers), form)

"""The one place for XML: a hardened parser and the multistatus builder.

Request bodies are parsed by ``parse_body``: no DTD, no entities, no network,
size-bounded by the request limit, so entity tricks and external references
are refused before anything looks at the document.  Responses are built from
``Element`` trees here and serialised once.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from caldav_sched.dav.errors import BadRequest

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CALSERVER = "http://calendarserver.org/ns/"
APPLE_ICAL = "http://apple.com/ns/ical/"

NSMAP = {"D": DAV, "C": CALDAV, "CS": CALSERVER, "ICAL": APPLE_ICAL}

Element = etree._Element


def dav(name: str) -> str:
    return f"{{{DAV}}}{name}"


def caldav(name: str) -> str:
    return f"{{{CALDAV}}}{name}"


def cs(name: str) -> str:
    return f"{{{CALSERVER}}}{name}"


def apple(name: str) -> str:
    return f"{{{APPLE_ICAL}}}{name}"


_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def parse_body(body: bytes) -> Element | None:
    """Parse a request body; ``None`` for an empty one.  Malformed is a 400."""
    if not body.strip():
        return None
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise BadRequest("XML with a DTD or entity declarations is not accepted")
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise BadRequest(f"malformed XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise BadRequest("XML with a DTD is not accepted")
    return root


# What XML 1.0 cannot carry at all, even escaped: C0 controls other than TAB,
# LF and CR, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Text made safe for an XML answer: characters XML cannot carry become U+FFFD.

    The output boundary for XML: every text that goes into an answer (hrefs,
    property values, calendar data, error descriptions) passes here, so a
    stray control character in stored data or a request URL cannot make an
    answer unwritable.
    """
    # Every character XML cannot carry is one str.isprintable() refuses
    # (controls, surrogates, non-characters): the common case costs no regex.
    if text.isprintable() or _NOT_XML.search(text) is None:
        return text
    return _NOT_XML.sub("\ufffd", text)


def element(tag: str, text: str | None = None, *children: Element) -> Element:
    el = etree.Element(tag, nsmap=NSMAP if tag.startswith("{DAV:}") else None)
    if text is not None:
        el.text = xml_text(text)
    el.extend(children)
    return el


def sub(parent: Element, tag: str, text: str | None = None) -> Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = xml_text(text)
    return el


def serialise(root: Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


STATUS_TEXT = {
    200: "OK",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    424: "Failed Dependency",
    507: "Insufficient Storage",
}


def status_line(code: int) -> str:
    return f"HTTP/1.1 {code} {STATUS_TEXT.get(code, '')}".rstrip()


@dataclass
class PropStat:
    """Properties of one resource grouped by status."""

    found: list[Element] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    other: dict[int, list[Element]] = field(default_factory=dict)


def mkcol_response(props: PropStat) -> bytes:
    """RFC 5689 DAV:mkcol-response: the properties of a refused extended MKCOL, by status."""
    root = etree.Element(dav("mkcol-response"), nsmap=NSMAP)
    for code, elements in sorted(props.other.items()):
        Multistatus._propstat(root, code, elements)
    return serialise(root)


def error_element(precondition: str, href: str | None = None) -> Element:
    root = etree.Element(dav("error"), nsmap=NSMAP)
    cond = etree.SubElement(root, precondition)
    if href is not None:
        etree.SubElement(cond, dav("href")).text = xml_text(href)
    return root


# Properties of a calendar object resource whose values are plain text (or,
# for resourcetype, empty): responses holding only these are rendered from
# string templates instead of element trees (PROPFIND Depth 1, sync-collection).
SIMPLE_OBJECT_PROPERTIES = frozenset(
    {
        dav("getetag"),
        dav("getcontenttype"),
        dav("getlastmodified"),
        dav("getcontentlength"),
        dav("resourcetype"),
    }
)
_PREFIXED = {name: "D:" + name[len("{DAV:}") :] for name in SIMPLE_OBJECT_PROPERTIES}
_XML_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"
_NS_DECLARATIONS = "".join(f' xmlns:{prefix}="{uri}"' for prefix, uri in NSMAP.items())
_MULTISTATUS_OPEN = f"<D:multistatus{_NS_DECLARATIONS}>"
_RESPONSE_OPEN = f"<D:response{_NS_DECLARATIONS}>"


def _needs_no_escaping(text: str) -> bool:
    # isprintable() excludes CR and every character xml_text replaces.
    return text.isprintable() and "&" not in text and "<" not in text and ">" not in text


def escape_text(text: str) -> str:
    """Character data as lxml writes it: ``&``, ``<``, ``>`` and CR escaped."""
    if _needs_no_escaping(text):
        return text  # most hrefs and ETags
    text = xml_text(text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def simple_response(href: str, values: Sequence[tuple[str, str | None]]) -> str:
    """One DAV:response with a 200 propstat of simple properties (name, text).

    Every name must be in ``SIMPLE_OBJECT_PROPERTIES``; a ``None`` text is an
    empty element (resourcetype of a non-collection).
    """
    parts = ["<D:response><D:href>", escape_text(href), "</D:href><D:propstat><D:prop>"]
    for name, text in values:
        tag = _PREFIXED[name]
        if text is None:
            parts.append(f"<{tag}/>")
        else:
            parts.append(f"<{tag}>{escape_text(text)}</{tag}>")
    parts.append(_PROPSTAT_OK_END)
    return "".join(parts)


_PROPSTAT_OK_END = "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"


class SimpleListing:
    """``simple_response`` for members of one collection that are all asked
    the same names (a listing).  The response is cut once into the text
    every member shares (the collection's href, the tags, the content type,
    an empty resourcetype) and the places of what differs, so each
    member's response is one join of its own values between those texts."""

    def __init__(self, base_href: str, names: Sequence[str], content_type: str) -> None:
        parts: list[str | int] = [
            f"<D:response><D:href>{escape_text(base_href)}", _SEGMENT, "</D:href><D:propstat><D:prop>"
        ]
        for name in names:
            tag = _PREFIXED[name]
            if name == _RESOURCETYPE:
                parts.append(f"<{tag}/>")
            elif name == _GETCONTENTTYPE:
                parts.append(f"<{tag}>{escape_text(content_type)}</{tag}>")
            else:
                parts += [f"<{tag}>", _LISTING_COLUMNS[name], f"</{tag}>"]
        parts.append(_PROPSTAT_OK_END)
        # texts[0] column[0] texts[1] column[1] ... texts[-1]
        self._texts: list[str] = [""]
        self._columns: list[int] = []
        for part in parts:
            if isinstance(part, int):
                self._columns.append(part)
                self._texts.append("")
            else:
                self._texts[-1] += part

    def render_many(
        self,
        segments: Sequence[str],
        etags: Sequence[str],
        sizes: Iterable[int],
        last_modified: Iterable[str],
    ) -> Iterator[str]:
        """The members' responses, lazily, in the order given: each member's
        name as it goes in a URL (``Hrefs.segments``: nothing in it to
        escape), ETag, size and HTTP date (read only when asked).  The
        ETags are tested for escaping once, together: a server's never
        need it."""
        if not _needs_no_escaping("".join(etags)):
            etags = [escape_text(etag) for etag in etags]
        given: list[Iterable[Any]] = [segments, etags, sizes, last_modified]
        # Only the columns asked for are read; each is a list, so that a name
        # asked twice reads it twice.
        columns = {column: list(map(str, given[column])) for column in set(self._columns)}
        pieces: list[Iterable[str]] = []
        for text, column in zip(self._texts, self._columns):
            pieces += [itertools.repeat(text), columns[column]]
        pieces.append(itertools.repeat(self._texts[-1]))
        # One join per member, the loop in C: zip stops with the columns.
        return map("".join, zip(*pieces))


# render_many's column that gives each member's href segment, and each property's text.
_SEGMENT = 0
_LISTING_COLUMNS = {dav("getetag"): 1, dav("getcontentlength"): 2, dav("getlastmodified"): 3}
_RESOURCETYPE = dav("resourcetype")
_GETCONTENTTYPE = dav("getcontenttype")


def status_response(href: str, code: int) -> str:
    """One DAV:response with only a status (a sync-collection tombstone)."""
    return f"<D:response><D:href>{escape_text(href)}</D:href><D:status>{status_line(code)}</D:status></D:response>"


class Multistatus:
    """Builds a 207 Multi-Status body, one ``response`` per resource.

    Responses are element trees, except those added with ``add_rendered``
    (text from ``simple_response`` / ``status_response``) or, for many at
    once, ``add_rendered_many`` (an iterable consumed only while the body is
    written); the body keeps the order in which responses were added.
    ``chunks()`` gives it in pieces, so a large answer need not be held whole.
    """

    def __init__(self) -> None:
        self.root = etree.Element(dav("multistatus"), nsmap=NSMAP)
        # Rendered text, each after the element child count at which it was added.
        self._rendered: list[tuple[int, str | Iterable[str]]] = []
        self.count = 0  # responses added

    def add_rendered(self, text: str) -> None:
        self._rendered.append((len(self.root), text))
        self.count += 1

    def add_rendered_many(self, texts: Iterable[str], count: int) -> None:
        """``count`` responses, rendered when the body is written."""
        self._rendered.append((len(self.root), texts))
        self.count += count

    def add_propstat(self, href: str, props: PropStat) -> None:
        self.count += 1
        response = etree.SubElement(self.root, dav("response"))
        etree.SubElement(response, dav("href")).text = xml_text(href)
        if props.found:
            self._propstat(response, 200, props.found)
        if props.missing:
            self._propstat(response, 404, [etree.Element(name) for name in props.missing])
        for code, elements in sorted(props.other.items()):
            self._propstat(response, code, elements)
        if not (props.found or props.missing or props.other):
            self._propstat(response, 200, [])

    def add_status(self, href: str, code: int, error: str | None = None) -> None:
        self.count += 1
        response = etree.SubElement(self.root, dav("response"))
        etree.SubElement(response, dav("href")).text = xml_text(href)
        etree.SubElement(response, dav("status")).text = status_line(code)
        if error is not None:
            response.append(error_element(error))

    def set_sync_token(self, token: str) -> None:
        etree.SubElement(self.root, dav("sync-token")).text = xml_text(token)

    @staticmethod
    def _propstat(response: Element, code: int, elements: Sequence[Element]) -> None:
        propstat = etree.SubElement(response, dav("propstat"))
        prop = etree.SubElement(propstat, dav("prop"))
        prop.extend(elements)
        etree.SubElement(propstat, dav("status")).text = status_line(code)

    def serialise(self) -> bytes:
        if not self._rendered:
            return serialise(self.root)
        return b"".join(self.chunks())

    def chunks(self, size: int = 64 * 1024) -> Iterator[bytes]:
        """The body in pieces of about ``size`` bytes (UTF-8)."""
        if not self._rendered:
            yield serialise(self.root)
            return
        parts: list[str] = [_XML_DECLARATION, _MULTISTATUS_OPEN]
        length = 0
        for text in self._texts():
            parts.append(text)
            length += len(text)
            if length >= size:
                yield "".join(parts).encode("utf-8")
                parts, length = [], 0
        parts.append("</D:multistatus>")
        yield "".join(parts).encode("utf-8")

    def _texts(self) -> Iterator[str]:
        elements = list(self.root)
        done = 0
        for position, rendered in self._rendered:
            if position > done:  # most answers are all rendered text: no slice per response
                yield from (self._element_text(el) for el in elements[done:position])
                done = position
            if isinstance(rendered, str):
                yield rendered
            else:
                yield from rendered
        yield from (self._element_text(el) for el in elements[done:])

    @staticmethod
    def _element_text(el: Element) -> str:
        text = etree.tostring(el, encoding="unicode")
        # Serialised alone, a child repeats the root's declarations; drop them.
        if text.startswith(_RESPONSE_OPEN):
            text = "<D:response>" + text[len(_RESPONSE_OPEN) :]
        elif text.startswith(f"<D:sync-token{_NS_DECLARATIONS}>"):
            text = "<D:sync-token>" + text[len(f"<D:sync-token{_NS_DECLARATIONS}>") :]
        return text


def child_names(el: Element | None) -> list[str]:
    """The Clark names of an element's element children, in order."""
    if el is None:
        return []
    return [c.tag for c in el if isinstance(c.tag, str)]


def children(el: Element | None) -> Iterable[Element]:
    if el is None:
        return []
    return [c for c in el if isinstance(c.tag, str)]


def to_string(el: Element) -> str:
    return etree.tostring(el, encoding="unicode")


def from_string(text: str) -> Element:
    return etree.fromstring(text.encode("utf-8"), parser=_PARSER)


def schedule_response(answers: Sequence[tuple[str, str, bytes | None]]) -> bytes:
    """RFC 6638 §5.2 CALDAV:schedule-response, one response per recipient."""
    root = etree.Element(caldav("schedule-response"), nsmap=NSMAP)
    for recipient, request_status, calendar in answers:
        response = etree.SubElement(root, caldav("response"))
        etree.SubElement(etree.SubElement(response, caldav("recipient")), dav("href")).text = xml_text(recipient)
        etree.SubElement(response, caldav("request-status")).text = xml_text(request_status)
        if calendar is not None:
            etree.SubElement(response, caldav("calendar-data")).text = xml_text(calendar.decode("utf-8"))
    return serialise(root)

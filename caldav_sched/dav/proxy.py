"""Behind a reverse proxy: whom to believe about the client.

``X-Forwarded-For``, ``X-Forwarded-Proto`` and ``X-Forwarded-Host`` (and the
optional user header, ``server.proxy_user_header``) are read only when the
direct peer of the TCP connection is in ``server.trusted_proxies``; from any
other peer they are ignored, so a client cannot claim another address or
another user.  The standard ``Forwarded`` header (RFC 7239) is not read.

The client address is found by walking ``X-Forwarded-For`` from the right,
skipping trusted proxies: the first untrusted address is the client (the
entries to its left were written by the client itself and prove nothing).

The middleware hands the rest of the application a clone of the request
whose ``remote``, ``scheme`` and ``host`` are the client's, so logs,
``/healthz`` and ``/metrics`` access checks and ``request.url`` all speak of
the client, not of the proxy.  The direct peer and the proxy's user stay
available under ``PEER`` and ``PROXY_USER``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

from caldav_sched.config import ServerSettings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PEER = web.RequestKey("peer", str)
PROXY_USER = web.RequestKey("proxy_user", str)

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")


def parse_address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[::1]:1234"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:1234"
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class AddressSet:
    """IP addresses and networks, as configured."""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in networks
        )

    def __contains__(self, address: Address | str | None) -> bool:
        if isinstance(address, str):
            address = parse_address(address)
        if address is None:
            return False
        return any(address.version == n.version and address in n for n in self.networks)

    def __bool__(self) -> bool:
        return bool(self.networks)


@dataclass(frozen=True)
class Forwarded:
    """What a request says about its client, once trust is decided."""

    peer: str
    client: str
    scheme: str | None = None
    host: str | None = None
    user: str | None = None


class ProxyTrust:
    def __init__(self, server: ServerSettings) -> None:
        self.trusted = AddressSet(server.trusted_proxies)
        self.user_header = server.proxy_user_header

    def client_address(self, peer: str, forwarded_for: list[str]) -> str:
        """RFC 7239 section 8.3 in spirit: the rightmost address no trusted proxy vouches for."""
        client = peer
        for entry in reversed(forwarded_for):
            if client not in self.trusted:
                break
            address = parse_address(entry)
            if address is None:
                break  # garbage: believe nothing further left
            client = str(address)
        return client

    def resolve(self, request: web.BaseRequest) -> Forwarded:
        peer = request.remote or ""
        if not self.trusted or peer not in self.trusted:
            return Forwarded(peer=peer, client=peer)
        headers = request.headers
        entries = [
            item for value in headers.getall("X-Forwarded-For", []) for item in value.split(",")
            if item.strip()
        ]
        client = self.client_address(peer, entries)
        proto = headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        host = headers.get("X-Forwarded-Host", "").split(",")[0].strip()
        user = headers.get(self.user_header, "").strip() if self.user_header else ""
        return Forwarded(
            peer=peer,
            client=client,
            scheme=proto if proto in ("http", "https") else None,
            host=host if _HOST.match(host) else None,
            user=user or None,
        )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def proxy_middleware(trust: ProxyTrust) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        forwarded = trust.resolve(request)
        changes: dict[str, str] = {}
        if forwarded.client != forwarded.peer:
            changes["remote"] = forwarded.client
        if forwarded.scheme:
            changes["scheme"] = forwarded.scheme
        if forwarded.host:
            changes["host"] = forwarded.host
        if changes:
            request = request.clone(**changes)  # type: ignore[arg-type]
        request[PEER] = forwarded.peer
        if forwarded.user:
            request[PROXY_USER] = forwarded.user
        return await handler(request)

    return middleware

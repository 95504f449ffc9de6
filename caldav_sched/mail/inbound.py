"""The LMTP listener: the mail system delivers the service's address here.

It only accepts and persists (aiosmtpd handler pattern): RCPT is taken for
the service's own address and its ``+token`` forms, anything else gets 550;
DATA is stored raw, with its processing queued, in one transaction before
the 250 goes out, so an acknowledged message survives a crash.  A store
failure answers 451, and the mail system tries again later.  LMTP answers
DATA once per recipient (RFC 2033).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from aiosmtpd.lmtp import LMTP

from caldav_sched.errors import CaldavSchedError
from caldav_sched.services import Services
from caldav_sched.services import inbound as inbound_service
from caldav_sched.services import users as user_service

log = logging.getLogger("caldav_sched.lmtp")


def accepts(address: str, from_address: str) -> bool:
    """The service's address, bare or with a ``+`` detail, in any case."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    own_local, _, own_domain = from_address.rpartition("@")
    if domain.lower() != own_domain.lower():
        return False
    base = local.split("+", 1)[0]
    return base.lower() == own_local.lower()


class InboundHandler:
    """aiosmtpd handler: RCPT filter and durable DATA."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if not accepts(address, self.services.settings.mail.from_address):
            # A local user's own address takes invitations from outside.
            if await user_service.local_user(self.services, address) is None:
                return "550 5.1.1 This address does not take calendar mail"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        count = max(len(envelope.rcpt_tos), 1)
        try:
            message_id, _ = await inbound_service.receive(
                self.services,
                raw,
                via="lmtp",
                envelope_from=envelope.mail_from,
                envelope_to=list(envelope.rcpt_tos),
            )
        except CaldavSchedError as exc:
            log.warning("refused a message from %s: %s", envelope.mail_from, exc)
            return "\r\n".join([f"554 5.6.0 {exc}"] * count)
        except Exception:
            log.exception("could not store a message from %s", envelope.mail_from)
            return "\r\n".join(["451 4.3.0 Cannot store the message now; try again"] * count)
        return "\r\n".join([f"250 2.0.0 Stored as #{message_id}"] * count)


class LmtpListener:
    """An LMTP server on a TCP address or a Unix socket, on the running loop."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._server: asyncio.AbstractServer | None = None

    @property
    def configured(self) -> bool:
        inbound = self.services.settings.inbound
        return bool(inbound.lmtp_socket or (inbound.lmtp_host and inbound.lmtp_port))

    def _protocol(self) -> LMTP:
        return LMTP(
            InboundHandler(self.services),
            data_size_limit=self.services.settings.limits.max_mail_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self.services.settings.mail.from_address.rpartition("@")[2] or None,
        )

    async def start(self) -> None:
        inbound = self.services.settings.inbound
        loop = asyncio.get_running_loop()
        if inbound.lmtp_socket:
            if os.path.exists(inbound.lmtp_socket):
                os.unlink(inbound.lmtp_socket)  # a stale socket from a killed run
            self._server = await loop.create_unix_server(self._protocol, inbound.lmtp_socket)
            os.chmod(inbound.lmtp_socket, 0o660)
            log.info("LMTP listening on %s", inbound.lmtp_socket)
        else:
            self._server = await loop.create_server(
                self._protocol, inbound.lmtp_host, inbound.lmtp_port
            )
            log.info("LMTP listening on %s:%d", inbound.lmtp_host, inbound.lmtp_port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

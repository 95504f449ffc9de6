"""One logged-in IMAP connection to the service's mailbox (aioimaplib).

``Mailbox.open`` connects with the configured security (implicit TLS,
STARTTLS, or none), logs in with a password or an OAuth2 access token
(XOAUTH2), and reads the server's capabilities.  The methods speak in UIDs
and mailbox names and raise ``ImapFault`` for everything that can go wrong,
each with its kind (``dns``, ``connect``, ``tls``, ``login``, ``secret``,
``mailbox``, ``lost``, ``timeout``, ``server``) and a sentence saying what
the operator can do about it.

Secrets: ``password`` from the configuration, or ``password_command`` run
at each login (its standard output is the secret, so an OAuth2 token is
refreshed outside this program).

aioimaplib has no STARTTLS call of its own: the command goes through its
command machinery and the socket is upgraded with asyncio's ``start_tls``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import socket
import ssl
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass

import aioimaplib
from aioimaplib.aioimaplib import Command, quoted

from caldav_sched.config import ImapSettings
from caldav_sched.errors import CaldavSchedError

_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_LIST = re.compile(rb'^\((?P<flags>[^)]*)\) (?:NIL|"(?:[^"\\]|\\.)*") (?P<name>.+)$')
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_STATUS_MESSAGES = re.compile(rb"MESSAGES (\d+)")


class ImapFault(CaldavSchedError):
    """Something between the service and its mailbox went wrong."""

    def __init__(self, kind: str, message: str, advice: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.advice = advice

    def __str__(self) -> str:
        return f"{self.args[0]}; {self.advice}" if self.advice else str(self.args[0])


def uid_set(uids: Iterable[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1:3,7"`` (RFC 3501 sequence-set of UIDs)."""
    ordered = sorted(set(uids))
    ranges: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        ranges.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    ranges.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(ranges)


def _unquote(name: bytes) -> str:
    text = name.decode("utf-8", "replace")
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _text(response: aioimaplib.Response) -> str:
    last = response.lines[-1] if response.lines else b""
    return bytes(last).decode("utf-8", "replace").strip() or response.result


async def read_secret(settings: ImapSettings) -> str:
    """The password or token: from the configuration, or from ``password_command``."""
    if not settings.password_command:
        return settings.password
    try:
        process = await asyncio.create_subprocess_shell(
            settings.password_command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), settings.timeout)
    except asyncio.TimeoutError:
        process.kill()
        raise ImapFault(
            "secret", f"[imap] password_command did not finish within {settings.timeout:g} s",
            "check that the command runs on its own without asking anything",
        ) from None
    except OSError as exc:
        raise ImapFault("secret", f"[imap] password_command could not run: {exc}",
                        "check the command and its path") from exc
    if process.returncode != 0:
        detail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise ImapFault(
            "secret", f"[imap] password_command exited with status {process.returncode}"
            + (f": {detail[0]}" if detail[0] else ""),
            "run it by hand as the service's user to see why",
        )
    secret = out.decode("utf-8", "replace").strip()
    if not secret:
        raise ImapFault("secret", "[imap] password_command printed nothing",
                        "it must print the password or access token on standard output")
    return secret


class _XOAuth2(Command):
    """The AUTHENTICATE XOAUTH2 command, with the SASL initial response."""

    def __init__(self, protocol: aioimaplib.IMAP4ClientProtocol, initial: str) -> None:
        super().__init__("AUTHENTICATE", protocol.new_tag(), "XOAUTH2", initial, loop=protocol.loop)
        self._protocol = protocol
        self.challenge = ""

    def flush(self) -> None:
        # Called on a continuation: the server's error report, base64 JSON.
        if self.challenge or not self._resp_lines:
            return
        report = bytes(self._resp_lines[-1]).removeprefix(b"+").strip()
        try:
            self.challenge = base64.b64decode(report, validate=True).decode("utf-8", "replace")
        except (ValueError, binascii.Error):
            self.challenge = report.decode("ascii", "replace") or "refused"
        self._protocol.transport.write(b"\r\n")


def _connect_fault(exc: Exception, settings: ImapSettings) -> ImapFault:
    """What went wrong before the server's greeting, in the operator's terms."""
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, socket.gaierror):
        return ImapFault("dns", f"cannot find the IMAP server {settings.host}: {exc.strerror}",
                         "check [imap] host and the machine's DNS")
    if isinstance(exc, ssl.SSLError):
        return ImapFault(
            "tls", f"TLS with {where} failed: {exc.reason or exc}",
            "check [imap] security (\"tls\" for port 993, \"starttls\" for 143) and the"
            " server's certificate",
        )
    if isinstance(exc, (OSError, asyncio.TimeoutError)):
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        return ImapFault("connect", f"cannot connect to {where}: {reason}",
                         "check [imap] host and port, and that the server is up")
    return ImapFault("server", f"{where} did not greet as an IMAP server: {exc!r}",
                     "check [imap] host and port")


@dataclass(frozen=True)
class Selected:
    """A mailbox opened for reading: its UIDVALIDITY and how many messages it holds."""

    name: str
    uidvalidity: int
    exists: int


class Mailbox:
    """A logged-in connection; use ``Mailbox.open``."""

    def __init__(self, client: aioimaplib.IMAP4, settings: ImapSettings, lost: asyncio.Event) -> None:
        self._client = client
        self._settings = settings
        self.lost = lost

    # -- connecting -------------------------------------------------------

    @classmethod
    async def open(cls, settings: ImapSettings) -> Mailbox:
        lost = asyncio.Event()
        where = f"{settings.host}:{settings.port}"
        context = ssl.create_default_context() if settings.security != "none" else None
        client = aioimaplib.IMAP4(
            host=settings.host,
            port=settings.port,
            timeout=settings.timeout,
            conn_lost_cb=lambda exc: lost.set(),
            ssl_context=context if settings.security == "tls" else None,
        )
        mailbox = cls(client, settings, lost)
        try:
            await client.wait_hello_from_server()
        except Exception as exc:
            await mailbox.close()
            raise _connect_fault(exc, settings) from exc
        if settings.security == "starttls":
            await mailbox._starttls(context, where)
        await mailbox._login(where)
        return mailbox

    async def _starttls(self, context: ssl.SSLContext | None, where: str) -> None:
        protocol = self._client.protocol
        if "STARTTLS" not in protocol.capabilities:
            await self.close()
            raise ImapFault("tls", f"{where} does not offer STARTTLS",
                            "use [imap] security = \"tls\" (port 993) or ask the provider")
        try:
            response = await asyncio.wait_for(
                protocol.execute(Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)),
                self._settings.timeout,
            )
            if response.result != "OK":
                raise ImapFault("tls", f"{where} refused STARTTLS: {_text(response)}", "")
            loop = asyncio.get_running_loop()
            transport = await loop.start_tls(
                protocol.transport, protocol, context, server_hostname=self._settings.host
            )
            protocol.transport = transport
            await asyncio.wait_for(protocol.capability(), self._settings.timeout)
        except ssl.SSLError as exc:
            await self.close()
            raise ImapFault("tls", f"TLS with {where} failed: {exc.reason or exc}",
                            "check the server's certificate") from exc
        except (OSError, asyncio.TimeoutError, aioimaplib.AioImapException) as exc:
            await self.close()
            raise ImapFault("tls", f"STARTTLS with {where} failed: {exc!r}", "") from exc

    async def _login(self, where: str) -> None:
        settings = self._settings
        try:
            secret = await read_secret(settings)
        except ImapFault:
            await self.close()
            raise
        try:
            if settings.auth == "xoauth2":
                response = await self._xoauth2(settings.username, secret)
            else:
                response = await self._client.login(settings.username, secret)
        except (OSError, asyncio.TimeoutError, aioimaplib.AioImapException) as exc:
            await self.close()
            raise ImapFault("lost", f"the connection to {where} broke during login: {exc!r}",
                            "") from exc
        if response.result != "OK":
            await self.close()
            what = "password" if settings.auth == "login" else "OAuth2 access token"
            raise ImapFault(
                "login", f"{where} refused the login of {settings.username}: {_text(response)}",
                f"check [imap] username and the {what} ([imap] password or password_command);"
                " hosted mail usually wants an app password or OAuth2",
            )
        # Servers list more after login (MOVE, UIDPLUS); LOGIN's answer usually
        # carries them, AUTHENTICATE's need not.
        if settings.auth == "xoauth2" or "MOVE" not in self.capabilities:
            await self._command(self._client.protocol.capability())

    async def _xoauth2(self, username: str, token: str) -> aioimaplib.Response:
        """AUTHENTICATE XOAUTH2, answering the server's error challenge.

        A server that refuses the token sends a continuation with an error
        report and waits for an empty answer before its NO (Google's and
        Microsoft's XOAUTH2 both do); aioimaplib's own call would wait there
        until it timed out.
        """
        protocol = self._client.protocol
        initial = base64.b64encode(f"user={username}\x01auth=Bearer {token}\x01\x01".encode()).decode()
        command = _XOAuth2(protocol, initial)
        response = await asyncio.wait_for(protocol.execute(command, scrub=initial), self._settings.timeout)
        if response.result == "OK":
            protocol.state = aioimaplib.AUTH
        elif command.challenge:
            return aioimaplib.Response(response.result, [*response.lines[:-1],
                                       f"{_text(response)} ({command.challenge})".encode()])
        return response

    @property
    def capabilities(self) -> set[str]:
        return set(self._client.protocol.capabilities)

    async def close(self) -> None:
        """Log out politely if possible; always drop the connection."""
        client = self._client
        try:
            if not self.lost.is_set() and client.get_state() in ("AUTH", "SELECTED"):
                if client.has_pending_idle():
                    client.idle_done()  # stopped in the middle of IDLE: end it first
                await asyncio.wait_for(client.logout(), min(self._settings.timeout, 5))
        except (OSError, asyncio.TimeoutError, aioimaplib.AioImapException):
            pass
        transport = client.protocol.transport
        if transport is not None:
            transport.close()

    # -- commands ---------------------------------------------------------

    async def _command(self, awaitable: Awaitable[aioimaplib.Response]) -> aioimaplib.Response:
        """Run one command; a broken or silent connection becomes an ``ImapFault``."""
        if self.lost.is_set():
            getattr(awaitable, "close", lambda: None)()
            raise ImapFault("lost", "the connection to the IMAP server was closed", "")
        try:
            return await asyncio.wait_for(awaitable, self._settings.timeout)
        except (asyncio.TimeoutError, aioimaplib.CommandTimeout) as exc:
            raise ImapFault("timeout", f"the IMAP server did not answer within"
                            f" {self._settings.timeout:g} s", "") from exc
        except (OSError, aioimaplib.AioImapException) as exc:
            raise ImapFault("lost", f"the IMAP connection failed: {exc!r}", "") from exc

    async def list_mailboxes(self) -> list[str]:
        response = await self._command(self._client.list('""', '"*"'))
        if response.result != "OK":
            raise ImapFault("server", f"LIST failed: {_text(response)}", "")
        names = []
        for line in response.lines[:-1]:
            match = _LIST.match(bytes(line))
            if match and b"\\Noselect" not in match.group("flags"):
                names.append(_unquote(match.group("name")))
        return names

    async def create(self, name: str) -> None:
        response = await self._command(self._client.create(quoted(name)))
        if response.result != "OK" and b"ALREADYEXISTS" not in b" ".join(map(bytes, response.lines)):
            raise ImapFault("mailbox", f"cannot create the mailbox {name!r}: {_text(response)}",
                            "create it by hand, or name an existing one in [imap]")

    async def count(self, name: str) -> int:
        response = await self._command(self._client.status(quoted(name), "(MESSAGES)"))
        if response.result != "OK":
            raise ImapFault("mailbox", f"cannot read the mailbox {name!r}: {_text(response)}", "")
        for line in response.lines:
            match = _STATUS_MESSAGES.search(bytes(line))
            if match:
                return int(match.group(1))
        return 0

    async def select(self, name: str) -> Selected:
        response = await self._command(self._client.select(quoted(name)))
        if response.result != "OK":
            raise ImapFault("mailbox", f"cannot open the mailbox {name!r}: {_text(response)}",
                            "check [imap] mailbox (was it renamed or deleted?)")
        uidvalidity, exists = 0, 0
        for line in response.lines:
            line = bytes(line)
            match = _UIDVALIDITY.search(line)
            if match:
                uidvalidity = int(match.group(1))
            elif line.endswith(b" EXISTS"):
                exists = int(line.split()[0])
        return Selected(name, uidvalidity, exists)

    async def uids(self) -> list[int]:
        """Every message's UID in the selected mailbox, oldest first."""
        response = await self._command(self._client.uid_search("ALL", charset=None))
        if response.result != "OK":
            raise ImapFault("server", f"UID SEARCH failed: {_text(response)}", "")
        found: list[int] = []
        for line in response.lines[:-1]:
            line = bytes(line)
            if line.startswith(b"SEARCH"):
                line = line[len(b"SEARCH"):]
            found.extend(int(word) for word in line.split() if word.isdigit())
        return sorted(set(found))

    async def sizes(self, uids: list[int]) -> dict[int, int]:
        response = await self._command(self._client.uid("fetch", uid_set(uids), "(UID RFC822.SIZE)"))
        if response.result != "OK":
            raise ImapFault("server", f"UID FETCH failed: {_text(response)}", "")
        sizes: dict[int, int] = {}
        for line in response.lines:
            if isinstance(line, bytes) and _FETCH_START.match(line):
                uid, size = _UID.search(line), _SIZE.search(line)
                if uid and size:
                    sizes[int(uid.group(1))] = int(size.group(1))
        return sizes

    async def bodies(self, uids: list[int]) -> dict[int, bytes]:
        """The raw messages, without setting \\Seen (BODY.PEEK)."""
        response = await self._command(self._client.uid("fetch", uid_set(uids), "(UID BODY.PEEK[])"))
        if response.result != "OK":
            raise ImapFault("server", f"UID FETCH failed: {_text(response)}", "")
        bodies: dict[int, bytes] = {}
        uid: int | None = None
        literal: bytes | None = None

        def settle() -> None:
            if uid is not None and literal is not None:
                bodies[uid] = literal

        for line in response.lines:
            if isinstance(line, bytearray):
                literal = bytes(line)
                continue
            if _FETCH_START.match(line):
                settle()
                uid, literal = None, None
            match = _UID.search(line)
            if match and uid is None:
                uid = int(match.group(1))
        settle()
        return bodies

    async def move(self, uids: list[int], target: str) -> None:
        """UID MOVE, or COPY + \\Deleted + UID EXPUNGE where MOVE is not offered."""
        where = uid_set(uids)
        if "MOVE" in self.capabilities:
            response = await self._command(self._client.uid("move", where, quoted(target)))
            if response.result != "OK":
                raise ImapFault("mailbox", f"cannot move messages to {target!r}: {_text(response)}",
                                "check that the mailbox exists and may be written")
            return
        response = await self._command(self._client.uid("copy", where, quoted(target)))
        if response.result != "OK":
            raise ImapFault("mailbox", f"cannot copy messages to {target!r}: {_text(response)}",
                            "check that the mailbox exists and may be written")
        response = await self._command(self._client.uid("store", where, "+FLAGS.SILENT", r"(\Deleted)"))
        if response.result != "OK":
            raise ImapFault("server", f"cannot mark moved messages deleted: {_text(response)}", "")
        if "UIDPLUS" in self.capabilities:
            response = await self._command(self._client.uid("expunge", where))
        else:
            # Without UIDPLUS, EXPUNGE also removes anything else marked \Deleted.
            response = await self._command(self._client.expunge())
        if response.result != "OK":
            raise ImapFault("server", f"EXPUNGE failed: {_text(response)}", "")

    async def wait_for_news(self, seconds: float) -> bool:
        """IDLE until the server reports something, or *seconds* pass; True when it did."""
        client = self._client
        queue = client.protocol.idle_queue
        while not queue.empty():
            queue.get_nowait()  # reports from before this IDLE
        try:
            idle = await asyncio.wait_for(client.idle_start(timeout=seconds), self._settings.timeout)
        except (asyncio.TimeoutError, OSError, aioimaplib.AioImapException) as exc:
            raise ImapFault("server", f"IDLE failed: {exc!r}", "") from exc
        lost = asyncio.ensure_future(self.lost.wait())
        push = asyncio.ensure_future(client.wait_server_push(seconds + self._settings.timeout))
        try:
            done, _ = await asyncio.wait({lost, push}, return_when=asyncio.FIRST_COMPLETED)
            if lost in done:
                raise ImapFault("lost", "the IMAP connection was cut during IDLE", "")
            try:
                lines = push.result()
            except asyncio.TimeoutError:
                lines = aioimaplib.STOP_WAIT_SERVER_PUSH
            news = lines != aioimaplib.STOP_WAIT_SERVER_PUSH
            if news and any(bytes(line).startswith(b"BYE") for line in lines):
                raise ImapFault("lost", "the IMAP server closed the connection during IDLE: "
                                + bytes(lines[0]).decode("utf-8", "replace"), "")
            if client.has_pending_idle():
                client.idle_done()
            done, _ = await asyncio.wait({idle, lost}, timeout=self._settings.timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            if idle not in done:
                raise ImapFault("lost", "the IMAP server did not end IDLE", "")
            if idle.exception() is not None:
                raise ImapFault("lost", f"IDLE failed: {idle.exception()!r}", "")
            return news
        finally:
            for task in (lost, push, idle):
                task.cancel()

    @property
    def offers_idle(self) -> bool:
        return "IDLE" in self.capabilities


def fault_of(exc: BaseException) -> ImapFault:
    """Any failure of a session as an ``ImapFault`` (for logs and health)."""
    if isinstance(exc, ImapFault):
        return exc
    return ImapFault("server", f"unexpected IMAP failure: {exc!r}", "")


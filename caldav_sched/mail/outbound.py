"""Sending a rendered message: the transports behind the ``Mailer`` port.

``SmtpMailer`` talks SMTP through aiosmtplib (plain, STARTTLS or implicit
TLS, optional AUTH, a timeout).  ``FileMailer`` is the embedded default: it
writes each message as an ``.eml`` file.  Both classify failures the way the
queue needs them: ``PermanentFailure`` (a 5xx: retrying cannot help) or
``TransientFailure`` (a 4xx, a refused or broken connection, a timeout).
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from caldav_sched.config import MailSettings, SmtpSettings
from caldav_sched.services.mailer import (
    Mailer,
    PermanentFailure,
    TransientFailure,
    UnreachableRecipient,
)

# What may stand in a MAIL FROM or RCPT TO path without SMTPUTF8 or quoting:
# printable ASCII without white space, angle brackets, quotes or backslashes.
_ENVELOPE = re.compile(r"^[!#-'*-9;=?-\[\]-~]+@[A-Za-z0-9.-]+$")


def envelope_address(address: str) -> str:
    """An address made safe for an SMTP command, or ``UnreachableRecipient``.

    The output boundary for SMTP commands: a CR, LF or other control
    character, a space or an angle bracket in a path would end the command
    or start another, so such an address is refused rather than sent.  A
    non-ASCII domain goes in its IDNA form.
    """
    local, at, domain = address.strip().removeprefix("mailto:").rpartition("@")
    if at and domain and not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            domain = ""
    candidate = f"{local}@{domain}"
    if not at or not local or not domain or not _ENVELOPE.match(candidate):
        raise UnreachableRecipient(f"not a mailable address: {address!r}")
    return candidate


class SmtpMailer:
    """Sends through an SMTP server; one connection per message."""

    reaches_recipients = True

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send(
        self, message: EmailMessage, *, sender: str, recipients: Sequence[str]
    ) -> str:
        s = self.settings
        sender = envelope_address(sender)
        recipients = [envelope_address(r) for r in recipients]
        try:
            errors, response = await aiosmtplib.send(
                message,
                sender=sender,
                recipients=recipients,
                hostname=s.host,
                port=s.port,
                username=s.username or None,
                password=s.password or None,
                use_tls=s.security == "tls",
                start_tls=True if s.security == "starttls" else False,
                timeout=s.timeout,
                tls_context=ssl.create_default_context() if s.security != "none" else None,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            reason = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            if all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"recipient refused: {reason}") from exc
            raise TransientFailure(f"recipient deferred: {reason}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            text = f"{exc.code} {exc.message}"
            if 500 <= exc.code < 600:
                raise PermanentFailure(f"SMTP server refused the message: {text}") from exc
            raise TransientFailure(f"SMTP server deferred the message: {text}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientFailure(
                f"cannot reach SMTP server {s.host}:{s.port}: {exc}"
            ) from exc
        return response


_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


class FileMailer:
    """Writes each message to ``<file_dir>/<message-id>.eml`` (atomic rename).

    Nothing is sent: the attendee's SCHEDULE-STATUS says so (5.2).
    """

    reaches_recipients = False

    def __init__(self, settings: MailSettings) -> None:
        self.folder = Path(settings.file_dir)

    async def send(
        self, message: EmailMessage, *, sender: str, recipients: Sequence[str]
    ) -> str:
        sender = envelope_address(sender)
        recipients = [envelope_address(r) for r in recipients]
        message_id = str(message.get("Message-ID", "")).strip("<>") or os.urandom(8).hex()
        name = _UNSAFE.sub("_", message_id) + ".eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = self.folder / f".{name}.tmp"
            data = (
                f"X-Envelope-From: <{sender}>\r\n"
                + "".join(f"X-Envelope-To: <{r}>\r\n" for r in recipients)
            ).encode("ascii") + message.as_bytes()
            temporary.write_bytes(data)
            os.replace(temporary, self.folder / name)
        except OSError as exc:
            raise TransientFailure(f"cannot write {self.folder / name}: {exc.strerror}") from exc
        return f"written to {self.folder / name}"


def mailer_for(mail: MailSettings, smtp: SmtpSettings) -> Mailer:
    if mail.transport == "smtp":
        return SmtpMailer(smtp)
    return FileMailer(mail)

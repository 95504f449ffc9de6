"""``caldav-sched imap check``: can the service read its mailbox?

Logs in with the configuration exactly as ``serve`` would, lists the
mailboxes, and counts the messages waiting.  A fault says which step failed
(DNS, connection, TLS, password command, login, missing mailbox) and what
to check; the CLI turns it into a non-zero exit status.
"""

from __future__ import annotations

from dataclasses import dataclass

from caldav_sched.config import ImapSettings
from caldav_sched.mail.mailbox import ImapFault, Mailbox


@dataclass(frozen=True)
class CheckReport:
    server: str
    security: str
    username: str
    capabilities: tuple[str, ...]
    mailboxes: tuple[str, ...]
    mailbox: str
    waiting: int
    # processed and failed folder -> its message count, None when it will be created
    folders: dict[str, int | None]


async def check(settings: ImapSettings) -> CheckReport:
    if not settings.host:
        raise ImapFault("config", "no IMAP mailbox is configured", "set [imap] host and username")
    mailbox = await Mailbox.open(settings)
    try:
        names = await mailbox.list_mailboxes()
        if settings.mailbox not in names and settings.mailbox.upper() != "INBOX":
            raise ImapFault(
                "mailbox", f"the mailbox {settings.mailbox!r} does not exist",
                f"check [imap] mailbox; there are: {', '.join(sorted(names))}",
            )
        waiting = await mailbox.count(settings.mailbox)
        folders: dict[str, int | None] = {}
        for name in (settings.processed_mailbox, settings.failed_mailbox):
            folders[name] = await mailbox.count(name) if name in names else None
        return CheckReport(
            server=f"{settings.host}:{settings.port}",
            security=settings.security,
            username=settings.username,
            capabilities=tuple(sorted(mailbox.capabilities)),
            mailboxes=tuple(names),
            mailbox=settings.mailbox,
            waiting=waiting,
            folders=folders,
        )
    finally:
        await mailbox.close()

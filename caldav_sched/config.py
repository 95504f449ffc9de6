"""Typed settings, read from one TOML file.

A leaf module: it imports only the exception root.  Every key lives in one
frozen dataclass with its default; ``config.example.toml`` mirrors these
defaults and a test keeps the two in step.  A wrong key or a wrong value stops
start-up with a ``ConfigError`` that names the key.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caldav_sched.errors import ConfigError

ENV_VAR = "CALDAV_SCHED_CONFIG"


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 5232
    base_path: str = ""
    trusted_proxies: tuple[str, ...] = ()
    realm: str = "caldav_sched"
    reader_connections: int = 2
    # Server processes on one port (SO_REUSEPORT); more than 1 needs PostgreSQL.
    processes: int = 1
    # Bind with SO_REUSEPORT, so other processes may listen on the same port.
    reuse_port: bool = False
    proxy_user_header: str = ""
    monitoring_clients: tuple[str, ...] = ("127.0.0.1", "::1")
    shutdown_timeout: float = 30.0
    event_loop: str = "uvloop"
    # Where people reach this server (for the RSVP links in invitations).
    public_url: str = ""
    rsvp_posts_per_minute: int = 10


@dataclass(frozen=True)
class StorageSettings:
    path: str = "./var/caldav_sched.sqlite3"
    cache_size_kib: int = 65536
    # postgresql://user@host:5432/db: PostgreSQL instead of the SQLite path.
    url: str = ""
    # A command printing the PostgreSQL password (else the URL's, or libpq's
    # PGPASSWORD / ~/.pgpass).
    password_command: str = ""


@dataclass(frozen=True)
class MailSettings:
    from_address: str = "calendar@localhost"
    transport: str = "file"
    file_dir: str = "./var/outbox-mail"
    # A reply token is refused once its event ended more than this many days ago.
    token_grace_days: int = 30


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    security: str = "none"
    username: str = ""
    password: str = ""
    timeout: float = 30.0


@dataclass(frozen=True)
class InboundSettings:
    lmtp_host: str = ""
    lmtp_port: int = 0
    lmtp_socket: str = ""
    trusted_authserv_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImapSettings:
    """The mailbox replies are read from, for hosted mail (no consumer while host is empty)."""

    host: str = ""
    port: int = 993
    security: str = "tls"
    username: str = ""
    password: str = ""
    # Run at each login; its standard output is the password or OAuth2 token.
    password_command: str = ""
    auth: str = "login"
    mailbox: str = "INBOX"
    processed_mailbox: str = "caldav-sched-processed"
    failed_mailbox: str = "caldav-sched-failed"
    idle: bool = True
    poll_interval: float = 60.0
    timeout: float = 30.0


@dataclass(frozen=True)
class QueueSettings:
    max_attempts: int = 8
    backoff_base: float = 30.0
    backoff_max: float = 3600.0
    workers: int = 2
    poll_interval: float = 1.0


@dataclass(frozen=True)
class LimitsSettings:
    max_resource_size: int = 1_048_576
    max_instances: int = 3000
    max_request_body: int = 10_485_760
    max_mail_size: int = 10_485_760


@dataclass(frozen=True)
class LogSettings:
    level: str = "info"
    format: str = "text"
    requests: bool = True
    # How long `serve` may keep INFO lines to write them together (0: at once).
    batch_seconds: float = 0.25


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    inbound: InboundSettings = field(default_factory=InboundSettings)
    imap: ImapSettings = field(default_factory=ImapSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    log: LogSettings = field(default_factory=LogSettings)


_CHOICES = {
    ("server", "event_loop"): ("uvloop", "asyncio"),
    ("mail", "transport"): ("smtp", "file"),
    ("smtp", "security"): ("none", "starttls", "tls"),
    ("imap", "security"): ("tls", "starttls", "none"),
    ("imap", "auth"): ("login", "xoauth2"),
    ("log", "level"): ("debug", "info", "warning", "error"),
    ("log", "format"): ("text", "json"),
}

# RFC 9110 5.1: a field name is a token.
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _coerce(table: str, key: str, value: Any, default: Any) -> Any:
    where = f"[{table}] {key}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        if value < 0:
            raise ConfigError(f"{where}: must not be negative, got {value}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if value < 0:
            raise ConfigError(f"{where}: must not be negative, got {value}")
        return float(value)
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        return tuple(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    choices = _CHOICES.get((table, key))
    if choices and value not in choices:
        raise ConfigError(f"{where}: must be one of {', '.join(choices)}, got {value!r}")
    return value


def _validate(settings: Settings) -> Settings:
    base = settings.server.base_path
    if base:
        # Braces would be read as route variables by aiohttp's router.
        if not base.startswith("/") or "//" in base or any(c in base for c in "?#% {}"):
            raise ConfigError(f"[server] base_path: must look like /prefix, got {base!r}")
        base = base.rstrip("/")
        settings = dataclasses.replace(
            settings, server=dataclasses.replace(settings.server, base_path=base)
        )
    for key in ("trusted_proxies", "monitoring_clients"):
        for network in getattr(settings.server, key):
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ConfigError(
                    f"[server] {key}: {network!r} is not an IP address or network"
                ) from exc
    header = settings.server.proxy_user_header
    if header and not set(header) <= _TOKEN_CHARS:
        raise ConfigError(f"[server] proxy_user_header: not a header name: {header!r}")
    if header and not settings.server.trusted_proxies:
        raise ConfigError(
            "[server] proxy_user_header: set trusted_proxies too; the header is taken only"
            " from a trusted proxy"
        )
    settings = _validate_public_url(settings)
    if not 0 < settings.server.port < 65536:
        raise ConfigError(f"[server] port: must be 1-65535, got {settings.server.port}")
    if settings.server.reader_connections < 1:
        raise ConfigError("[server] reader_connections: must be at least 1")
    if settings.server.processes < 1:
        raise ConfigError("[server] processes: must be at least 1")
    if settings.server.processes > 1 and not settings.storage.url:
        raise ConfigError(
            "[server] processes: more than 1 needs PostgreSQL ([storage] url); SQLite has one"
            " writer per file, so one process serves it (README, Scaling out)"
        )
    storage_url = settings.storage.url
    if storage_url and not storage_url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"[storage] url: must look like postgresql://user@host:5432/db, got {storage_url!r}"
        )
    if "@" not in settings.mail.from_address:
        raise ConfigError(
            f"[mail] from_address: not a mail address: {settings.mail.from_address!r}"
        )
    if settings.mail.token_grace_days < 0:
        raise ConfigError("[mail] token_grace_days: must be 0 or more")
    if settings.queue.max_attempts < 1:
        raise ConfigError("[queue] max_attempts: must be at least 1")
    if settings.queue.poll_interval <= 0:
        raise ConfigError("[queue] poll_interval: must be more than 0")
    if settings.limits.max_instances < 1:
        raise ConfigError("[limits] max_instances: must be at least 1")
    _validate_imap(settings.imap)
    return settings


def _validate_imap(imap: ImapSettings) -> None:
    if not imap.host:
        return
    if not 0 < imap.port < 65536:
        raise ConfigError(f"[imap] port: must be 1-65535, got {imap.port}")
    if not imap.username:
        raise ConfigError("[imap] username: needed when [imap] host is set")
    if imap.password and imap.password_command:
        raise ConfigError("[imap] password, password_command: set one of them, not both")
    for key in ("mailbox", "processed_mailbox", "failed_mailbox"):
        if not getattr(imap, key) or any(c in getattr(imap, key) for c in '\r\n"*%'):
            raise ConfigError(f"[imap] {key}: not a mailbox name: {getattr(imap, key)!r}")
        if not getattr(imap, key).isascii():
            raise ConfigError(f"[imap] {key}: only ASCII mailbox names are supported")
    if len({imap.mailbox, imap.processed_mailbox, imap.failed_mailbox}) < 3:
        raise ConfigError("[imap] mailbox, processed_mailbox and failed_mailbox must differ")
    if imap.poll_interval <= 0 or imap.timeout <= 0:
        raise ConfigError("[imap] poll_interval and timeout: must be more than 0")


def _validate_public_url(settings: Settings) -> Settings:
    """``[server] public_url``: an absolute http(s) URL, kept without a trailing slash."""
    url = settings.server.public_url
    if not url:
        return settings
    scheme, sep, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    if (
        not sep or scheme.lower() not in ("http", "https") or not host or "@" in host
        or any(c in url for c in "?#<>\"\\ ") or any(ord(c) < 33 for c in url)
    ):
        raise ConfigError(
            f"[server] public_url: must look like https://cal.example.com, got {url!r}"
        )
    return dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, public_url=url.rstrip("/"))
    )


def settings_from_dict(data: dict[str, Any]) -> Settings:
    """Build settings from parsed TOML, refusing unknown tables and keys."""
    defaults = Settings()
    tables: dict[str, Any] = {}
    for table_field in dataclasses.fields(Settings):
        tables[table_field.name] = getattr(defaults, table_field.name)
    unknown = sorted(set(data) - set(tables))
    if unknown:
        raise ConfigError(f"unknown table [{unknown[0]}] (known: {', '.join(tables)})")
    built: dict[str, Any] = {}
    for name, default_table in tables.items():
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"[{name}] must be a table")
        known = {f.name for f in dataclasses.fields(default_table)}
        extra = sorted(set(raw) - known)
        if extra:
            raise ConfigError(f"[{name}] {extra[0]}: unknown key (known: {', '.join(sorted(known))})")
        values = {
            key: _coerce(name, key, value, getattr(default_table, key))
            for key, value in raw.items()
        }
        built[name] = dataclasses.replace(default_table, **values)
    return _validate(Settings(**built))


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read the TOML file at *path*, else ``$CALDAV_SCHED_CONFIG``, else defaults."""
    if path is None:
        path = os.environ.get(ENV_VAR) or None
    if path is None:
        return _validate(Settings())
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    try:
        return settings_from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from exc

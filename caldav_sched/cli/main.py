"""Entry point of ``caldav-sched``: the sub-commands and their exit codes.

Exit codes: 0 success, 1 the operation was refused or failed (with a one-line
message on stderr), 2 a usage error, 141 when standard output was closed
early (``| head``): the output stops quietly.  ``ingest`` speaks sysexits to
a mail system instead (65, 75).  No traceback reaches the operator for an
expected failure.

The commands that set up an install create the database when there is
none and say so (``serve``, ``migrate``, ``user add``); every other command
refuses to run without one (``ingest`` asks the mail system to try again
later), so a command run from the wrong directory (the default path is
relative) says so instead of working on a new, empty database.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from caldav_sched import __version__
from caldav_sched.config import Settings, load_settings
from caldav_sched.errors import CaldavSchedError
from caldav_sched.logging_setup import configure_logging
from caldav_sched.services import Services
from caldav_sched.services import events as event_service
from caldav_sched.services import inbound as inbound_service
from caldav_sched.services import queue_admin
from caldav_sched.services import users as user_service
from caldav_sched.store.backend import make_database
from caldav_sched.store.migrate import migrate

log = logging.getLogger("caldav_sched")


class CommandError(CaldavSchedError):
    """The command could not be carried out."""


class NoDatabase(CommandError):
    """There is no database at the configured path."""


# 128 + SIGPIPE, what a shell reports for a tool that a closed pipe stopped.
EXIT_CLOSED_PIPE = 141


def database_file(settings: Settings) -> Path:
    """The database file as an absolute path (the default one is relative)."""
    return Path(settings.storage.path).absolute()


def require_database(settings: Settings) -> None:
    """Refuse to go on where there is no database (no silent new, empty one)."""
    if settings.storage.url:
        return  # PostgreSQL: the server answers, or opening says why not
    path = database_file(settings)
    if not path.is_file():
        raise NoDatabase(
            f"no database at {path} ([storage] path); run the command where `serve` runs,"
            " or give --config; `caldav-sched migrate` creates a new database there"
        )


def announce_new_database(settings: Settings) -> None:
    """Say on stderr that this command is about to create the database."""
    path = database_file(settings)
    if not settings.storage.url and not path.exists():
        print(f"caldav-sched: no database at {path} ([storage] path): creating a new one",
              file=sys.stderr)


@asynccontextmanager
async def open_services(settings: Settings, *, create: bool = False) -> AsyncIterator[Services]:
    """The services on the configured database; without *create*, it must exist."""
    if create:
        announce_new_database(settings)
    else:
        require_database(settings)
    db = make_database(settings.storage, readers=1)
    await db.open()
    try:
        await migrate(db)
        yield Services(db=db, settings=settings)
    finally:
        await db.close()


def _cell(value: Any) -> str:
    """A table cell: ``-`` for a value that is not there."""
    return "-" if value is None or value == "" else str(value)


def shorten(text: str | None, width: int) -> str:
    """*text* cut to at most *width* characters at a word boundary, marked ``...``."""
    text = " ".join((text or "").split())
    if len(text) <= width:
        return text
    cut = text[: width - 3]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "..."


def _print_table(rows: list[dict[str, Any]], columns: Sequence[str], indent: str = "") -> None:
    """Plain aligned columns under an upper-case header; ``-`` for an empty cell,
    ``(none)`` when there are no rows."""
    if not rows:
        print(indent + "(none)")
        return
    cells = [{c: _cell(r.get(c)) for c in columns} for r in rows]
    widths = {c: max(len(c), *(len(r[c]) for r in cells)) for c in columns}
    print(indent + "  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in cells:
        print(indent + "  ".join(row[c].ljust(widths[c]) for c in columns).rstrip())


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("the passwords differ")
    else:
        raise CommandError("no terminal to ask for a password: use --password-stdin")
    if not password:
        raise CommandError("the password must not be empty")
    return password


# -- sub-commands --------------------------------------------------------------


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from caldav_sched.daemon import serve

    return serve(settings)


async def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    announce_new_database(settings)
    db = make_database(settings.storage, readers=1)
    await db.open()
    try:
        applied = await migrate(db)
    finally:
        await db.close()
    if args.json:
        print(json.dumps({"applied": applied}))
    elif applied:
        print("applied: " + ", ".join(applied))
    else:
        print("the database is up to date")
    return 0


async def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from caldav_sched.store.backup import backup

    if settings.storage.url:
        raise CommandError(
            "backup copies a SQLite file; back up PostgreSQL with pg_dump (README, Scaling out)"
        )
    require_database(settings)
    pages = await backup(settings.storage.path, args.destination)
    if args.json:
        print(json.dumps({"destination": args.destination, "pages": pages}))
    else:
        print(f"copied {settings.storage.path} to {args.destination} ({pages} pages)")
    return 0


async def cmd_storage_copy(settings: Settings, args: argparse.Namespace) -> int:
    """The whole installation into a new, empty database (SQLite <-> PostgreSQL)."""
    import dataclasses

    from caldav_sched.store.backend import describe
    from caldav_sched.store.copy import copy_installation

    require_database(settings)
    target = args.to
    if target.startswith(("postgresql://", "postgres://")):
        storage = dataclasses.replace(settings.storage, url=target, password_command="")
    else:
        path = target.removeprefix("sqlite://")
        if Path(path).exists() and Path(path).stat().st_size > 0:
            raise CommandError(f"{Path(path).absolute()} exists; name a new file")
        storage = dataclasses.replace(settings.storage, url="", path=path)
    if describe(storage) == describe(settings.storage):
        raise CommandError("the target is the configured database itself")
    on_terminal = sys.stderr.isatty() and not args.json

    def progress(table: str, done: int, total: int) -> None:
        if on_terminal:
            end = "\n" if done >= total else ""
            print(f"\r{table}: {done}/{total}", end=end, file=sys.stderr, flush=True)

    source = make_database(settings.storage, readers=1)
    await source.open()
    try:
        await migrate(source)
        copy = make_database(storage, readers=1)
        await copy.open()
        try:
            await migrate(copy)
            totals = await copy_installation(source, copy, progress)
        finally:
            await copy.close()
    finally:
        await source.close()
    if args.json:
        print(json.dumps({"to": describe(storage), "rows": totals}))
    else:
        rows = ", ".join(f"{n} {table}" for table, n in totals.items() if n)
        print(f"copied {describe(settings.storage)} to {describe(storage)} ({rows or 'no rows'})")
    return 0


async def cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    password = _read_password(args) if args.password_stdin or sys.stdin.isatty() else None
    async with open_services(settings, create=True) as services:
        created = await user_service.add_user(services, args.name, args.email, password)
    base = settings.server.base_path
    home = f"{base}/home/{created.user.name}/calendar/"
    if args.json:
        print(json.dumps({"name": created.user.name, "email": created.user.email, "home": home}))
    else:
        print(f"created user {created.user.name} <{created.user.email}>; calendar home {home}")
        if password is None:
            print("no password set: the user cannot log in until `user passwd` sets one")
    return 0


async def cmd_user_list(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services:
        users = await user_service.list_users(services)
    rows = [
        {
            "name": u.name,
            "email": u.email,
            "disabled": u.disabled,
            "has_password": bool(u.password_hash),
            "also_email": u.also_email,
            "created": u.created_at,
        }
        for u in users
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            row["state"] = "disabled" if row["disabled"] else (
                "active" if row["has_password"] else "no password"
            )
        _print_table(rows, ("name", "email", "state", "created"))
    return 0


async def cmd_user_passwd(settings: Settings, args: argparse.Namespace) -> int:
    password = _read_password(args)
    async with open_services(settings) as services:
        await user_service.set_password(services, args.name, password)
    print(f"password of {args.name} changed")
    return 0


async def cmd_user_set(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services:
        await user_service.set_also_email(services, args.name, args.also_email == "on")
    print(f"{args.name}: invitations also by mail {args.also_email}")
    return 0


async def cmd_user_disable(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services:
        await user_service.set_disabled(services, args.name, not args.enable)
    print(f"{args.name} is now {'enabled' if args.enable else 'disabled'}")
    return 0


async def cmd_queue_list(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services:
        jobs = await queue_admin.list_jobs(services, args.state)
    rows = [
        {
            "id": j.id,
            "kind": j.kind,
            "state": j.state,
            "attempts": j.attempts,
            "uid": j.uid,
            "method": j.payload.get("method"),
            "recipient": str(j.payload.get("recipient", "")).removeprefix("mailto:"),
            "next_attempt": datetime.fromtimestamp(j.run_after, timezone.utc).isoformat(
                timespec="seconds"
            )
            if j.state in ("pending", "retrying")
            else None,
            "last_error": j.last_error,
            "created": j.created_at,
            "updated": j.updated_at,
        }
        for j in jobs
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            row["last_error"] = shorten(row["last_error"], 70)
        _print_table(
            rows,
            ("id", "kind", "state", "attempts", "method", "recipient", "uid", "next_attempt",
             "last_error"),
        )
    return 0


async def cmd_queue_retry(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services:
        if args.failed:
            count = await queue_admin.retry_failed(services)
            print(f"{count} failed job(s) queued again")
        else:
            await queue_admin.retry_job(services, args.id)
            print(f"job {args.id} queued again")
    return 0


async def cmd_queue_purge(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services:
        count = await queue_admin.purge_done(services)
    print(f"{count} done job(s) removed")
    return 0


# Exit codes of `ingest` as a mail system's pipe transport reads them
# (sysexits.h): taken, not mail at all, try again later.
EX_OK, EX_DATAERR, EX_TEMPFAIL = 0, 65, 75


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    from caldav_sched.queue.worker import holder_name
    from caldav_sched.services.errors import InvalidInput
    from caldav_sched.store.errors import StoreError

    try:
        if args.file in (None, "-"):
            raw = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as handle:
                raw = handle.read()
    except OSError as exc:
        print(f"caldav-sched: error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EX_TEMPFAIL

    async def run() -> tuple[int, Any]:
        async with open_services(settings) as services:
            return await inbound_service.ingest(services, raw, worker=holder_name())

    try:
        message_id, verdict = asyncio.run(run())
    except InvalidInput as exc:
        print(f"caldav-sched: not taken: {exc}", file=sys.stderr)
        return EX_DATAERR
    except (NoDatabase, StoreError, OSError) as exc:
        print(f"caldav-sched: try again later: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    if args.json:
        print(json.dumps({"id": message_id, "state": verdict.state, "reason": verdict.reason,
                          "uid": verdict.uid, "attendee": verdict.attendee}))
    else:
        print(f"message #{message_id} {verdict.state}: {verdict.reason}")
    return EX_OK


async def cmd_inbound_list(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services:
        rows = await inbound_service.list_messages(services, args.state)
    data = [
        {
            "id": r.id,
            "received": r.received_at,
            "via": r.via,
            "state": r.state,
            "method": r.method,
            "uid": r.uid,
            "attendee": r.attendee,
            "message_id": r.message_id,
            "size": r.size,
            "reason": r.reason,
        }
        for r in rows
    ]
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for row in data:
            row["reason"] = shorten(row["reason"], 80)
        _print_table(data, ("id", "received", "state", "method", "attendee", "uid", "reason"))
    return 0


async def cmd_imap_check(settings: Settings, args: argparse.Namespace) -> int:
    from caldav_sched.mail.imap_check import check
    from caldav_sched.mail.mailbox import ImapFault

    try:
        report = await check(settings.imap)
    except ImapFault as exc:
        if args.json:
            print(json.dumps({"ok": False, "problem": exc.kind, "error": str(exc)}))
        print(f"caldav-sched: IMAP {exc.kind} problem: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"ok": True, **dataclasses.asdict(report)}, indent=2))
        return 0
    offered = [c for c in ("IDLE", "MOVE", "UIDPLUS") if c in report.capabilities]
    print(f"logged in to {report.server} ({report.security}) as {report.username};"
          f" the server offers {', '.join(offered) or 'neither IDLE nor MOVE'}")
    print("mailboxes: " + ", ".join(report.mailboxes))
    print(f"{report.mailbox}: {report.waiting} message(s) waiting")
    for name, count in report.folders.items():
        print(f"{name}: " + ("created at the first start of serve" if count is None
                             else f"{count} message(s)"))
    return 0


def _event_dict(event: Any) -> dict[str, Any]:
    facts = event.facts
    return {
        "uid": facts.uid,
        "owner": event.owner,
        "href": event.href,
        "etag": event.etag,
        "modified": event.modified_at,
        "summary": facts.summary,
        "start": facts.start,
        "sequence": facts.sequence,
        "organizer": facts.organizer,
        "attendees": [
            {
                "address": a.address,
                "name": a.name,
                "partstat": a.partstat,
                "schedule_status": a.schedule_status,
                "instance": a.instance,
            }
            for a in facts.attendees
        ],
    }


async def cmd_event_list(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services:
        events = await event_service.list_events(services, args.user)
    data = [_event_dict(e) for e in events]
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    rows = []
    for event in data:
        states = ", ".join(
            f"{a['address']}={a['partstat']}" for a in event["attendees"] if a["instance"] == "master"
        )
        rows.append({**event, "attendees": states, "summary": shorten(event["summary"], 40)})
    _print_table(rows, ("uid", "owner", "summary", "start", "organizer", "attendees"))
    return 0


async def cmd_event_show(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services:
        report = await event_service.show_event(services, args.uid)
    history = [
        {
            "time": h.created_at,
            "updated": h.updated_at,
            "direction": "sent" if h.direction == "out" else "received",
            "method": h.method,
            "peer": h.peer.removeprefix("mailto:"),
            "sequence": h.sequence,
            "state": h.state,
            "reason": h.reason,
            "detail": h.detail,
            "job": h.job_id,
        }
        for h in report.history
    ]
    if args.json:
        print(json.dumps({
            "copies": [_event_dict(c) for c in report.copies],
            "history": history,
            "jobs": [{"id": j.id, "state": j.state, "attempts": j.attempts,
                      "recipient": j.payload.get("recipient"), "last_error": j.last_error}
                     for j in report.jobs],
            "inbound": [{"id": m.id, "state": m.state, "reason": m.reason,
                         "attendee": m.attendee, "received": m.received_at}
                        for m in report.inbound],
        }, indent=2))
        return 0
    for copy in report.copies:
        facts = copy.facts
        print(f"{facts.component} {facts.uid}: {facts.summary or '(no summary)'}")
        print(f"  calendar  {copy.href} (owner {copy.owner})")
        print(f"  start     {facts.start or '-'}")
        print(f"  organizer {facts.organizer or '-'}")
        print(f"  sequence  {facts.sequence}")
        print(f"  etag      {copy.etag}   modified {copy.modified_at}")
        attendees = [
            {"attendee": a.address, "instance": a.instance, "partstat": a.partstat,
             "schedule_status": a.schedule_status or "-", "name": a.name or ""}
            for a in facts.attendees
        ]
        print("  attendees:")
        _print_table(
            attendees, ("attendee", "instance", "partstat", "schedule_status", "name"), indent="    "
        )
        print()
    print("iTIP history:")
    for row in history:
        row["peer"] = row["peer"] or "-"
        row["sequence"] = "-" if row["sequence"] is None else row["sequence"]
    _print_table(history, ("time", "direction", "method", "peer", "sequence", "state", "reason"))
    return 0


# -- parser ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        help="TOML configuration file (default: $CALDAV_SCHED_CONFIG, else built-in defaults)",
    )
    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")

    parser = argparse.ArgumentParser(
        prog="caldav-sched", description="CalDAV server with iTIP scheduling over email."
    )
    parser.add_argument("--version", action="version", version=f"caldav-sched {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", parents=[common], help="run the server")
    serve.set_defaults(func=cmd_serve, sync=True)

    mig = commands.add_parser("migrate", parents=[common, listing], help="apply pending migrations")
    mig.set_defaults(func=cmd_migrate)

    bkp = commands.add_parser(
        "backup", parents=[common, listing],
        help="write a consistent copy of the database (safe while serve runs)",
    )
    bkp.add_argument("destination", metavar="FILE", help="a new file for the copy")
    bkp.set_defaults(func=cmd_backup)

    storage = commands.add_parser("storage", help="the database itself").add_subparsers(
        dest="storage_command", metavar="ACTION", required=True
    )
    scopy = storage.add_parser(
        "copy", parents=[common, listing],
        help="copy the whole installation into a new, empty database (stop serve first)",
    )
    scopy.add_argument(
        "--to", required=True, metavar="URL|FILE",
        help="postgresql://user@host/db, or a new SQLite file",
    )
    scopy.set_defaults(func=cmd_storage_copy)

    user = commands.add_parser("user", help="manage users").add_subparsers(
        dest="user_command", metavar="ACTION", required=True
    )
    add = user.add_parser("add", parents=[common, listing], help="create a user and their calendars")
    add.add_argument("name")
    add.add_argument("--email", required=True, help="the user's calendar address")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(func=cmd_user_add)
    lst = user.add_parser("list", parents=[common, listing], help="list users")
    lst.set_defaults(func=cmd_user_list)
    passwd = user.add_parser("passwd", parents=[common], help="set a user's password")
    passwd.add_argument("name")
    passwd.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    passwd.set_defaults(func=cmd_user_passwd)
    disable = user.add_parser("disable", parents=[common], help="stop a user from logging in")
    disable.add_argument("name")
    disable.add_argument("--enable", action="store_true", help="enable the user again")
    disable.set_defaults(func=cmd_user_disable)
    setting = user.add_parser("set", parents=[common], help="change a user's settings")
    setting.add_argument("name")
    setting.add_argument(
        "--also-email",
        choices=("on", "off"),
        required=True,
        help="also mail invitations that are delivered to the user's calendar here",
    )
    setting.set_defaults(func=cmd_user_set)

    queue = commands.add_parser("queue", help="inspect and steer the mail queue").add_subparsers(
        dest="queue_command", metavar="ACTION", required=True
    )
    qlist = queue.add_parser("list", parents=[common, listing], help="list jobs, newest first")
    qlist.add_argument(
        "--state", choices=("pending", "running", "retrying", "done", "failed"),
        help="only jobs in this state",
    )
    qlist.set_defaults(func=cmd_queue_list)
    qretry = queue.add_parser("retry", parents=[common], help="queue failed jobs again")
    which = qretry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int, help="the job to retry")
    which.add_argument("--failed", action="store_true", help="retry every failed job")
    qretry.set_defaults(func=cmd_queue_retry)
    qpurge = queue.add_parser("purge", parents=[common], help="remove finished jobs")
    qpurge.add_argument(
        "--done", action="store_true", required=True, help="remove jobs that are done"
    )
    qpurge.set_defaults(func=cmd_queue_purge)

    ingest = commands.add_parser(
        "ingest", parents=[common, listing],
        help="take one inbound message (as a pipe transport hands it over)",
    )
    ingest.add_argument("file", nargs="?", metavar="FILE|-", help="the message (default: stdin)")
    ingest.set_defaults(func=cmd_ingest, sync=True)

    inbound = commands.add_parser("inbound", help="received mail").add_subparsers(
        dest="inbound_command", metavar="ACTION", required=True
    )
    ilist = inbound.add_parser("list", parents=[common, listing], help="received messages, newest first")
    ilist.add_argument("--state", choices=("received", "applied", "refused"))
    ilist.set_defaults(func=cmd_inbound_list)

    imap = commands.add_parser("imap", help="the mailbox replies are read from").add_subparsers(
        dest="imap_command", metavar="ACTION", required=True
    )
    icheck = imap.add_parser(
        "check", parents=[common, listing],
        help="log in with [imap], list the mailboxes, count the messages waiting",
    )
    icheck.set_defaults(func=cmd_imap_check)

    event = commands.add_parser("event", help="events and their scheduling").add_subparsers(
        dest="event_command", metavar="ACTION", required=True
    )
    elist = event.add_parser("list", parents=[common, listing], help="events in users' calendars")
    elist.add_argument("--user", help="only this user's calendars")
    elist.set_defaults(func=cmd_event_list)
    eshow = event.add_parser(
        "show", parents=[common, listing],
        help="an event's attendees, SEQUENCE, ETag and iTIP history",
    )
    eshow.add_argument("uid")
    eshow.set_defaults(func=cmd_event_show)
    return parser


def _stdout_gone() -> int:
    """Standard output was closed early (``| head``): stop quietly.

    Python's advice for SIGPIPE: point stdout at /dev/null, so that the
    flush at exit does not complain a second time.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_CLOSED_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (2), --help and --version (0)
        return int(exc.code or 0)
    try:
        settings = load_settings(args.config)
        configure_logging(settings.log)
        if getattr(args, "sync", False):
            code = int(args.func(settings, args))
        else:
            code = int(asyncio.run(args.func(settings, args)))
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _stdout_gone()
    except CaldavSchedError as exc:
        print(f"caldav-sched: error: {exc}", file=sys.stderr)
        # A pipe transport must not bounce mail for a configuration it can fix.
        return EX_TEMPFAIL if args.command == "ingest" else 1
    except KeyboardInterrupt:
        return 130

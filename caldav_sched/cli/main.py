"""Entry point of ``caldav-sched``: the sub-commands and their exit codes.

Exit codes: 0 success, 1 the operation was refused or failed (with a one-line
message on stderr), 2 a usage error.  No traceback reaches the operator for
an expected failure.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any

from caldav_sched import __version__
from caldav_sched.config import Settings, load_settings
from caldav_sched.errors import CaldavSchedError
from caldav_sched.services import Services
from caldav_sched.services import queue_admin
from caldav_sched.services import users as user_service
from caldav_sched.store.db import Database
from caldav_sched.store.migrate import migrate

log = logging.getLogger("caldav_sched")


class CommandError(CaldavSchedError):
    """The command could not be carried out."""


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    db = Database(settings.storage.path, readers=1, cache_kib=settings.storage.cache_size_kib)
    await db.open()
    try:
        await migrate(db)
        yield Services(db=db, settings=settings)
    finally:
        await db.close()


def _print_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns).rstrip())


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
    db = Database(settings.storage.path, readers=1)
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


async def cmd_user_add(settings: Settings, args: argparse.Namespace) -> int:
    password = _read_password(args) if args.password_stdin or sys.stdin.isatty() else None
    async with open_services(settings) as services:
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
            row["next_attempt"] = row["next_attempt"] or ""
            row["last_error"] = (row["last_error"] or "")[:70]
        _print_table(
            rows,
            ("id", "state", "attempts", "method", "recipient", "uid", "next_attempt", "last_error"),
        )
    return 0


async def cmd_queue_retry(settings: Settings, args: argparse.Namespace) -> int:
    if args.failed == (args.id is not None):
        raise CommandError("name one job ID, or --failed for every failed job")
    async with open_services(settings) as services:
        if args.failed:
            count = await queue_admin.retry_failed(services)
            print(f"{count} failed job(s) queued again")
        else:
            await queue_admin.retry_job(services, args.id)
            print(f"job {args.id} queued again")
    return 0


async def cmd_queue_purge(settings: Settings, args: argparse.Namespace) -> int:
    if not args.done:
        raise CommandError("say what to purge: --done")
    async with open_services(settings) as services:
        count = await queue_admin.purge_done(services)
    print(f"{count} done job(s) removed")
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
    qretry.add_argument("id", nargs="?", type=int, help="the job to retry")
    qretry.add_argument("--failed", action="store_true", help="retry every failed job")
    qretry.set_defaults(func=cmd_queue_retry)
    qpurge = queue.add_parser("purge", parents=[common], help="remove finished jobs")
    qpurge.add_argument("--done", action="store_true", help="remove jobs that are done")
    qpurge.set_defaults(func=cmd_queue_purge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(args.config)
        if getattr(args, "sync", False):
            return int(args.func(settings, args))
        return int(asyncio.run(args.func(settings, args)))
    except CaldavSchedError as exc:
        print(f"caldav-sched: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130

"""python-caldav's server checker (caldav-server-tester) against the real server.

The tester runs in a subprocess of this interpreter, against the ``server``
fixture on a loopback socket, with alice as its main user and bob and carol as
the extra users of its multi-user (scheduling) checks.  Its JSON report is
compact (a subtree whose features are all "full" is left out), so each
feature's level is read back through ``caldav.compatibility_hints.FeatureSet``,
which resolves a feature from its nearest reported ancestor.

Every feature the tester declares is asserted against ``EXPECTED``: a feature
that drops below "full" fails as a regression, and any other change (an
improvement too, e.g. when RFC 6638 scheduling lands) fails until the table is
updated, so nothing changes unnoticed.

The run takes about half a minute: the tester polls bob's schedule inbox for
30 s before it concludes that inbox delivery (not implemented yet) is missing.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from caldav_sched.config import Settings
from tests.conftest import PASSWORD, USERS, ServerThread, make_settings

TESTER_VERSION = importlib.metadata.version("caldav-server-tester")

# The tester calls /.well-known/caldav "not applicable" on a host named
# localhost or 127.0.0.1, so the server listens on another loopback address
# when the system has one (Linux routes all of 127.0.0.0/8 to lo).
LOOPBACK_ALIAS = "127.0.0.2"

# Feature -> support level reported by caldav-server-tester 1.7.0.
EXPECTED: dict[str, str] = {
    # discovery, principal, authentication
    "well-known": "full",
    "get-current-user-principal": "full",
    "auth.www-authenticate": "full",
    "auth.www-authenticate.usable-scheme": "full",
    "principal-search": "full",
    "principal-search.by-name.self": "full",
    "principal-search.list-all": "full",
    "propfind": "full",
    "propfind.allprop": "full",
    "propfind.allprop.resourcetype": "full",
    "propfind.displayname": "full",
    "propfind.principal-depth-1": "full",
    # calendar collections and their properties
    "create-calendar": "full",
    # RFC 4791 5.3.2: a PUT into a missing collection is 409, not a new calendar.
    "create-calendar.auto": "unsupported",
    "create-calendar.set-displayname": "full",
    "create-calendar.stable-url": "full",
    "create-calendar.with-supported-component-types": "full",
    "delete-calendar": "full",
    "delete-calendar.free-namespace": "full",
    "calendar-color": "full",
    "calendar-color.name": "full",
    "calendar-order": "full",
    "synchronous-write": "full",
    "synchronous-write.create-calendar": "full",
    "synchronous-write.delete-calendar": "full",
    "synchronous-write.proppatch": "full",
    # URLs
    "non-existing-raises-not-found.collection": "full",
    "non-existing-raises-not-found.object": "full",
    "url.encode-at.encoded": "full",
    # '@' and '%40' name one resource: the library's default and every server's
    # behaviour ("unsupported" here means lenient aliasing, not a failure).
    "url.encode-at.identity": "unsupported",
    "url.encode-at.literal.collection": "full",
    "url.encode-at.literal.object": "full",
    # Needs a user name containing '@' to probe.
    "url.encode-at.literal.principal": "unknown",
    # objects: PUT/GET/DELETE, ETags, conditional requests, UIDs
    "save.etag": "full",
    "save.if-none-match": "full",
    "save.no-uid-conflict": "full",
    "save.duplicate-event": "full",
    "save.duplicate-uid.cross-calendar": "full",
    "save-load.event": "full",
    "save-load.event.no-dtend": "full",
    "save-load.event.no-summary": "full",
    "save-load.event.recurrences": "full",
    "save-load.event.recurrences.count": "full",
    "save-load.event.recurrences.exception": "full",
    "save-load.event.recurrences.exception.cancelled": "full",
    "save-load.event.recurrences.exception.reschedule": "full",
    "save-load.event.timezone": "full",
    "save-load.get-by-url": "full",
    "save-load.icalendar.related-to": "full",
    "save-load.journal": "full",
    "save-load.journal.mixed-calendar": "full",
    "save-load.mutable": "full",
    "save-load.mutable.attendee-partstat": "full",
    "save-load.mutable.if-match-optional": "full",
    "save-load.mutable.if-match-wildcard": "full",
    "save-load.stable-url": "full",
    "save-load.todo": "full",
    "save-load.todo.mixed-calendar": "full",
    "save-load.todo.recurrences": "full",
    "save-load.todo.recurrences.count": "full",
    "save-load.todo.uncomplete": "full",
    # calendar-query, multiget, free-busy-query
    "search.combined-is-logical-and": "full",
    "search.comp-type": "full",
    "search.comp-type.optional": "full",
    "search.is-not-defined": "full",
    "search.is-not-defined.category": "full",
    "search.is-not-defined.class": "full",
    "search.is-not-defined.dtend": "full",
    "search.recurrences.expanded.event": "full",
    "search.recurrences.expanded.exception": "full",
    "search.recurrences.expanded.todo": "full",
    "search.recurrences.includes-implicit.event": "full",
    "search.recurrences.includes-implicit.infinite-scope": "full",
    "search.recurrences.includes-implicit.todo": "full",
    "search.recurrences.includes-implicit.todo.pending": "full",
    "search.text.case-insensitive": "full",
    "search.text.case-sensitive": "full",
    "search.text.category": "full",
    "search.text.substring": "full",
    # RFC 4791 9.7: a prop-filter directly under VCALENDAR tests VCALENDAR's
    # own properties, and a time-range is not allowed there at all
    # (supported-filter).  The library's default; it splits such searches.
    "search.text.comp-type-optional": "unsupported",
    "search.time-range.comp-type-optional": "unsupported",
    "search.time-range.alarm": "full",
    "search.time-range.event": "full",
    "search.time-range.event.old-dates": "full",
    "search.time-range.open.end": "full",
    "search.time-range.open.start": "full",
    "search.time-range.open.start.duration": "full",
    "search.time-range.todo": "full",
    "search.time-range.todo.no-dtstart": "full",
    "search.time-range.todo.no-dtstart.no-due": "full",
    "search.time-range.todo.old-dates": "full",
    "search.time-range.todo.strict": "full",
    "search.unlimited-time-range": "full",
    "freebusy-query": "full",
    # sync-collection
    "sync-token": "full",
    "sync-token.delete": "full",
    "sync-token.invalid-token": "full",
    "sync-token.limit": "full",
    "sync-token.limit.initial-sync": "full",
    # RFC 6638 scheduling: principal properties, mailboxes, implicit
    # scheduling between local users and Schedule-Tag.
    "scheduling": "full",
    "scheduling.calendar-user-address-set": "full",
    "scheduling.calendar-user-address-set.populated": "full",
    "scheduling.mailbox": "full",
    "scheduling.mailbox.inbox-delivery": "full",
    "scheduling.auto-schedule": "full",
    "scheduling.schedule-tag": "full",
    "scheduling.schedule-tag.stable-partstat": "full",
    # Free-busy lookups through the outbox POST (RFC 6638 section 5).
    "scheduling.freebusy-query": "full",
}


def _loopback_host() -> str:
    with socket.socket() as sock:
        try:
            sock.bind((LOOPBACK_ALIAS, 0))
        except OSError:
            return "127.0.0.1"
    return LOOPBACK_ALIAS


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The default settings, listening on the loopback alias if there is one."""
    host = _loopback_host()
    return make_settings(tmp_path, server={"host": host, "port": _free_port(host)})


def _declared_features() -> set[str]:
    """Every server feature some check of the installed tester sets."""
    from caldav.compatibility_hints import FeatureSet
    from caldav_server_tester import checks
    from caldav_server_tester.checks_base import Check

    declared: set[str] = set()
    for _, cls in inspect.getmembers(checks, inspect.isclass):
        if cls.__module__ == checks.__name__ and issubclass(cls, Check):
            declared |= set(getattr(cls, "features_to_be_checked", ()))
    return {
        name
        for name in declared
        if FeatureSet.find_feature(name).get("type", "server-feature")
        not in FeatureSet._UNCHECKABLE_FEATURE_TYPES
    }


def _tester_env(config_file: Path) -> dict[str, str]:
    """This environment without caldav settings or proxies: loopback only."""
    dropped = ("CALDAV_", "CALENDARING_", "PYTHON_CALDAV_")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(dropped) and not key.lower().endswith("_proxy")
    }
    env["CALDAV_CONFIG_FILE"] = str(config_file)
    env["NO_PROXY"] = env["no_proxy"] = "*"
    return env


def run_tester(server: ServerThread, workdir: Path) -> dict[str, object]:
    """Run caldav-server-tester with alice, bob and carol; its JSON report."""
    sections = {
        name: {"caldav_url": server.url, "caldav_username": name, "caldav_password": PASSWORD}
        for name in USERS
    }
    config_file = workdir / "caldav.json"
    config_file.write_text(json.dumps(sections))
    args = [sys.executable, "-m", "caldav_server_tester.caldav_server_tester"]
    for name in sections:
        args += ["--config-section", name]
    args += ["--format", "json"]
    done = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=workdir,
        env=_tester_env(config_file),
    )
    assert done.returncode == 0, f"caldav-server-tester failed:\n{done.stderr[-4000:]}"
    report: dict[str, object] = json.loads(done.stdout)
    return report


def feature_diff(expected: dict[str, str], observed: dict[str, str]) -> list[str]:
    """One line per feature whose level differs, regressions first."""
    regressed, changed = [], []
    for name in sorted(expected.keys() | observed.keys()):
        want, got = expected.get(name, "(not in the table)"), observed.get(name, "(not reported)")
        if want == got:
            continue
        line = f"  {name}: expected {want}, got {got}"
        (regressed if want == "full" else changed).append(line)
    lines = []
    if regressed:
        lines += ["regressed (no longer full):", *regressed]
    if changed:
        lines += ["changed (update EXPECTED if this is intended):", *changed]
    return lines


def test_expected_table_covers_every_declared_feature() -> None:
    declared = _declared_features()
    assert set(EXPECTED) == declared, (
        f"caldav-server-tester {TESTER_VERSION} checks other features than EXPECTED lists; "
        f"missing from EXPECTED: {sorted(declared - set(EXPECTED))}, "
        f"no longer checked: {sorted(set(EXPECTED) - declared)}"
    )


def test_caldav_server_tester_reports_expected_support(
    server: ServerThread, tmp_path: Path
) -> None:
    from caldav.compatibility_hints import FeatureSet

    report = run_tester(server, tmp_path)
    features = report["features"]
    assert isinstance(features, dict)
    reported = FeatureSet(features)
    expected = dict(EXPECTED)
    if server.settings.server.host in ("127.0.0.1", "localhost"):
        expected["well-known"] = "unknown"  # the tester skips it on these hosts
    # The compact report leaves out all-"full" subtrees and may fold siblings
    # into their parent: resolve every name, and look at any other reported
    # name that is not such a parent.
    names = set(expected) | {
        name
        for name, value in features.items()
        if "support" in value and not any(e.startswith(name + ".") for e in expected)
    }
    observed = {name: reported.is_supported(name, str) for name in names}
    diff = feature_diff(expected, observed)
    full = sum(1 for level in observed.values() if level == "full")
    assert not diff, (
        f"caldav-server-tester {TESTER_VERSION} ({full} features full) differs from EXPECTED:\n"
        + "\n".join(diff)
    )

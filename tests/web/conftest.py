"""An organizer, two external attendees, and the answer pages of their invitations."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import ServerThread, ShiftedClock, SmtpSink, smtp_settings
from tests.dav.helpers import WALKTHROUGH_PUT
from tests.mail.helpers import by_recipient
from tests.replies.test_seed_scenario import Organizer, delivered
from tests.web.helpers import page_of

SCENARIO_START = datetime(2018, 7, 10, 13, 0, tzinfo=timezone.utc)


@dataclass
class Invited:
    """A's event with B and C invited, and the pages their invitations link to."""

    server: ServerThread
    organizer: Organizer
    sink: SmtpSink
    pages: dict[str, str]  # attendee address -> answer page URL

    def history(self) -> list:
        from caldav_sched.services import events as event_service

        report = self.server.call(event_service.show_event(self.server.services, "identifier"))
        return list(report.history)


def start_server(tmp_path, sink: SmtpSink, *, base_path: str = "", **server: object) -> ServerThread:
    settings = smtp_settings(tmp_path, sink, server={"base_path": base_path, **server})
    url = f"http://127.0.0.1:{settings.server.port}"
    if "public_url" not in server:
        settings = smtp_settings(
            tmp_path, sink,
            server={"base_path": base_path, "port": settings.server.port, "public_url": url, **server},
        )
    running = ServerThread(settings, clock=ShiftedClock(SCENARIO_START))
    running.start()
    running.add_user("A", "a@example.com")
    return running


async def invite(server: ServerThread, sink: SmtpSink, body: str = WALKTHROUGH_PUT) -> Invited:
    organizer = Organizer(server)
    status, _, _ = await organizer.request("PUT", body, {"If-None-Match": "*"})
    assert status == 201
    received = sink.wait_for(2)
    mails = by_recipient(received)
    await organizer.wait_for(delivered)
    pages = {r.recipients[0]: page_of(r) for r in received}
    assert set(pages) == set(mails) == {"b@example.com", "c@example.com"}
    return Invited(server, organizer, sink, pages)


@pytest.fixture
async def invited(tmp_path, smtp_sink):
    server = start_server(tmp_path, smtp_sink)
    try:
        yield await invite(server, smtp_sink)
    finally:
        server.stop()


SCREENSHOT_FOLDERS: list[Path] = []


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where the browser tests save their screenshots ($RSVP_SCREENSHOTS, else a temp folder)."""
    chosen = os.environ.get("RSVP_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("rsvp-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    SCREENSHOT_FOLDERS.append(folder)
    return folder


def pytest_terminal_summary(terminalreporter) -> None:
    for folder in SCREENSHOT_FOLDERS:
        if folder.is_dir() and any(folder.iterdir()):
            shots = sorted(p.name for p in folder.glob("*.png"))
            terminalreporter.write_line(f"RSVP page screenshots ({len(shots)}): {folder}")

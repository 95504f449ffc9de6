"""The RSVP page in a real browser: headless Chromium driven by Selenium.

The invitation's own HTML part is opened in the browser, its "Decline" link
clicked, and the page's "Decline" button pressed: two clicks.  Then the
organizer's copy is read over CalDAV with the ``caldav`` client library.
The same at a phone's width (375 px, pressed from the keyboard) and with
JavaScript off.  Each state is saved as a screenshot in the folder named in
the test output ($RSVP_SCREENSHOTS, or a folder under pytest's tmp dir).

Debian's ``chromium`` and ``chromium-driver`` (installed by .ci/run) are
used as installed: nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import caldav
import pytest

from tests.conftest import PASSWORD
from tests.replies.test_seed_scenario import partstat
from tests.web.helpers import body_text

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
)

needs_browser = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)",
)
pytestmark = needs_browser


def browser(width: int, height: int, *, javascript: bool = True, zone: str = "Asia/Tokyo"):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="rsvp-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={max(width, 500)},{height}")
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    service = Service(CHROMEDRIVER, env={**os.environ, "TZ": zone})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    if width < 500:
        # A headless window is at least 500 px wide: a phone's viewport is emulated.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 2, "mobile": True})
    driver.profile_dir = profile  # type: ignore[attr-defined]
    return driver


def close(driver) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(driver.profile_dir, ignore_errors=True)


def wait_for_text(driver, element_id: str, text: str, timeout: float = 10.0) -> None:
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        WebDriverException,
    )
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def shows_text(d) -> bool:
        try:
            return d.find_element(By.ID, element_id).text == text
        except WebDriverException as exc:
            # The page is replaced while we look: an element may vanish between
            # find and read, which chromedriver sometimes reports as an unknown
            # error about a node no longer in the document instead of a stale one.
            if "does not belong to the document" in str(exc):
                return False
            raise

    WebDriverWait(driver, timeout,
                  ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                  ).until(shows_text)


def organizer_copy(invited) -> str:
    """A's event as a CalDAV client reads it."""
    with caldav.DAVClient(url=invited.server.url, username="A", password=PASSWORD) as client:
        calendar = client.calendar(url=invited.server.url + "home/A/calendar/event/")
        data = calendar.event_by_uid("identifier").data.replace("\r\n", "\n")
    return data.replace("\n ", "").replace("\n", "\r\n")


def open_invitation(driver, invited, attendee: str, tmp_path: Path) -> None:
    """Show the invitation's HTML part as a mail program would."""
    received = next(r for r in invited.sink.received if r.recipients == [attendee])
    mail = tmp_path / f"invitation-{attendee}.html"
    mail.write_text(body_text(received, "html"), encoding="utf-8")
    driver.get(mail.as_uri())


def no_sideways_scroll(driver, width: int) -> None:
    scroll = driver.execute_script("return document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll} px wide at a {width} px viewport"


@pytest.mark.parametrize("width, height, keyboard", [(1280, 900, False), (375, 812, True)],
                         ids=["desktop", "phone-375px"])
async def test_decline_in_two_clicks_and_the_organizer_sees_it(
    invited, tmp_path, screenshots, width, height, keyboard
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    name = "phone" if width < 500 else "desktop"
    driver = browser(width, height)
    try:
        # Click 1: "Decline" in the invitation.
        open_invitation(driver, invited, "c@example.com", tmp_path)
        driver.save_screenshot(str(screenshots / f"{name}-1-invitation.png"))
        driver.find_element(By.LINK_TEXT, "Decline").click()
        assert "/rsvp/" in driver.current_url and driver.current_url.endswith("?answer=declined")
        assert driver.find_element(By.ID, "current-answer").text == "Not answered yet"
        assert "Main Event" in driver.find_element(By.TAG_NAME, "h1").text
        # The viewer's own time, from the browser's zone (18:00 UTC is 03:00 in Tokyo).
        viewer = driver.find_element(By.ID, "viewer-time")
        assert viewer.is_displayed() and "03:00" in viewer.text and "Asia/Tokyo" in viewer.text
        chosen = driver.find_element(By.CSS_SELECTOR, "button.chosen")
        assert chosen.text == "Decline"
        no_sideways_scroll(driver, width)
        driver.save_screenshot(str(screenshots / f"{name}-2-page.png"))

        # Click 2: the page's "Decline" (on the phone, from the keyboard).
        if keyboard:
            assert driver.switch_to.active_element == chosen  # autofocus
            chosen.send_keys(Keys.ENTER)
        else:
            chosen.click()
        wait_for_text(driver, "current-answer", "Declined")
        status = driver.find_element(By.CSS_SELECTOR, ".notice.ok").text
        assert status == "Thank you. Your answer “Declined” has been sent to the organizer."
        no_sideways_scroll(driver, width)
        driver.save_screenshot(str(screenshots / f"{name}-3-answered.png"))

        # Reloading the page (as a scanner or the back button would) changes nothing.
        driver.refresh()
        wait_for_text(driver, "current-answer", "Declined")
    finally:
        close(driver)

    body = organizer_copy(invited)
    assert partstat(body, "c@example.com") == "DECLINED"
    assert partstat(body, "b@example.com") == "NEEDS-ACTION"
    assert [h.reason.split(":")[0] for h in invited.history() if h.direction == "in"] == [
        "answered on the web page"]


async def test_the_page_works_without_javascript(invited, screenshots):
    from selenium.webdriver.common.by import By

    driver = browser(1024, 800, javascript=False)
    try:
        driver.get(invited.pages["b@example.com"] + "?answer=accepted")
        assert not driver.find_element(By.ID, "viewer-time").is_displayed()
        comment = driver.find_element(By.ID, "comment")
        # The comment box is labelled for screen readers.
        label = driver.find_element(By.CSS_SELECTOR, "label[for=comment]")
        assert label.text == "A note for the organizer (optional)"
        comment.send_keys("Happy to come")
        driver.save_screenshot(str(screenshots / "nojs-1-page.png"))
        driver.find_element(By.CSS_SELECTOR, "button[value=accepted]").click()
        wait_for_text(driver, "current-answer", "Accepted")
        assert driver.find_element(By.ID, "comment").get_attribute("value") == "Happy to come"
        driver.save_screenshot(str(screenshots / "nojs-2-answered.png"))
    finally:
        close(driver)
    body = organizer_copy(invited)
    assert partstat(body, "b@example.com") == "ACCEPTED"
    assert "Happy to come" in body


async def test_an_invitation_no_longer_valid_in_the_browser(invited, screenshots):
    from selenium.webdriver.common.by import By

    driver = browser(375, 700)
    try:
        driver.get(invited.pages["b@example.com"].rsplit("/", 1)[0] + "/" + "b" * 32)
        assert driver.find_element(By.TAG_NAME, "h1").text == "This invitation is no longer valid"
        no_sideways_scroll(driver, 375)
        driver.save_screenshot(str(screenshots / "phone-4-not-valid.png"))
    finally:
        close(driver)


async def test_the_changed_and_cancelled_states_in_the_browser(invited, screenshots):
    from selenium.webdriver.common.by import By

    from tests.web.helpers import post_answer

    url = invited.pages["b@example.com"]
    assert (await post_answer(url, "accepted")).status == 303
    a = invited.organizer
    etag, body = await a.copy()
    moved = body.replace("20180710T180000Z", "20180712T180000Z").replace(
        "20180710T200000Z", "20180712T200000Z")
    assert (await a.request("PUT", moved, {"If-Match": etag}))[0] == 204
    driver = browser(375, 812)
    try:
        driver.get(url)
        warning = driver.find_element(By.CSS_SELECTOR, ".notice.warn").text
        assert warning.startswith("This event has changed since you last answered")
        assert "Thu 12 Jul 2018" in driver.find_element(By.TAG_NAME, "dl").text
        driver.save_screenshot(str(screenshots / "phone-5-changed.png"))

        etag, body = await a.copy()
        cancelled = body.replace("SEQUENCE:1", "SEQUENCE:2\r\nSTATUS:CANCELLED")
        assert (await a.request("PUT", cancelled, {"If-Match": etag}))[0] == 204
        driver.get(url)
        assert driver.find_element(By.CSS_SELECTOR, ".notice.warn").text == (
            "This event has been cancelled. There is nothing to answer.")
        assert driver.find_elements(By.TAG_NAME, "button") == []
        driver.save_screenshot(str(screenshots / "phone-6-cancelled.png"))
    finally:
        close(driver)

"""The RSVP page over HTTP: every state, and that only a good POST changes anything."""

from __future__ import annotations

import re
from datetime import timedelta

import aiohttp
import pytest

from caldav_sched.web.forms import make_nonce
from tests.replies.test_seed_scenario import attendee_param, delivered, partstat
from tests.web.conftest import invite, start_server
from tests.web.helpers import answer_links, body_text, get_page, post_answer

GONE = "This invitation is no longer valid"


async def unchanged(invited, before):
    """The organizer's copy and the history are as *before* (etag, body, history length)."""
    etag, body = await invited.organizer.copy()
    assert (etag, body) == before[:2]
    assert len(invited.history()) == before[2]


async def snapshot(invited):
    etag, body = await invited.organizer.copy()
    return etag, body, len(invited.history())


# -- the links in the invitation ---------------------------------------------


async def test_every_invitation_links_accept_maybe_decline_in_text_and_html(invited):
    for received in invited.sink.received:
        page = invited.pages[received.recipients[0]]
        for subtype in ("plain", "html"):
            links = answer_links(received, subtype)
            assert links == {name: f"{page}?answer={name}"
                             for name in ("accepted", "tentative", "declined")}, subtype
        text = body_text(received, "plain")
        assert "Accept: " in text and "Maybe: " in text and "Decline: " in text
    # Each attendee's page is their own: B's and C's tokens differ.
    assert len(set(invited.pages.values())) == 2


async def test_no_links_while_public_url_is_unset(tmp_path, smtp_sink):
    server = start_server(tmp_path, smtp_sink, public_url="")
    try:
        await invite_without_pages(server, smtp_sink)
        for received in smtp_sink.received:
            assert "/rsvp/" not in body_text(received, "plain")
            assert "/rsvp/" not in body_text(received, "html")
    finally:
        server.stop()


async def invite_without_pages(server, sink):
    from tests.dav.helpers import WALKTHROUGH_PUT
    from tests.replies.test_seed_scenario import Organizer

    status, _, _ = await Organizer(server).request("PUT", WALKTHROUGH_PUT, {"If-None-Match": "*"})
    assert status == 201
    sink.wait_for(2)


@pytest.mark.parametrize("public_suffix", ["", "/dav"])
async def test_links_carry_the_base_path_and_work(tmp_path, smtp_sink, public_suffix):
    port = __import__("tests.conftest", fromlist=["free_port"]).free_port()
    server = start_server(tmp_path, smtp_sink, base_path="/dav", port=port,
                          public_url=f"http://127.0.0.1:{port}{public_suffix}")
    try:
        invited = await invite(server, smtp_sink)
        url = invited.pages["b@example.com"]
        assert url.startswith(f"http://127.0.0.1:{port}/dav/rsvp/"), url
        page = await get_page(url)
        assert page.status == 200 and "Main Event" in page.text
        assert page.form.action == "/dav/rsvp/" + url.rsplit("/", 1)[1]
        assert "/dav/rsvp/static/rsvp.css?v=" in page.html
        answered = await post_answer(url, "accepted", follow=True)
        assert answered.status == 200 and "Accepted" in answered.text
        _, body = await invited.organizer.copy()
        assert partstat(body, "b@example.com") == "ACCEPTED"
    finally:
        server.stop()


# -- GET shows, and changes nothing -----------------------------------------


async def test_the_page_shows_the_event_and_changes_nothing(invited):
    before = await snapshot(invited)
    url = invited.pages["c@example.com"]
    for suffix in ("", "?answer=declined", "?answer=accepted", "?answered=declined"):
        page = await get_page(url + suffix)
        assert page.status == 200
        for fact in ("Main Event", "Tue 10 Jul 2018 18:00-20:00 (UTC)", "A.user <a@example.com>",
                     "C.user <c@example.com>", "Not answered yet"):
            assert fact in page.text.replace("&lt;", "<").replace("&gt;", ">"), fact
        assert page.form.buttons == ["accepted", "tentative", "declined"]
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    # HEAD too, as link checkers send it.
    async with aiohttp.ClientSession() as session:
        async with session.head(url) as resp:
            assert resp.status == 200
    await unchanged(invited, before)


async def test_the_answer_link_marks_its_button_without_answering(invited):
    page = await get_page(invited.pages["b@example.com"] + "?answer=declined")
    assert re.search(r'value="declined" class="chosen" autofocus', page.html)
    assert "You chose “Decline” in the invitation" in page.html
    # A made-up "answered" note is not shown: the page speaks of what is stored.
    assert "Thank you" not in page.html


# -- POST answers through the reply engine ------------------------------------


async def test_decline_with_a_comment_updates_the_organizers_copy(invited):
    etag_before, _ = await invited.organizer.copy()
    url = invited.pages["c@example.com"]
    answered = await post_answer(url, "declined", comment="Away that week, sorry")
    assert answered.status == 303
    assert answered.headers["Location"].endswith("?answered=declined")
    page = await get_page(url + "?answered=declined")
    assert "Thank you. Your answer “Declined” has been sent to the organizer." in page.html
    assert re.search(r'id="current-answer">Declined<', page.html)
    assert page.form.fields["comment"] == "Away that week, sorry"

    etag, body = await invited.organizer.copy()
    assert etag != etag_before
    assert partstat(body, "c@example.com") == "DECLINED"
    assert partstat(body, "b@example.com") == "NEEDS-ACTION"
    # The answer proves the invitation arrived (design.md SCHEDULE-STATUS).
    assert attendee_param(body, "c@example.com", "SCHEDULE-STATUS") == "1.2"
    assert "Away that week\\, sorry" in body
    last = invited.history()[-1]
    assert (last.direction, last.method, last.state) == ("in", "REPLY", "applied")
    assert last.reason.startswith("answered on the web page: mailto:c@example.com DECLINED")


async def test_changing_ones_mind_and_the_same_answer_twice(invited):
    url = invited.pages["b@example.com"]
    assert (await post_answer(url, "tentative")).status == 303
    etag_maybe, body = await invited.organizer.copy()
    assert partstat(body, "b@example.com") == "TENTATIVE"
    history = len(invited.history())

    again = await post_answer(url, "tentative")
    assert again.status == 303 and again.headers["Location"].endswith("?unchanged=tentative")
    assert (await invited.organizer.copy())[0] == etag_maybe
    assert len(invited.history()) == history

    assert (await post_answer(url, "accepted")).status == 303
    etag, body = await invited.organizer.copy()
    assert etag != etag_maybe and partstat(body, "b@example.com") == "ACCEPTED"


# -- the CSRF nonce ------------------------------------------------------------


@pytest.mark.parametrize("case", ["missing", "tampered", "another token", "expired", "future"])
async def test_a_post_without_a_good_nonce_changes_nothing(invited, case):
    before = await snapshot(invited)
    url = invited.pages["c@example.com"]
    fields = dict((await get_page(url)).form.fields)
    issued, mac = fields["nonce"].split(".")
    now = int(issued)
    secret = invited.server.call(
        __import__("caldav_sched.services.rsvp", fromlist=["x"]).form_secret(invited.server.services)
    )
    other_token = invited.pages["b@example.com"].rsplit("/", 1)[1]
    token = url.rsplit("/", 1)[1]
    fields["nonce"] = {
        "missing": "",
        "tampered": f"{issued}.{mac[:-2]}xx",
        "another token": make_nonce(secret, other_token, now),
        "expired": make_nonce(secret, token, now - 2 * 24 * 3600),
        "future": make_nonce(secret, token, now + 3600),
    }[case]
    page = await post_answer(url, "declined", fields=fields, comment="kept")
    assert page.status == 403
    assert "This form is too old or did not come from this page" in page.html
    # The page comes back with a fresh form and the comment kept.
    assert page.form.fields["nonce"] and page.form.fields["comment"] == "kept"
    await unchanged(invited, before)


async def test_the_form_secret_is_kept_in_the_database(invited):
    from caldav_sched.services.rsvp import form_secret

    first = invited.server.call(form_secret(invited.server.services))
    assert len(first) == 32
    assert invited.server.call(form_secret(invited.server.services)) == first


# -- stale, cancelled, gone -----------------------------------------------------


async def test_an_answer_to_a_page_shown_before_the_event_moved_is_stale(invited):
    url = invited.pages["c@example.com"]
    fields = dict((await get_page(url)).form.fields)
    assert fields["version"] == "0"
    etag, body = await invited.organizer.copy()
    moved = body.replace("20180710T180000Z", "20180711T180000Z").replace(
        "20180710T200000Z", "20180711T200000Z")
    status, _, _ = await invited.organizer.request("PUT", moved, {"If-Match": etag})
    assert status == 204
    invited.sink.wait_for(4)  # the new REQUESTs
    await invited.organizer.wait_for(delivered)
    before = await snapshot(invited)

    page = await post_answer(url, "accepted", fields=fields)
    assert page.status == 409
    assert "This event changed after you opened this page" in page.html
    assert "Wed 11 Jul 2018 18:00-20:00 (UTC)" in page.text
    assert page.form.fields["version"] == "1"
    etag_after, body_after, _ = await snapshot(invited)
    assert (etag_after, body_after) == before[:2]
    assert partstat(body_after, "c@example.com") == "NEEDS-ACTION"
    refusal = invited.history()[-1]
    assert refusal.state == "refused" and "answered on the web page: stale-sequence" in refusal.reason

    # With the new page, the answer goes through.
    assert (await post_answer(url, "accepted")).status == 303
    _, body = await invited.organizer.copy()
    assert partstat(body, "c@example.com") == "ACCEPTED"


async def test_the_page_says_when_the_event_changed_since_the_answer(invited):
    url = invited.pages["b@example.com"]
    await post_answer(url, "accepted")
    etag, body = await invited.organizer.copy()
    moved = body.replace("20180710T180000Z", "20180712T180000Z").replace(
        "20180710T200000Z", "20180712T200000Z")
    assert (await invited.organizer.request("PUT", moved, {"If-Match": etag}))[0] == 204
    page = await get_page(url)
    assert "This event has changed since you last answered" in page.html
    assert "Not answered yet" in page.text


async def test_a_cancelled_event_shows_no_buttons_and_takes_no_answer(invited):
    etag, body = await invited.organizer.copy()
    cancelled = body.replace("SEQUENCE:0", "SEQUENCE:1\r\nSTATUS:CANCELLED")
    assert (await invited.organizer.request("PUT", cancelled, {"If-Match": etag}))[0] == 204
    url = invited.pages["c@example.com"]
    page = await get_page(url)
    assert page.status == 200
    assert "This event has been cancelled" in page.html and page.form.buttons == []
    before = await snapshot(invited)
    nonce_fields = {"nonce": "", "version": "1"}
    posted = await post_answer(url, "accepted", fields=nonce_fields)
    assert posted.status in (403, 409) and "cancelled" in posted.html
    await unchanged(invited, before)


async def gone(url: str, post: bool = False) -> None:
    page = await (post_answer(url, "accepted", fields={"nonce": "x", "version": "0"}) if post
                  else get_page(url))
    assert page.status == 404
    assert GONE in page.html
    assert "Main Event" not in page.html and "example.com" not in page.html


@pytest.mark.parametrize("how", ["unknown", "malformed", "attendee removed", "event deleted",
                                 "expired"])
async def test_an_invitation_no_longer_valid_is_a_404_that_tells_nothing(invited, how):
    url = invited.pages["c@example.com"]
    root = url.rsplit("/", 1)[0]
    if how == "unknown":
        url = root + "/" + "a" * 32
    elif how == "malformed":
        url = root + "/NOT-a-token!"
    elif how == "attendee removed":
        etag, body = await invited.organizer.copy()
        without_c = "\r\n".join(l for l in body.split("\r\n") if "c@example.com" not in l)
        assert (await invited.organizer.request("PUT", without_c, {"If-Match": etag}))[0] == 204
        invited.sink.wait_for(3)  # C's CANCEL
    elif how == "expired":
        # [mail] token_grace_days (30) after the event ended.
        invited.server.services.clock.offset += timedelta(days=31)
    else:
        assert (await invited.organizer.request("DELETE"))[0] == 204
    before = len(invited.history())
    await gone(url)
    await gone(url, post=True)
    assert len(invited.history()) == before


# -- limits and bad forms ------------------------------------------------------


async def test_posts_are_limited_per_client_address(tmp_path, smtp_sink):
    server = start_server(tmp_path, smtp_sink, rsvp_posts_per_minute=3,
                          trusted_proxies=["127.0.0.1"])
    try:
        invited = await invite(server, smtp_sink)
        url = invited.pages["b@example.com"]
        fields = dict((await get_page(url)).form.fields)
        one = {"X-Forwarded-For": "203.0.113.7"}
        statuses = [(await post_answer(url, answer, fields=fields, headers=one)).status
                    for answer in ("accepted", "tentative", "declined")]
        assert statuses == [303, 303, 303]
        limited = await post_answer(url, "accepted", fields=fields, headers=one)
        assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
        assert "Too many answers" in limited.html
        _, body = await invited.organizer.copy()
        assert partstat(body, "b@example.com") == "DECLINED"
        # Another client behind the same proxy has its own allowance.
        other = await post_answer(url, "accepted", fields=fields,
                                  headers={"X-Forwarded-For": "203.0.113.8"})
        assert other.status == 303
    finally:
        server.stop()


@pytest.mark.parametrize("case", ["no answer", "unknown answer", "no version", "not a form",
                                  "too large"])
async def test_a_form_that_cannot_be_read_changes_nothing(invited, case):
    before = await snapshot(invited)
    url = invited.pages["c@example.com"]
    fields = dict((await get_page(url)).form.fields)
    if case in ("no answer", "unknown answer", "no version"):
        if case == "no version":
            fields.pop("version")
        page = await post_answer(url, {"unknown answer": "maybe-later"}.get(case), fields=fields)
        assert page.status == 400 and "Please choose Accept, Maybe or Decline" in page.html
    else:
        body = ("x" * 20000).encode() if case == "too large" else b'{"answer": "declined"}'
        kind = "application/x-www-form-urlencoded" if case == "too large" else "application/json"
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=body, headers={"Content-Type": kind}) as resp:
                assert resp.status == (413 if case == "too large" else 400)
                assert "could not be read" in await resp.text()
    await unchanged(invited, before)


# -- static files ---------------------------------------------------------------


async def test_the_stylesheet_and_script_are_cached(invited):
    page = await get_page(invited.pages["b@example.com"])
    [css] = re.findall(r'href="([^"]+rsvp\.css\?v=[0-9a-f]+)"', page.html)
    [js] = re.findall(r'src="([^"]+rsvp\.js\?v=[0-9a-f]+)"', page.html)
    origin = invited.pages["b@example.com"].split("/rsvp/")[0]
    async with aiohttp.ClientSession() as session:
        for path, kind in ((css, "text/css"), (js, "text/javascript")):
            async with session.get(origin + path) as resp:
                assert resp.status == 200 and resp.content_type == kind
                assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
                etag = resp.headers["ETag"]
            async with session.get(origin + path, headers={"If-None-Match": etag}) as resp:
                assert resp.status == 304
        async with session.get(origin + css.split("?")[0]) as resp:
            assert resp.headers["Cache-Control"] == "public, max-age=300"
        async with session.get(origin + "/rsvp/static/nothing.css") as resp:
            assert resp.status == 404


# -- recurring events -------------------------------------------------------------


async def test_a_repeating_event_is_answered_for_the_whole_series(tmp_path, smtp_sink):
    from tests.dav.helpers import WALKTHROUGH_PUT

    weekly = WALKTHROUGH_PUT.replace("DTEND:20180710T200000Z\n",
                                     "DTEND:20180710T200000Z\nRRULE:FREQ=WEEKLY;COUNT=4\n")
    server = start_server(tmp_path, smtp_sink)
    try:
        invited = await invite(server, smtp_sink, weekly)
        url = invited.pages["b@example.com"]
        page = await get_page(url)
        assert "Your answer applies to every occurrence" in page.html
        assert "every week" in page.text
        assert (await post_answer(url, "declined")).status == 303
        _, body = await invited.organizer.copy()
        assert partstat(body, "b@example.com") == "DECLINED"
        assert "RECURRENCE-ID" not in body
    finally:
        server.stop()

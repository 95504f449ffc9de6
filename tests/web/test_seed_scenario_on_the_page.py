"""The seed scenario once more: B answers by mail, C on the answer page.

Scenario.md steps 1-11 with LMTP for B's REPLY and the RSVP page for C's
DECLINE: A's copy gets a new ETag at each answer, a stale If-Match gets 412,
and after the move both get a new REQUEST whose page shows the new time.
"""

from __future__ import annotations

from tests.conftest import free_port, smtp_settings, ServerThread, ShiftedClock
from tests.mail.helpers import by_recipient
from tests.replies.helpers import deliver_lmtp, reply_mail
from tests.replies.test_seed_scenario import delivered, event_show, partstat
from tests.web.conftest import SCENARIO_START, invite
from tests.web.helpers import get_page, page_of, post_answer


async def test_b_by_mail_and_c_on_the_page(tmp_path, smtp_sink):
    lmtp = free_port()
    port = free_port()
    settings = smtp_settings(
        tmp_path, smtp_sink,
        server={"port": port, "public_url": f"http://127.0.0.1:{port}"},
        inbound={"lmtp_host": "127.0.0.1", "lmtp_port": lmtp},
    )
    server = ServerThread(settings, clock=ShiftedClock(SCENARIO_START))
    server.start()
    server.add_user("A", "a@example.com")
    try:
        # 1-3: A creates the event; B and C get an invitation with answer links.
        invited = await invite(server, smtp_sink)
        a = invited.organizer
        etag_500, _ = await a.copy()
        b_token_address = by_recipient(smtp_sink.received)["b@example.com"].organizer

        # 4-8: B accepts in his mail client.
        assert deliver_lmtp(lmtp, b_token_address, reply_mail(
            to=b_token_address, attendee="b@example.com", partstat="ACCEPTED")) == {}
        etag_501, body = await a.wait_for(b="ACCEPTED")
        assert etag_501 != etag_500
        assert (await a.request("PUT", body, {"If-Match": etag_500}))[0] == 412

        # 9-10: C declines on the page the invitation links to.
        c_page = invited.pages["c@example.com"]
        assert (await post_answer(c_page, "declined")).status == 303
        etag_502, body = await a.wait_for(c="DECLINED")
        assert etag_502 != etag_501
        assert partstat(body, "b@example.com") == "ACCEPTED"

        # 11: A moves the event; both are asked again, C's page shows the new time.
        moved = body.replace("20180710T180000Z", "20180711T180000Z").replace(
            "20180710T200000Z", "20180711T200000Z")
        status, etag_503, _ = await a.request("PUT", moved, {"If-Match": etag_502})
        assert status == 204 and etag_503 != etag_502
        second = smtp_sink.wait_for(4)[2:]
        assert {r.recipients[0] for r in second} == {"b@example.com", "c@example.com"}
        assert all(m.sequence == 1 for m in by_recipient(second).values())
        c_mail = next(r for r in second if r.recipients == ["c@example.com"])
        assert page_of(c_mail) == c_page  # the same token, the same page
        await a.wait_for(delivered)
        page = await get_page(c_page)
        assert "Wed 11 Jul 2018 18:00-20:00 (UTC)" in page.text
        assert "Not answered yet" in page.text
        assert "This event has changed since you last answered" in page.html
        assert (await post_answer(c_page, "accepted")).status == 303
        _, body = await a.wait_for(c="ACCEPTED")
        assert "SEQUENCE:1" in body

        shown = event_show(server)
        story = [(h["direction"], h["method"], h["peer"], h["state"]) for h in shown["history"]]
        assert story == [
            ("sent", "REQUEST", "b@example.com", "sent"),
            ("sent", "REQUEST", "c@example.com", "sent"),
            ("received", "REPLY", "b@example.com", "applied"),
            ("received", "REPLY", "c@example.com", "applied"),
            ("sent", "REQUEST", "b@example.com", "sent"),
            ("sent", "REQUEST", "c@example.com", "sent"),
            ("received", "REPLY", "c@example.com", "applied"),
        ]
        assert shown["history"][3]["reason"].startswith("answered on the web page")
        assert not shown["history"][2]["reason"].startswith("answered on the web page")
    finally:
        server.stop()

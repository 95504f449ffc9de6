"""Schedule-Tag, mixed attendee lists, invitations from outside, and replies back."""

from __future__ import annotations

import email.policy
import time
from datetime import datetime, timezone
from email.message import EmailMessage

import aiohttp
import pytest

from caldav_sched.services import users as user_service
from tests.conftest import ServerThread, ShiftedClock, basic, free_port, smtp_settings
from tests.mail.helpers import by_recipient, read
from tests.replies.helpers import deliver_lmtp

START = datetime(2018, 7, 10, 13, 0, tzinfo=timezone.utc)
A_EVENT = "/home/A/calendar/event/meeting.ics"


def event(*attendees: str, start: str = "20180710T180000Z", end: str = "20180710T200000Z",
          organizer: str = "a@example.com", uid: str = "meeting", extra: str = "") -> str:
    lines = "".join(
        f"ATTENDEE;PARTSTAT={'ACCEPTED' if a == organizer else 'NEEDS-ACTION'};RSVP=TRUE:mailto:{a}\r\n"
        for a in (organizer, *attendees)
    )
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20180710T130000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        f"SUMMARY:Planning\r\nORGANIZER:mailto:{organizer}\r\n{lines}{extra}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


class Client:
    def __init__(self, server: ServerThread, user: str) -> None:
        self.server, self.user = server, user

    async def __call__(self, method: str, path: str, body: str | None = None, **headers: str):
        async with aiohttp.ClientSession() as session:
            async with session.request(
                method, self.server.url.rstrip("/") + path,
                data=body.encode() if body else None,
                headers={"Authorization": basic(self.user), "Content-Type": "text/calendar",
                         **{k.replace("_", "-"): v for k, v in headers.items()}},
            ) as resp:
                return resp.status, resp.headers.copy(), (await resp.read()).decode().replace("\r\n ", "")

    async def copy_of(self, uid: str) -> tuple[str, dict, str]:
        """(href, headers, body) of this user's calendar copy of *uid*."""
        query = (
            '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name=\"VCALENDAR\">"
            f'<C:comp-filter name="VEVENT"><C:prop-filter name="UID"><C:text-match '
            f'collation="i;octet">{uid}</C:text-match></C:prop-filter></C:comp-filter>'
            "</C:comp-filter></C:filter></C:calendar-query>"
        )
        _, _, body = await self("REPORT", f"/home/{self.user}/calendar/event/", query, Depth="1")
        href = body.split("<D:href>")[1].split("</D:href>")[0]
        status, headers, data = await self("GET", href)
        assert status == 200
        return href, headers, data


def partstat(body: str, address: str) -> str:
    line = next(l for l in body.split("\r\n") if l.startswith("ATTENDEE") and address in l)
    return line.split("PARTSTAT=")[1].split(";")[0].split(":")[0]


@pytest.fixture
def site(tmp_path, smtp_sink):
    lmtp = free_port()
    settings = smtp_settings(
        tmp_path, smtp_sink,
        inbound={"lmtp_host": "127.0.0.1", "lmtp_port": lmtp, "trusted_authserv_ids": ["mx.example.com"]},
    )
    server = ServerThread(settings, clock=ShiftedClock(START))
    server.start()
    for name in "ABC":
        server.add_user(name, f"{name.lower()}@example.com")
    yield server, smtp_sink, lmtp
    server.stop()


async def test_schedule_tag_survives_answers_and_lets_the_organizer_merge(site):
    server, sink, _ = site
    a, b = Client(server, "A"), Client(server, "B")
    status, headers, _ = await a("PUT", A_EVENT, event("b@example.com"))
    assert status == 201
    tag, etag = headers["Schedule-Tag"], headers["ETag"]

    # B accepts in his copy: A's ETag moves, A's Schedule-Tag does not.
    href, b_headers, copy = await b.copy_of("meeting")
    b_tag = b_headers["Schedule-Tag"]
    status, put_headers, _ = await b("PUT", href, copy.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED"),
                                     If_Schedule_Tag_Match=b_tag)
    assert status == 204
    assert put_headers["Schedule-Tag"] == b_tag, "an attendee's own change keeps their tag"
    status, headers, body = await a("GET", A_EVENT)
    assert headers["ETag"] != etag and headers["Schedule-Tag"] == tag
    assert partstat(body, "b@example.com") == "ACCEPTED"

    # A's client saves from its old version: If-Match fails, If-Schedule-Tag-Match
    # succeeds and B's answer is kept (RFC 6638 3.2.10).
    stale = event("b@example.com", extra="DESCRIPTION:agenda attached\r\n")
    assert (await a("PUT", A_EVENT, stale, If_Match=etag))[0] == 412
    assert (await a("PUT", A_EVENT, stale, If_Schedule_Tag_Match='"wrong"'))[0] == 412
    status, headers, _ = await a("PUT", A_EVENT, stale, If_Schedule_Tag_Match=tag)
    assert status == 204
    _, _, body = await a("GET", A_EVENT)
    assert "agenda attached" in body and partstat(body, "b@example.com") == "ACCEPTED"

    # A moves it: A's tag moves, and so does B's (the organizer changed his copy).
    status, headers, _ = await a("PUT", A_EVENT, event("b@example.com", start="20180711T180000Z",
                                                       end="20180711T200000Z"))
    assert status == 204 and headers["Schedule-Tag"] != tag
    _, b_after, copy = await b.copy_of("meeting")
    assert b_after["Schedule-Tag"] != b_tag
    assert partstat(copy, "b@example.com") == "NEEDS-ACTION"


async def test_a_mixed_event_sends_one_mail_and_makes_one_inbox_item(site):
    server, sink, _ = site
    a, b = Client(server, "A"), Client(server, "B")
    assert (await a("PUT", A_EVENT, event("b@example.com", "dan@elsewhere.example")))[0] == 201
    [mail] = sink.wait_for(1)
    assert mail.recipients == ["dan@elsewhere.example"]
    _, _, listing = await b("PROPFIND", "/home/B/calendar/inbox/", Depth="1")
    assert listing.count("<D:response>") == 2  # the inbox and one item
    time.sleep(0.3)
    assert len(sink.received) == 1, "the local attendee gets no mail"
    _, _, body = await a("GET", A_EVENT)
    assert "SCHEDULE-STATUS=1.2" in body.split("b@example.com")[0].rsplit("ATTENDEE", 1)[1]


async def test_a_user_may_ask_for_mail_too(site):
    server, sink, _ = site
    server.call(user_service.set_also_email(server.services, "C", True))
    assert (await Client(server, "A")("PUT", A_EVENT, event("c@example.com")))[0] == 201
    [mail] = sink.wait_for(1)
    assert mail.recipients == ["c@example.com"]
    await Client(server, "C").copy_of("meeting")


async def test_an_attendee_deleting_their_copy_declines(site):
    server, _, _ = site
    a, b = Client(server, "A"), Client(server, "B")
    await a("PUT", A_EVENT, event("b@example.com"))
    href, _, _ = await b.copy_of("meeting")
    assert (await b("DELETE", href))[0] == 204
    _, _, body = await a("GET", A_EVENT)
    assert partstat(body, "b@example.com") == "DECLINED"


def outside_invitation(*, sender: str, organizer: str, auth: str | None, method: str = "REQUEST",
                       extra: str = "") -> bytes:
    calendar = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n"
        f"METHOD:{method}\r\nBEGIN:VEVENT\r\nUID:outside-1\r\nDTSTAMP:20180710T120000Z\r\n"
        "SEQUENCE:0\r\nDTSTART:20180712T090000Z\r\nDTEND:20180712T100000Z\r\n"
        f"SUMMARY:Supplier call\r\nORGANIZER;CN=Olga:mailto:{organizer}\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{organizer}\r\n"
        "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:b@example.com\r\n" + extra
        + ("STATUS:CANCELLED\r\n" if method == "CANCEL" else "")
        + "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    message = EmailMessage()
    if auth:
        message["Authentication-Results"] = auth
    message["From"] = f"Olga <{sender}>"
    message["To"] = "b@example.com"
    message["Subject"] = "Invitation: Supplier call"
    message["Message-ID"] = f"<{method}-{sender}@outside.example>"
    message.set_content("You are invited.")
    message.add_alternative(calendar, subtype="calendar", params={"method": method})
    return message.as_bytes(policy=email.policy.SMTP)


PASS = "mx.example.com; dkim=pass header.d=outside.example; dmarc=pass header.from=outside.example"


@pytest.mark.parametrize(
    "sender, auth, extra, reason",
    [
        ("olga@outside.example", None, "", "no Authentication-Results header from a trusted host"),
        ("olga@outside.example", PASS.replace("mx.example.com", "evil.example"), "",
         "no Authentication-Results header from a trusted host"),
        ("olga@outside.example", "mx.example.com; dmarc=fail header.from=outside.example", "",
         "did not authenticate"),
        ("mallory@outside.example", PASS, "", "is not the ORGANIZER"),
        # Vouched for, but a PUT of it would be refused too (CALDAV:max-instances).
        ("olga@outside.example", PASS, "RRULE:FREQ=MINUTELY\r\n",
         "repeats more than 3000 times within a year"),
    ],
)
async def test_an_outside_invitation_without_vouching_is_refused(site, sender, auth, extra, reason):
    server, _, lmtp = site
    raw = outside_invitation(sender=sender, organizer="olga@outside.example", auth=auth,
                             extra=extra)
    assert deliver_lmtp(lmtp, "b@example.com", raw) == {}
    from caldav_sched.services import inbound as inbound_service

    deadline = time.monotonic() + 10
    while not (done := [m for m in server.call(inbound_service.list_messages(server.services))
                        if m.state != "received"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert done[0].state == "refused" and reason in done[0].reason
    _, _, listing = await Client(server, "B")("PROPFIND", "/home/B/calendar/event/", Depth="1")
    assert listing.count("<D:response>") == 1, "nothing was added to B's calendar"


async def test_an_outside_invitation_lands_and_the_answer_is_mailed_back(site):
    server, sink, lmtp = site
    b = Client(server, "B")
    raw = outside_invitation(sender="olga@outside.example", organizer="olga@outside.example", auth=PASS)
    assert deliver_lmtp(lmtp, "b@example.com", raw) == {}
    deadline = time.monotonic() + 10
    while True:
        _, _, listing = await b("PROPFIND", "/home/B/calendar/event/", Depth="1")
        if listing.count("<D:response>") == 2:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    href, headers, copy = await b.copy_of("outside-1")
    assert "Supplier call" in copy and partstat(copy, "b@example.com") == "NEEDS-ACTION"

    status, _, _ = await b("PUT", href, copy.replace(
        "PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:b@", "PARTSTAT=ACCEPTED:mailto:b@"),
        If_Match=headers["ETag"])
    assert status == 204
    [mail] = sink.wait_for(1)
    reply = read(mail)
    assert mail.recipients == ["olga@outside.example"]
    assert reply.method == "REPLY" and reply.partstat == {"b@example.com": "ACCEPTED"}
    assert "calendar@cal.example.com" in reply.from_header

    # The organizer cancels: B's copy is marked cancelled, not deleted.
    cancel = outside_invitation(sender="olga@outside.example", organizer="olga@outside.example",
                                auth=PASS, method="CANCEL")
    deliver_lmtp(lmtp, "b@example.com", cancel)
    deadline = time.monotonic() + 10
    while "STATUS:CANCELLED" not in (await b.copy_of("outside-1"))[2]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


async def test_free_busy_through_the_outbox(site):
    server, _, _ = site
    a, b = Client(server, "A"), Client(server, "B")
    busy = event(organizer="b@example.com", uid="b-busy").replace(
        "ATTENDEE;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:b@example.com\r\n", "")
    assert (await b("PUT", "/home/B/calendar/event/busy.ics", busy))[0] == 201
    request = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nMETHOD:REQUEST\r\n"
        "BEGIN:VFREEBUSY\r\nUID:fb-1\r\nDTSTAMP:20180710T130000Z\r\n"
        "DTSTART:20180710T000000Z\r\nDTEND:20180711T000000Z\r\n"
        "ORGANIZER:mailto:a@example.com\r\nATTENDEE:mailto:b@example.com\r\n"
        "ATTENDEE:mailto:nobody@elsewhere.example\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"
    )
    status, _, body = await a("POST", "/home/A/calendar/outbox/", request)
    assert status == 200
    b_part, nobody_part = body.split("<C:response>")[1:]
    assert "2.0;Success" in b_part and "FREEBUSY;FBTYPE=BUSY:20180710T180000Z/20180710T200000Z" in b_part
    assert "METHOD:REPLY" in b_part
    assert "3.7;Invalid calendar user" in nobody_part
    status, _, _ = await a("POST", "/home/A/calendar/outbox/",
                           request.replace("ORGANIZER:mailto:a@", "ORGANIZER:mailto:c@"))
    assert status == 403
    assert (await b("POST", "/home/A/calendar/outbox/", request))[0] == 403


async def test_attendee_copies_keep_what_is_theirs(site):
    """Anchors 6.9 #56-58: alarms and answers survive updates; a cancel marks the copy."""
    server, _, _ = site
    a, b = Client(server, "A"), Client(server, "B")
    await a("PUT", A_EVENT, event("b@example.com"))
    href, headers, copy = await b.copy_of("meeting")
    mine = copy.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED").replace(
        "END:VEVENT",
        "TRANSP:TRANSPARENT\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:soon\r\n"
        "TRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT",
    )
    assert (await b("PUT", href, mine, If_Match=headers["ETag"]))[0] == 204
    _, a_headers, organizer_copy = await a("GET", A_EVENT)
    assert "VALARM" not in organizer_copy, "an attendee's alarm is theirs alone"

    # A adds a description (no reschedule): B keeps his answer, alarm and TRANSP.
    updated = organizer_copy.replace("SUMMARY:Planning", "SUMMARY:Planning\r\nDESCRIPTION:agenda")
    assert (await a("PUT", A_EVENT, updated, If_Match=a_headers["ETag"]))[0] == 204
    _, _, copy = await b.copy_of("meeting")
    assert "agenda" in copy and "TRIGGER:-PT15M" in copy and "TRANSP:TRANSPARENT" in copy
    assert partstat(copy, "b@example.com") == "ACCEPTED"

    # A deletes the event: B's copy stays, marked cancelled.
    assert (await a("DELETE", A_EVENT))[0] == 204
    _, _, copy = await b.copy_of("meeting")
    assert "STATUS:CANCELLED" in copy

"""Every message of the inbound corpus, delivered to a running server.

Each either applies with the right effect on the organizer's copy or is
refused with the right reason and changes nothing (same bytes, same ETag).
The corpus (tests/inbound/corpus) is addressed with one fixed token; here
that token is bound to the attendee the message is meant to speak for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from caldav_sched.domain.ical import parse_calendar
from caldav_sched.services import inbound as inbound_service
from caldav_sched.services.errors import InvalidInput
from caldav_sched.store import objects as object_store
from tests.conftest import ServerThread, make_settings

CORPUS = Path(__file__).resolve().parents[1] / "inbound" / "corpus"
TOKEN = "abcdefghijklmnopqrstuvwxyz"
B, C = "b@example.com", "c@example.com"

ORGANIZER_COPY = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n"
    "UID:identifier\r\nDTSTAMP:20180701T000000Z\r\nSEQUENCE:0\r\n"
    "DTSTART:20180710T180000Z\r\nDTEND:20180710T200000Z\r\nRRULE:FREQ=WEEKLY\r\n"
    "SUMMARY:Main Event\r\nORGANIZER;CN=A:mailto:a@example.com\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:a@example.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:b@example.com\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:c@example.com\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


@dataclass(frozen=True)
class Outcome:
    file: str
    token_for: str
    state: str
    reason: str = ""  # a substring of the stored reason
    partstat: str | None = None  # the token attendee's PARTSTAT afterwards (master)
    instance: str | None = None  # ... or of this instance's override


OUTCOMES = [
    Outcome("gmail_reply_accepted.eml", B, "applied", partstat="ACCEPTED"),
    Outcome("outlook_reply_accepted.eml", B, "applied", partstat="ACCEPTED"),
    Outcome("apple_mail_reply.eml", C, "applied", partstat="ACCEPTED"),
    Outcome("thunderbird_reply.eml", B, "applied", partstat="ACCEPTED"),
    Outcome("proton_reply_no_method_param.eml", C, "applied", partstat="ACCEPTED"),
    Outcome("proton_reply_lowercase_method.eml", C, "applied", partstat="ACCEPTED"),
    Outcome("mixed_case_method_status_no_prodid.eml", B, "applied", partstat="ACCEPTED"),
    Outcome("latin1_cn_reply.eml", C, "applied", partstat="ACCEPTED"),
    Outcome("latin1_undeclared_charset.eml", C, "applied", partstat="ACCEPTED"),
    Outcome("decline.eml", C, "applied", partstat="DECLINED"),
    Outcome("tentative_with_comment.eml", B, "applied", partstat="TENTATIVE"),
    Outcome("reply_one_instance.eml", B, "applied", partstat="NEEDS-ACTION",
            instance="20180717T180000Z"),
    Outcome("refresh.eml", B, "applied", "REFRESH answered", partstat="NEEDS-ACTION"),
    Outcome("counter_outlook.eml", B, "applied", "proposal recorded", partstat="NEEDS-ACTION"),
    Outcome("delegated_reply.eml", B, "applied", partstat="DELEGATED"),
    Outcome("sent_by_outlook_delegate.eml", B, "applied", partstat="ACCEPTED"),
    Outcome("bcc_delivered.eml", B, "applied", partstat="ACCEPTED"),
    Outcome("ics_octet_stream_attachment.eml", C, "applied", partstat="ACCEPTED"),
    Outcome("mime_method_disagrees.eml", B, "applied", partstat="ACCEPTED"),
    Outcome("reply_two_attendees.eml", B, "applied", partstat="ACCEPTED"),
    Outcome("reply_other_attendee.eml", B, "refused", "other-attendee"),
    Outcome("plain_text_reply.eml", B, "refused", "no calendar data"),
    Outcome("out_of_office.eml", B, "refused", "automatic reply without calendar data"),
    Outcome("forwarded_invitation.eml", B, "refused", "forwarded message ignored"),
    Outcome("outlook_tnef_only.eml", B, "refused", "TNEF"),
    Outcome("oversize_calendar.eml", B, "refused", "over the size limit"),
    Outcome("dsn_failed_with_original.eml", B, "refused", "does not answer one of our invitations"),
    Outcome("dsn_failed_headers_only.eml", B, "refused", "does not answer one of our invitations"),
    Outcome("dsn_delayed.eml", B, "refused", "no reply token"),
    # Not mail at all: ingest takes nothing (exit 65, the mail system bounces it).
    Outcome("garbage_bytes.eml", B, "not taken", "not a mail message"),
]


def test_the_table_covers_the_whole_corpus():
    assert sorted(o.file for o in OUTCOMES) == sorted(p.name for p in CORPUS.glob("*.eml"))


@pytest.fixture
def organizer(tmp_path):
    server = ServerThread(make_settings(
        tmp_path,
        mail={"from_address": "calendar@cal.example.com"},
        limits={"max_resource_size": 16_384},
        queue={"workers": 0},  # the test processes each message itself
    ))
    server.start()
    server.add_user("A", "a@example.com")
    yield server
    server.stop()


async def _store_event_and_bind_token(services, attendee: str) -> None:
    from caldav_sched.services import objects as object_service
    from caldav_sched.store import collections as collection_store
    from caldav_sched.store import users as user_store
    from caldav_sched.domain.conditions import Preconditions

    reader = services.db.reader()
    user = await user_store.get_user(reader, "A")
    calendar = await collection_store.get_collection(reader, "A", "event")
    await object_service.put_object(
        services, user, calendar, "event.ics", ORGANIZER_COPY.encode(), Preconditions()
    )
    async with services.db.transaction() as conn:
        # The corpus was written for one fixed token: give it to this attendee.
        await conn.execute(
            "UPDATE imip_tokens SET token = ? WHERE attendee = ?", (TOKEN, f"mailto:{attendee}")
        )


async def _copy(services) -> tuple[str, bytes]:
    row = await object_store.find_owned_object(services.db.reader(), 1, "identifier")
    return row.etag, row.data


def _partstat(data: bytes, attendee: str, instance: str | None) -> str:
    for component in parse_calendar(data).walk("VEVENT"):
        rid = component.get("RECURRENCE-ID")
        if (rid.to_ical().decode() if rid else None) != instance:
            continue
        for line in component.get("ATTENDEE", []):
            if str(line).lower() == f"mailto:{attendee}":
                return str(line.params.get("PARTSTAT", "NEEDS-ACTION"))
    raise AssertionError(f"{attendee} not found in instance {instance}")


@pytest.mark.parametrize("outcome", OUTCOMES, ids=[o.file for o in OUTCOMES])
def test_corpus_message(organizer, outcome):
    services = organizer.services
    organizer.call(_store_event_and_bind_token(services, outcome.token_for))
    etag, before = organizer.call(_copy(services))
    raw = (CORPUS / outcome.file).read_bytes()

    if outcome.state == "not taken":
        with pytest.raises(InvalidInput, match=outcome.reason):
            organizer.call(inbound_service.ingest(services, raw, worker="test"))
        assert organizer.call(inbound_service.list_messages(services, None)) == []
        assert organizer.call(_copy(services)) == (etag, before)
        return
    _, verdict = organizer.call(inbound_service.ingest(services, raw, worker="test"))

    assert verdict.state == outcome.state, verdict.reason
    assert outcome.reason in verdict.reason
    after_etag, after = organizer.call(_copy(services))
    if outcome.state == "refused" or outcome.reason in ("REFRESH answered", "proposal recorded"):
        assert (after_etag, after) == (etag, before), "this message must change nothing"
    else:
        assert after_etag != etag
    if outcome.partstat is not None:
        assert _partstat(after, outcome.token_for, outcome.instance) == (
            "DECLINED" if outcome.instance else outcome.partstat
        )
        if outcome.instance:
            assert _partstat(after, outcome.token_for, None) == outcome.partstat
    other = C if outcome.token_for == B else B
    assert _partstat(after, other, None) == "NEEDS-ACTION", "another attendee changed"

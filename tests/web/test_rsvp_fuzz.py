"""Mutated answers posted to the RSVP page: never a 5xx, never a change without a good form.

The seed is the form a real page carries (nonce, version, comment, answer).
Hypothesis drops, repeats and replaces its fields, splices odd bytes into
them, changes the content type and the token in the address.  Every answer
is below 500; only a post with the page's own nonce and one of the three
answers may change the organizer's copy, and then only C's PARTSTAT.
"""

from __future__ import annotations

import http.client
from urllib.parse import quote, urlencode, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.replies.test_seed_scenario import partstat
from tests.web.conftest import invite, start_server
from tests.web.helpers import get_page

ODD = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "99999999999999", "accepted", "DECLINED", "needs-action",
                     "1.x", "\x00", "\ud7ff" * 3, "<script>alert(1)</script>", "a" * 5000,
                     "%ZZ", "tentative\r\nX-Injected: 1"]),
)
TYPES = st.sampled_from([
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1",
    "multipart/form-data; boundary=x", "text/plain", "application/json", "",
])


@st.composite
def mutated_form(draw: st.DrawFn, seed: dict[str, str]) -> tuple[str, bytes, str]:
    fields = [(k, v) for k, v in seed.items()]
    fields.append(("answer", draw(st.sampled_from(["accepted", "tentative", "declined"]))))
    for _ in range(draw(st.integers(0, 4))):
        what = draw(st.sampled_from(["drop", "repeat", "replace", "add"]))
        if what == "drop" and fields:
            fields.pop(draw(st.integers(0, len(fields) - 1)))
        elif what == "repeat" and fields:
            fields.append(fields[draw(st.integers(0, len(fields) - 1))])
        elif what == "replace" and fields:
            i = draw(st.integers(0, len(fields) - 1))
            fields[i] = (fields[i][0], draw(ODD))
        else:
            fields.append((draw(ODD), draw(ODD)))
    body = urlencode(fields, errors="surrogatepass").encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        raw = bytearray(body)
        for _ in range(draw(st.integers(1, 4))):
            if raw:
                raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        body = bytes(raw)
    token_path = draw(st.sampled_from(["same", "same", "same", "other", "odd"]))
    return token_path, body, draw(TYPES)


async def test_mutated_answers_never_fail_and_change_only_what_a_good_form_may(tmp_path, smtp_sink):
    server = start_server(tmp_path, smtp_sink, rsvp_posts_per_minute=0)
    try:
        invited = await invite(server, smtp_sink)
        url = invited.pages["c@example.com"]
        path = urlsplit(url).path
        seed = dict((await get_page(url)).form.fields)
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        _, before = await invited.organizer.copy()
        lines_before = [l for l in before.split("\r\n") if "c@example.com" not in l]

        @settings(max_examples=150, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(mutated_form(seed), st.text(max_size=30))
        def storm(case: tuple[str, bytes, str], odd_token: str) -> None:
            token_path, body, kind = case
            target = {"same": path, "other": path[:-4] + "aaaa",
                      "odd": path.rsplit("/", 1)[0] + "/" + quote(odd_token, safe="")}[token_path]
            headers = {"Content-Type": kind} if kind else {}
            conn.request("POST", target, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            assert response.status < 500, (target, body, kind)
            assert response.status in (303, 400, 403, 404, 409, 413, 415), response.status

        storm()
        conn.close()
        _, after = await invited.organizer.copy()
        # Only C's line (answer, bookkeeping, comment) may have changed.
        assert [l for l in after.split("\r\n") if "c@example.com" not in l] == lines_before
        assert partstat(after, "c@example.com") in ("NEEDS-ACTION", "ACCEPTED", "TENTATIVE", "DECLINED")
        assert partstat(after, "b@example.com") == "NEEDS-ACTION"
        assert (await get_page(url)).status == 200
    finally:
        server.stop()

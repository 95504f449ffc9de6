"""The RSVP page: GET shows the invitation, POST sends the answer.

A GET never changes anything (mail scanners open every link); the answer
link's ``?answer=`` only marks a button.  A POST needs a fresh nonce from
the page (``forms``), is counted against its client address (``limits``;
the address is the one the proxy middleware decided on), and goes to
``services.rsvp.answer``.  After a recorded answer the browser is sent back
to the page (303, Post/Redirect/Get), which then shows the new answer.

Status codes: 200 the page; 303 answered; 400 a form that cannot be read
or names no answer; 403 a missing or stale nonce; 404 no such invitation
(the same page for every reason, so nothing is learned from it); 409 the
event changed, was cancelled, or the answer was refused; 413 a body too
large; 429 too many posts.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import aiohttp_jinja2
from aiohttp import web

from caldav_sched.domain.rsvp import MAX_COMMENT, answer_name, parse_answer
from caldav_sched.services import rsvp as rsvp_service
from caldav_sched.services.rsvp import Invitation, Outcome

from .forms import check_nonce, make_nonce
from .keys import LIMITER, SECRET, SERVICES, STRINGS

MAX_FORM_BYTES = 16 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


async def _secret(request: web.Request) -> bytes:
    cache = request.app[SECRET]
    if cache.value is None:
        cache.value = await rsvp_service.form_secret(request.app[SERVICES]())
    return cache.value


def _now(request: web.Request) -> int:
    return int(request.app[SERVICES]().clock.now().timestamp())


def _message(request: web.Request, status: int, heading: str, text: str,
             headers: dict[str, str] | None = None) -> web.Response:
    response = aiohttp_jinja2.render_template(
        "message.html", request, {"t": request.app[STRINGS], "heading": heading, "text": text},
        status=status,
    )
    response.headers.update(headers or {})
    return response


def _gone(request: web.Request) -> web.Response:
    t = request.app[STRINGS]
    return _message(request, 404, t.gone_title, t.gone_text)


async def _page(
    request: web.Request,
    invitation: Invitation,
    *,
    notices: list[tuple[str, str]],
    status: int = 200,
    chosen: str | None = None,
    comment: str | None = None,
) -> web.Response:
    t = request.app[STRINGS]
    view = invitation.view
    if not invitation.answerable:
        notices = [*notices, ("warn", t.cancelled)]
    elif view.changed:
        notices = [*notices, ("warn", t.changed)]
    token = invitation.token.token
    context = {
        "t": t,
        "view": view,
        "notices": notices,
        "answerable": invitation.answerable,
        "action": request.path,
        "nonce": make_nonce(await _secret(request), token, _now(request)),
        "chosen": chosen,
        "comment": (view.comment if comment is None else comment) or "",
        "max_comment": MAX_COMMENT,
    }
    return aiohttp_jinja2.render_template("rsvp.html", request, context, status=status)


async def show(request: web.Request) -> web.Response:
    """GET: the invitation and the answer form; changes nothing."""
    services = request.app[SERVICES]()
    invitation = await rsvp_service.open_invitation(services, request.match_info["token"])
    if invitation is None:
        return _gone(request)
    t = request.app[STRINGS]
    view = invitation.view
    notices: list[tuple[str, str]] = []
    chosen = request.query.get("answer", "").lower()
    if parse_answer(chosen) is None or not invitation.answerable:
        chosen = ""
    # The notes after a post speak only of what is stored now.
    for key, template in (("answered", t.answered), ("unchanged", t.unchanged)):
        partstat = parse_answer(request.query.get(key))
        if partstat is not None and partstat == view.answer:
            notices.append(("ok", template.format(answer=t.answer_word(partstat))))
            chosen = ""
    if chosen:
        notices.append(("info", t.chosen_note.format(answer=t.buttons[chosen])))
    return await _page(request, invitation, notices=notices, chosen=chosen or None)


async def _read_form(request: web.Request) -> dict[str, str] | None:
    """The posted fields (first value of each), None when the body is not a form."""
    if request.content_type != FORM_TYPE:
        return None
    body = await request.content.read(MAX_FORM_BYTES + 1)
    if len(body) > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_FORM_BYTES, actual_size=len(body))
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          max_num_fields=20, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[0] for name, values in fields.items()}


async def answer(request: web.Request) -> web.Response:
    """POST: record the answer, then send the browser back to the page."""
    t = request.app[STRINGS]
    limiter = request.app[LIMITER]
    client = request.remote or ""
    if not limiter.allow(client):
        return _message(request, 429, t.too_many_title, t.too_many_text,
                        {"Retry-After": str(limiter.retry_after(client))})
    services = request.app[SERVICES]()
    token = request.match_info["token"]
    try:
        form = await _read_form(request)
    except web.HTTPRequestEntityTooLarge:
        return _message(request, 413, t.bad_request_title, t.bad_request_text)
    invitation = await rsvp_service.open_invitation(services, token)
    if invitation is None:
        return _gone(request)
    if form is None:
        return _message(request, 400, t.bad_request_title, t.bad_request_text)
    comment = form.get("comment", "")[:MAX_COMMENT]
    if not check_nonce(await _secret(request), token, form.get("nonce", ""), _now(request)):
        return await _page(request, invitation, notices=[("error", t.form_expired)], status=403,
                           comment=comment)
    partstat = parse_answer(form.get("answer"))
    version = form.get("version", "")
    if partstat is None or not version.isdigit() or len(version) > 9:
        return await _page(request, invitation, notices=[("error", t.choose_answer)], status=400,
                           comment=comment)
    result = await rsvp_service.answer(
        services, token, partstat, comment=comment, seen_version=int(version)
    )
    if result.outcome in (Outcome.APPLIED, Outcome.UNCHANGED):
        key = "answered" if result.outcome is Outcome.APPLIED else "unchanged"
        raise web.HTTPSeeOther(location=f"{request.path}?{key}={answer_name(partstat)}")
    if result.invitation is None:
        return _gone(request)
    notice = {
        Outcome.STALE: ("warn", t.stale),
        Outcome.CLOSED: None,  # the page says "cancelled" itself
    }.get(result.outcome, ("error", t.not_recorded))
    return await _page(request, result.invitation, notices=[notice] if notice else [],
                       status=409, comment=comment)

"""Every word the RSVP pages show, in one place so a translation can be added.

Templates take their text only from a ``Strings`` object (``t`` in the
templates); a translation is another ``Strings`` with the same fields,
registered in ``LANGUAGES``.  ``{name}`` marks a value filled in at render time.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Strings:
    lang: str = "en"
    site: str = "Invitation"
    page_title: str = "Your answer: {title}"
    invited_as: str = "Invited as"
    when: str = "When"
    your_time: str = "Your time"
    repeats: str = "Repeats"
    where: str = "Where"
    organizer: str = "Organizer"
    description: str = "Details"
    your_answer: str = "Your answer"
    comment_label: str = "A note for the organizer (optional)"
    comment_hint: str = "Sent with your answer; at most {max} characters."
    answer_legend: str = "Will you attend?"
    series_note: str = (
        "This is a repeating event. Your answer applies to every occurrence; "
        "to answer for one occurrence only, use your calendar program."
    )
    cancelled_occurrences: str = "Cancelled occurrences"
    chosen_note: str = "You chose “{answer}” in the invitation. Press it below to send your answer."
    answered: str = "Thank you. Your answer “{answer}” has been sent to the organizer."
    unchanged: str = "Your answer “{answer}” was already recorded; nothing was changed."
    changed: str = (
        "This event has changed since you last answered. Please check the details "
        "and answer again."
    )
    stale: str = (
        "This event changed after you opened this page, so your answer was not "
        "recorded. Please check the new details and answer again."
    )
    cancelled: str = "This event has been cancelled. There is nothing to answer."
    form_expired: str = (
        "This form is too old or did not come from this page, so nothing was "
        "changed. Please press your answer again."
    )
    choose_answer: str = "Please choose Accept, Maybe or Decline."
    not_recorded: str = "Your answer could not be recorded. Nothing was changed."
    gone_title: str = "This invitation is no longer valid"
    gone_text: str = (
        "The link may be mistyped, or the organizer has changed or removed the "
        "invitation. If you expected to answer here, ask the organizer for a new one."
    )
    too_many_title: str = "Too many answers"
    too_many_text: str = "Please wait a minute and try again."
    bad_request_title: str = "This request could not be read"
    bad_request_text: str = "Please go back to the invitation page and press your answer again."
    answers: dict[str, str] = field(
        default_factory=lambda: {
            "ACCEPTED": "Accepted",
            "TENTATIVE": "Maybe",
            "DECLINED": "Declined",
            "NEEDS-ACTION": "Not answered yet",
            "DELEGATED": "Delegated to someone else",
        }
    )
    buttons: dict[str, str] = field(
        default_factory=lambda: {"accepted": "Accept", "tentative": "Maybe", "declined": "Decline"}
    )

    def answer_word(self, partstat: str) -> str:
        return self.answers.get(partstat, partstat.title())


LANGUAGES: dict[str, Strings] = {"en": Strings()}
DEFAULT = LANGUAGES["en"]

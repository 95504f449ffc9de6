"""What changed between two versions of one component, and whether it matters.

Owns the significance rule of design.md ("Scheduling rules"): a change to
DTSTART, DTEND/DURATION (DUE for tasks), RRULE/RDATE/EXDATE, LOCATION,
SUMMARY or STATUS is *significant*: SEQUENCE goes up, PARTSTATs go back to
NEEDS-ACTION (RFC 6638 §3.2.8) and every attendee is re-invited.  A change to
other properties attendees see (DESCRIPTION, URL, ...) is *cosmetic*: it is
mailed as an update with the same SEQUENCE (RFC 5546 §2.1.5, DTSTAMP orders
it) and PARTSTATs stay.  Anything else (DTSTAMP, LAST-MODIFIED, alarms,
X- properties such as Thunderbird's X-MOZ-GENERATION, attendee parameters)
sends nothing.

Values are compared by meaning: times as instants, RRULE parts in any order
and without a redundant INTERVAL=1, text without surrounding white space.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from icalendar.cal import Component

from .instances import Key, Series, date_keys

TIME_PROPERTIES = ("DTSTART", "DTEND", "DUE")
RECURRENCE_PROPERTIES = ("RRULE", "RDATE", "EXDATE")
CONTENT_PROPERTIES = ("LOCATION", "SUMMARY", "STATUS")
COSMETIC_PROPERTIES = (
    "DESCRIPTION", "URL", "ATTACH", "CONFERENCE", "GEO", "CLASS", "PRIORITY",
    "RESOURCES", "CONTACT", "COMMENT", "CATEGORIES", "IMAGE",
)


@dataclass(frozen=True)
class Changes:
    """Names of changed properties, split by consequence."""

    significant: tuple[str, ...] = ()
    cosmetic: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.significant or self.cosmetic)

    @property
    def moved(self) -> bool:
        """True when the instance's time changed (not just its text)."""
        return any(n in TIME_PROPERTIES or n == "DURATION" for n in self.significant)

    def describe(self, prefix: str = "") -> str:
        """A short human reason, e.g. ``event moved: DTSTART, DTEND changed``."""
        times = [n for n in self.significant if n in (*TIME_PROPERTIES, "DURATION")]
        rules = [n for n in self.significant if n in RECURRENCE_PROPERTIES]
        content = [n for n in self.significant if n in CONTENT_PROPERTIES]
        parts = []
        if times:
            parts.append(f"event moved: {', '.join(times)} changed")
        if rules:
            parts.append(f"recurrence changed: {', '.join(rules)} changed")
        if content:
            parts.append(f"event changed: {', '.join(content)} changed")
        if self.cosmetic:
            parts.append(f"details updated: {', '.join(self.cosmetic)} changed")
        return prefix + "; ".join(parts)


def _dt(comp: Component, name: str) -> date | datetime | None:
    prop = comp.get(name)
    return getattr(prop, "dt", None) if prop is not None else None


def _end(comp: Component, series: Series) -> Key | None:
    """The effective end, so that DTEND and an equal DURATION compare equal."""
    start = _dt(comp, "DTSTART")
    for name in ("DTEND", "DUE"):
        value = _dt(comp, name)
        if value is not None:
            return series.key(value)
    duration = _dt(comp, "DURATION")
    if start is not None and isinstance(duration, timedelta):
        return series.key(start + duration)
    return None


def _rrule(comp: Component, series: Series) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    rule = comp.get("RRULE")
    if rule is None:
        return None
    rules = rule if isinstance(rule, list) else [rule]
    parts: dict[str, tuple[str, ...]] = {}
    for one in rules:
        for name, values in one.items():
            values = values if isinstance(values, list) else [values]
            texts = []
            for v in values:
                if isinstance(v, (date, datetime)):
                    texts.append(str(series.key(v)))
                else:
                    texts.append(str(v).upper())
            parts[name.upper()] = tuple(sorted(texts))
    if parts.get("INTERVAL") == ("1",):
        del parts["INTERVAL"]
    return tuple(sorted(parts.items()))


def _text(comp: Component, name: str) -> str | None:
    value = comp.get(name)
    if value is None:
        return None
    if isinstance(value, list):
        return "\n".join(sorted(v.to_ical().decode() if hasattr(v, "to_ical") else str(v) for v in value))
    if hasattr(value, "to_ical") and not isinstance(value, str):
        return value.to_ical().decode()
    text = str(value).strip()
    return text.upper() if name == "STATUS" else text


def compare(old: Component, new: Component, old_series: Series, new_series: Series) -> Changes:
    """The changes from ``old`` to ``new`` (two versions of the same instance)."""
    significant: list[str] = []
    start_old, start_new = _dt(old, "DTSTART"), _dt(new, "DTSTART")
    if (start_old is None) != (start_new is None) or (
        start_old is not None
        and (
            type(start_old) is not type(start_new)
            or old_series.key(start_old) != new_series.key(start_new)
        )
    ):
        significant.append("DTSTART")
    if _end(old, old_series) != _end(new, new_series):
        significant.append("DURATION" if new.get("DURATION") is not None else "DTEND")
    if _rrule(old, old_series) != _rrule(new, new_series):
        significant.append("RRULE")
    for name in ("RDATE", "EXDATE"):
        if date_keys(old, name, old_series) != date_keys(new, name, new_series):
            significant.append(name)
    for name in CONTENT_PROPERTIES:
        if _text(old, name) != _text(new, name):
            significant.append(name)
    cosmetic = [n for n in COSMETIC_PROPERTIES if _text(old, n) != _text(new, n)]
    return Changes(tuple(significant), tuple(cosmetic))


def compare_instance(master: Component, override: Component, series: Series) -> Changes:
    """How an override differs from the instance its master would generate.

    Used when an override appears or disappears: a moved or re-titled
    instance is a significant change for that instance only.
    """
    significant: list[str] = []
    rid = override.get("RECURRENCE-ID")
    start = _dt(override, "DTSTART")
    if rid is not None and start is not None and series.key(rid.dt) != series.key(start):
        significant.append("DTSTART")
    m_start, m_end = _dt(master, "DTSTART"), _end(master, series)
    o_end = _end(override, series)
    if m_start is not None and m_end is not None and start is not None and o_end is not None:
        m_len = _span(series.key(m_start), m_end)
        o_len = _span(series.key(start), o_end)
        if m_len != o_len:
            significant.append("DTEND")
    for name in CONTENT_PROPERTIES:
        if _text(master, name) != _text(override, name):
            significant.append(name)
    cosmetic = [n for n in COSMETIC_PROPERTIES if _text(master, n) != _text(override, n)]
    return Changes(tuple(significant), tuple(cosmetic))


def _span(start: Key, end: Key) -> timedelta:
    if isinstance(start, datetime) != isinstance(end, datetime):
        return timedelta(0)
    return end - start  # type: ignore[operator]

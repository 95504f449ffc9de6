"""The root of every exception the project raises on purpose.

A leaf module: it imports nothing from the project.  Each layer derives its
own vocabulary from ``CaldavSchedError`` (the store speaks of UID conflicts and
ETag mismatches, the DAV layer of preconditions) and translates at its
boundary with ``raise ... from exc``.  A subclass's docstring is its default
message, so ``raise EtagMismatch()`` still says something useful.
"""

from __future__ import annotations


class CaldavSchedError(Exception):
    """Something went wrong in caldav_sched."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip().splitlines()[0])

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(CaldavSchedError):
    """The configuration is not valid."""


class InvalidCalendarData(CaldavSchedError):
    """The iCalendar data could not be understood."""

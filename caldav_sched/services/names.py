"""Which names the server stores: calendars' paths and resources' names.

One path segment, at most 255 characters, not ``.`` or ``..``, and no NUL:
PostgreSQL's text cannot hold one, so both backends refuse it alike, with
a 4xx.  Other control characters are stored as they came (answers carry
them percent-encoded in hrefs and replaced in XML text).
"""

from __future__ import annotations

MAX_NAME_LENGTH = 255


def is_storable_name(name: str) -> bool:
    """Whether *name* can be the name of a calendar or of a resource in one."""
    return (
        0 < len(name) <= MAX_NAME_LENGTH
        and "/" not in name
        and name not in (".", "..")
        and "\x00" not in name
    )

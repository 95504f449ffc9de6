"""HTTP-facing errors of the DAV layer, one class per condition.

Each class carries its HTTP status and, where WebDAV or CalDAV defines one,
the Clark name of the precondition element that goes inside ``DAV:error``.
RFC 4791 section 1.3: 403 when the request can never succeed, 409 when the
client can fix it and resubmit.  Handlers only ``raise``; the middleware in
``dav.middleware`` is the one place that renders these into responses.
"""

from __future__ import annotations

from caldav_sched.errors import CaldavSchedError

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"


class DavError(CaldavSchedError):
    """The request could not be served."""

    status: int = 500
    precondition: str | None = None

    def __init__(self, message: str | None = None, *, href: str | None = None) -> None:
        super().__init__(message)
        self.href = href


# -- plain HTTP conditions -------------------------------------------------


class BadRequest(DavError):
    """The request is malformed."""

    status = 400


class Unauthorized(DavError):
    """Authentication is required."""

    status = 401


class Forbidden(DavError):
    """You may not access this resource."""

    status = 403


class NotFound(DavError):
    """No resource at this URL."""

    status = 404


class MethodNotAllowed(DavError):
    """This method is not allowed on this resource."""

    status = 405

    def __init__(self, message: str | None = None, *, allow: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.allow = allow


class Conflict(DavError):
    """The request conflicts with the state of the resource."""

    status = 409


class PreconditionFailed(DavError):
    """A conditional header did not match."""

    status = 412


class BadGateway(DavError):
    """The Destination of a COPY or MOVE is not on this server (RFC 4918 9.8.5)."""

    status = 502


# -- WebDAV and CalDAV preconditions (rendered with a DAV:error body) --------


class ValidCalendarData(DavError):
    """The body is not valid iCalendar data."""

    status = 403
    precondition = f"{{{CALDAV}}}valid-calendar-data"


class SupportedCalendarData(DavError):
    """The body is not of a calendar media type this server takes."""

    status = 403
    precondition = f"{{{CALDAV}}}supported-calendar-data"


class ValidCalendarObjectResource(DavError):
    """A calendar object resource holds one UID and one component type."""

    status = 403
    precondition = f"{{{CALDAV}}}valid-calendar-object-resource"


class SupportedCalendarComponent(DavError):
    """This calendar does not take that component type."""

    status = 403
    precondition = f"{{{CALDAV}}}supported-calendar-component"


class NoUidConflict(DavError):
    """Another resource in this calendar already uses that UID."""

    status = 409
    precondition = f"{{{CALDAV}}}no-uid-conflict"


class MaxResourceSize(DavError):
    """The calendar object is larger than this server stores."""

    status = 403
    precondition = f"{{{CALDAV}}}max-resource-size"


class MaxInstances(DavError):
    """A recurrence rule generates more instances than this server allows (RFC 4791 5.3.2.1)."""

    status = 403
    precondition = f"{{{CALDAV}}}max-instances"


class ValidFilter(DavError):
    """The calendar-query filter is not valid."""

    status = 403
    precondition = f"{{{CALDAV}}}valid-filter"


class SupportedFilter(DavError):
    """The calendar-query filter uses something this server does not support."""

    status = 403
    precondition = f"{{{CALDAV}}}supported-filter"


class SupportedCollation(DavError):
    """The text-match collation is not supported."""

    status = 403
    precondition = f"{{{CALDAV}}}supported-collation"


class CalendarCollectionLocationOk(DavError):
    """A calendar cannot be created here."""

    status = 403
    precondition = f"{{{CALDAV}}}calendar-collection-location-ok"


class ResourceMustBeNull(DavError):
    """A resource already exists at this URL."""

    status = 405
    precondition = f"{{{DAV}}}resource-must-be-null"


class ValidSyncToken(DavError):
    """The sync-token is not one this collection issued."""

    status = 403
    precondition = f"{{{DAV}}}valid-sync-token"


class NumberOfMatchesWithinLimits(DavError):
    """The result would be larger than this server returns."""

    status = 507
    precondition = f"{{{DAV}}}number-of-matches-within-limits"


class SupportedReport(DavError):
    """This report is not supported on this resource."""

    status = 403
    precondition = f"{{{DAV}}}supported-report"


class PropfindFiniteDepth(DavError):
    """PROPFIND with Depth: infinity is not served (RFC 4918 9.1)."""

    status = 403
    precondition = f"{{{DAV}}}propfind-finite-depth"


class ValidResourcetype(DavError):
    """Only calendar collections can be created here."""

    status = 403
    precondition = f"{{{DAV}}}valid-resourcetype"

"""What a use case can refuse, in the domain's words (no HTTP here)."""

from __future__ import annotations

from caldav_sched.errors import CaldavSchedError


class ServiceError(CaldavSchedError):
    """The operation was refused."""


class NotFound(ServiceError):
    """No such resource."""


class AlreadyExists(ServiceError):
    """Something already exists there."""


class PreconditionFailed(ServiceError):
    """The resource is not in the state the request expected."""


class UidInUse(ServiceError):
    """Another resource in the calendar holds this UID."""

    def __init__(self, name: str, *, path: str | None = None) -> None:
        super().__init__(f"UID already used by {name}")
        self.name = name
        # The calendar that holds it, when it is not the one written to.
        self.path = path


class DestinationScheduled(ServiceError):
    """A COPY or MOVE would replace a scheduled event whose attendees would never hear of it."""


class ComponentNotSupported(ServiceError):
    """This calendar does not take that kind of component."""


class ResourceTooLarge(ServiceError):
    """The calendar object is too large."""


class TooManyInstances(ServiceError):
    """A recurrence rule of the object repeats more often than this server keeps."""


class NotAllowed(ServiceError):
    """That is not allowed on this resource."""


class InvalidInput(ServiceError):
    """The input is not valid."""


class InvalidSyncToken(ServiceError):
    """The sync-token was not issued by this collection."""


class UnknownUser(ServiceError):
    """No such user."""


class Contention(ServiceError):
    """The resource kept changing while this write was prepared; try again."""


class AlreadyStored(ServiceError):
    """A message read from a mailbox was stored before (a crash came before its move)."""

    def __init__(self, inbound_id: int) -> None:
        super().__init__(f"already stored as #{inbound_id}")
        self.inbound_id = inbound_id

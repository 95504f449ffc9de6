"""caldav_sched: a CalDAV server with iTIP scheduling over email."""

__version__ = "0.1.0"

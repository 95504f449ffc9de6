"""The ``caldav-sched`` command line: thin parsers that call services."""

"""The job queue's workers: claim a job, run its task, settle it.

Jobs live in the database (``store.jobs``); tasks live in ``services``.
This package only schedules: when to run, how often to retry, when to stop.
"""

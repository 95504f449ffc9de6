"""Numbered SQL migrations per backend (sqlite/, postgresql/), shipped as caldav_sched.migrations."""

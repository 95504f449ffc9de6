"""``python -m caldav_sched`` runs the admin command line."""

from caldav_sched.cli.main import main

raise SystemExit(main())

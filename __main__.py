"""Run frontdesk as `python -m frontdesk`."""

from frontdesk.cli import main

raise SystemExit(main())

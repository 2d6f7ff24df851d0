"""`python -m analytics` runs the same CLI as the `shoplens` command."""

from analytics.cli import main

raise SystemExit(main())

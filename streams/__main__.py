"""`python -m streams …` is the `cartwright` command."""

from streams.cli.main import main

raise SystemExit(main())

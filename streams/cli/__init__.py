"""The cartwright command line: worker, broker, sandboxes, backfill, journal, topics, demo."""

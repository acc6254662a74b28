"""The normalized contract: what Cartwright publishes, on which topics, described in files."""

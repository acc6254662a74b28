"""Adobe Commerce: the REST client (auth, session, search, paging, deltas, labels)."""

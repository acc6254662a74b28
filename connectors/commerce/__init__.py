"""Adobe Commerce: event signatures and the REST client (auth, search, paging, deltas, labels)."""

"""Adobe Commerce: event signatures and (later) the REST client."""

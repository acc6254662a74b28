"""Adobe Commerce as Cartwright meets it: the payloads it sends, and the write-back it receives."""

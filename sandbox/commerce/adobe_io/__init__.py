"""Adobe I/O Events' part: signing keys, signed webhook delivery and retries, outbox, faults, journal."""

"""Adobe I/O Events: delivery signature verification and the journal client."""

"""One Dotdigital account, no HTTP: contacts and consent, insight, imports, programs, limits, faults."""

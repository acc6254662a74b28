"""The Dotdigital sandbox over HTTP: server, the gate every call passes, v2/v3 routes, admin, wire shapes."""

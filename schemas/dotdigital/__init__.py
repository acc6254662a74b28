"""Dotdigital as Cartwright writes to it: API bodies, insight records, data fields, commands."""

"""Replay after an incident, as pure rules: what a window or a dead-letter replay selects, by
event time, and the raw topic's event-time index."""

"""Writes to Dotdigital: two lanes, batch plans, batch and realtime writers, consent writes."""

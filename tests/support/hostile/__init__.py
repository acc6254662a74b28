"""Hostile deliveries to the webhook: the cases, how they are sent, and the accounting of their events."""

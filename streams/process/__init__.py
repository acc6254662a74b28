"""Raw events to per-email facts: normalize, the join and its rules, product attributes."""

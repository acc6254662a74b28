"""Reconciliation: Commerce's orders and credit memos against Dotdigital's records, on demand
and on the leader's schedule."""

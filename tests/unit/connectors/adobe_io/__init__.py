"""Tests of the Adobe I/O Events connector: signatures and the journal client."""

"""Tests of the Dotdigital connector."""

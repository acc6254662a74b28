"""Tests of the Adobe Commerce REST connector."""

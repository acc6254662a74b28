"""Tests of the benchmarks' own pure parts."""

"""Unit tests: no network, no real sleeps."""

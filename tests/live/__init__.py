"""Tests against a real Authing / GenAuth app; skipped unless its credentials are set."""

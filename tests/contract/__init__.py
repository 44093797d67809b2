"""Contract tests: the spec against the mock server and the client."""

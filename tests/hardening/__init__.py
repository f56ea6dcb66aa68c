"""Hardening suites: API fuzzing, the authorization matrix, data at rest, many processes."""

"""The transactional outbox: events enqueued in the caller's transaction, delivered at least once."""

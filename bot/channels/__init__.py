"""Channel adapters: provider requests in, outbox rows out."""

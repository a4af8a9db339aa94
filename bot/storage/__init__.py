"""Persistence: tables, engines, migrations, the outbox."""

"""Call reminders: one job per event and offset, one outbox row per person, exactly once."""

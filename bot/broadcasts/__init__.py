"""Broadcasts: one message to many smallholders, through the outbox, exactly once each."""

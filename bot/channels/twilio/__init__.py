"""WhatsApp and SMS through Twilio: one adapter, one inbound route, since Twilio sends one form."""

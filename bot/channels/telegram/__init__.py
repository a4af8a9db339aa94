"""Telegram: python-telegram-bot for parsing updates and the Bot API; our flows stay ours."""

import os

# PTB 22 warns when RetryAfter.retry_after is read as seconds; opt in to its timedelta form.
os.environ.setdefault("PTB_TIMEDELTA", "1")

"""Twilio status callbacks -> delivery reports."""

from __future__ import annotations

from collections.abc import Mapping

from bot.channels.twilio.errors import meaning
from bot.storage.delivery import Report

# Twilio's message statuses, in our words. "undelivered" and "failed" are both failures.
STATUSES = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}
EFFECTS = {"opted_out": "opted_out", "unreachable": "unreachable", "template": "outside_window"}


def report_from(form: Mapping[str, str]) -> Report | None:
    sid = form.get("MessageSid") or form.get("SmsSid")
    provider_status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    status = STATUSES.get(provider_status)
    if not sid or status is None:
        return None
    code = _code(form.get("ErrorCode"))
    if status != "failed":
        return Report(sid, status, provider_status)
    found = meaning(code)
    label = f"twilio {code}" if code else f"twilio {provider_status}"
    return Report(
        sid,
        status,
        provider_status,
        error_code=str(code) if code else None,
        error=f"{label}: {found.reason}",
        effect=EFFECTS.get(found.outcome),
    )


def _code(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None

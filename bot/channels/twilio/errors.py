"""Twilio's error codes, translated into what the outbox should do. One table, one place."""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels.base import SendResult


@dataclass(frozen=True)
class Meaning:
    outcome: str  # retry, failed, unreachable, opted_out, template
    reason: str


# https://www.twilio.com/docs/api/errors
CODES: dict[int, Meaning] = {
    20429: Meaning("retry", "too many requests"),
    63018: Meaning("retry", "rate limit for this sender exceeded"),
    21610: Meaning("opted_out", "the recipient sent STOP"),
    63014: Meaning("unreachable", "the recipient blocked messages from us"),
    21211: Meaning("unreachable", "invalid phone number"),
    21614: Meaning("unreachable", "not a mobile number"),
    30005: Meaning("unreachable", "unknown or inactive number"),
    30006: Meaning("unreachable", "landline or unreachable carrier"),
    63003: Meaning("unreachable", "not a WhatsApp number"),
    63016: Meaning("template", "outside the WhatsApp 24-hour window"),
    30003: Meaning("failed", "handset unreachable"),
    30007: Meaning("failed", "filtered by the carrier"),
    30008: Meaning("failed", "unknown delivery error"),
    21408: Meaning("failed", "sending to this region is not enabled"),
    21608: Meaning("failed", "trial account: number not verified"),
}


def meaning(code: int | None, http_status: int | None = None) -> Meaning:
    if code is not None and code in CODES:
        return CODES[code]
    if http_status is not None and (http_status == 429 or http_status >= 500):
        return Meaning("retry", f"HTTP {http_status}")
    return Meaning("failed", "rejected")


def result_for(code: int | None, http_status: int | None, message: str = "") -> SendResult:
    found = meaning(code, http_status)
    label = f"twilio {code}" if code else f"twilio HTTP {http_status}"
    error = f"{label}: {found.reason}"
    if found.outcome == "template":
        # The caller switches the message to an approved template (or SMS) and tries again.
        return SendResult(
            "retry", error=error, retry_after=0.0, payload_update={"route": "outside_window"}
        )
    return SendResult(found.outcome, error=error)  # type: ignore[arg-type]

"""What every channel adapter shares: capabilities, the inbound message, the sender contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class Capabilities:
    name: str
    buttons: bool  # can show a reply keyboard for choices
    max_length: int  # characters per provider message
    paragraph: str  # between blocks of one answer: SMS saves every character


CHANNELS = {
    # Twilio accepts bodies up to 1600 characters for SMS and WhatsApp; it concatenates SMS.
    "sms": Capabilities("sms", buttons=False, max_length=1600, paragraph="\n"),
    "whatsapp": Capabilities("whatsapp", buttons=False, max_length=1600, paragraph="\n\n"),
    "telegram": Capabilities("telegram", buttons=True, max_length=4096, paragraph="\n\n"),
}


# Twilio's forms and Telegram's updates are a few KB. A webhook body over this is refused with
# 413 before it is parsed: nobody may make us read (and hold) megabytes before we know who sent
# it, and Starlette's form parser limits each part, not the whole.
MAX_WEBHOOK_BYTES = 64 * 1024


def capabilities(channel: str) -> Capabilities:
    return CHANNELS[channel]


@dataclass(frozen=True)
class InboundMessage:
    """One message from a person, as every adapter hands it to the pipeline."""

    channel: str  # sms, whatsapp, telegram
    address: str  # the channel's own id for the sender: +E164, or a Telegram chat id
    dedupe_key: str  # the provider's id for this message; a redelivery carries the same one
    text: str = ""
    phone: str | None = None  # E.164, when the channel knows it
    media_url: str | None = None
    display_name: str | None = None
    language_hint: str | None = None  # e.g. Telegram's user.language_code
    edited: bool = False  # a correction of an earlier message, not a new answer
    received_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# held: cannot be sent as things stand (no template outside the WhatsApp window); kept, reported
Outcome = Literal["sent", "retry", "failed", "unreachable", "opted_out", "held"]


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_id: str | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds the provider asked us to wait
    payload_update: dict[str, Any] | None = None  # how to send it next time (e.g. a template)
    # The request may have reached the provider (a 5xx, a timeout after sending): before a
    # retry, the sender checks whether the message exists, so nobody gets it twice.
    ambiguous: bool = False


@dataclass(frozen=True)
class Envelope:
    """An outbox row as a sender sees it."""

    id: int
    channel: str
    address: str
    text: str
    payload: dict[str, Any]
    language: str | None = None
    kind: str = "reply"
    phone: str | None = None  # the person's number, for an SMS fallback
    last_inbound_at: datetime | None = None  # WhatsApp's 24-hour window starts here
    # An earlier attempt may have gone out (its sender died, or the provider's answer was
    # ambiguous): a sender that can ask the provider checks before sending again.
    uncertain: bool = False
    first_tried_at: datetime | None = None  # the row's creation: where to look from


class Sender(Protocol):
    async def send(self, envelope: Envelope) -> SendResult: ...


async def wait_turn(sender: Sender, envelope: Envelope) -> None:
    """Wait for the sender's pace to allow this message (senders that pace have `ready`).

    The dispatcher waits here, not inside `send`, so that it can look once more at the
    recipient after the wait: someone who sent STOP meanwhile gets nothing."""
    ready = getattr(sender, "ready", None)
    if ready is not None:
        await ready(envelope)

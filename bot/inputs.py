"""What a turn reads from an inbound message: provider fields made plain, the engine's input."""

from __future__ import annotations

from dataclasses import replace

from bot.channels.base import InboundMessage
from bot.engine.keywords import fold
from bot.engine.state import Input, InputKind
from bot.text import CONTROL, Normalised, plain_field


def plain_inbound(inbound: InboundMessage) -> InboundMessage:
    """Whatever a provider sends, no control character reaches the database (the text itself
    is cleaned by `normalise`)."""
    fields = (
        inbound.address,
        inbound.dedupe_key,
        inbound.phone,
        inbound.media_url,
        inbound.display_name,
        inbound.language_hint,
    )
    name = inbound.display_name
    if not any(value and CONTROL.search(value) for value in fields) and name == _name(name):
        return inbound  # as nearly always: no copy made
    return replace(
        inbound,
        address=plain_field(inbound.address) or "",
        dedupe_key=plain_field(inbound.dedupe_key) or "",
        phone=plain_field(inbound.phone),
        media_url=plain_field(inbound.media_url),
        display_name=_name(name),
        language_hint=plain_field(inbound.language_hint),
    )


def _name(value: str | None) -> str | None:
    """A name as others will read it: plain, trimmed, or none at all."""
    return (plain_field(value) or "").strip() or None


def engine_input(
    inbound: InboundMessage,
    normalised: Normalised,
    labels: list[str],
    limit: int,
) -> Input:
    kind: InputKind
    if inbound.edited:
        kind = "edited"
    elif normalised.too_long:
        kind = "too_long"
    elif normalised.text:
        kind = "text"
    elif inbound.media_url:
        kind = "media"
    else:
        kind = "empty"
    number = normalised.number
    tapped = False
    if number is None and kind == "text":
        number = _label_number(normalised.text, labels)
        tapped = number is not None
    return Input(
        text=normalised.text,
        kind=kind,
        number=number,
        tapped=tapped,
        length=normalised.length,
        limit=limit,
    )


def _label_number(text: str, labels: list[str]) -> int | None:
    """A tapped Telegram button, or a typed label, counts as the option's number."""
    folded = fold(text)
    return next((i for i, label in enumerate(labels, 1) if fold(label) == folded), None)

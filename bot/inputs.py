"""What a turn reads from an inbound message: provider fields made plain, the engine's input."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from bot.channels.base import InboundMessage
from bot.engine.keywords import KeywordTable, bare, fold
from bot.engine.state import Input, InputKind
from bot.text import CONTROL, Normalised, plain_field

# A typed start of a label must be at least this long: "n" could begin many labels.
MIN_PREFIX = 3


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
    words: KeywordTable | None = None,
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
        number = _label_number(normalised.text, labels, words)
        tapped = number is not None
    return Input(
        text=normalised.text,
        kind=kind,
        number=number,
        tapped=tapped,
        length=normalised.length,
        limit=limit,
    )


def _label_number(text: str, labels: list[str], words: KeywordTable | None) -> int | None:
    """A tapped Telegram button, or a typed label, counts as the option's number: the label
    itself, or without its accents, or the start of just one label ("calendar" for
    "Calendar file"). A keyword or a plain yes/no is never read as the start of a label:
    those mean what they mean (the engine matches yes/no to the options marked so)."""
    folded = fold(text)
    if not folded:
        return None
    exact = next((i for i, label in enumerate(labels, 1) if fold(label) == folded), None)
    if exact is not None or words is None or words.match(text) or words.answer(text):
        return exact
    typed = bare(folded)
    unaccented = [bare(fold(label)) for label in labels]
    same = _only(i for i, label in enumerate(unaccented, 1) if label == typed)
    if same is not None or len(typed) < MIN_PREFIX:
        return same
    return _only(i for i, label in enumerate(unaccented, 1) if label.startswith(typed))


def _only(numbers: Iterable[int]) -> int | None:
    found = list(numbers)
    return found[0] if len(found) == 1 else None

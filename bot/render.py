"""Turn a turn's events into the one answer a person gets, drawn for their channel.

The same `AskChoice` becomes a numbered list on SMS and WhatsApp and reply-keyboard buttons on
Telegram. Long answers are split at paragraph, line or word boundaries for the channel; on SMS
no message is longer than 3 parts (see `sms_messages`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from bot.channels.base import Capabilities
from bot.engine.events import AskChoice, AskText, Event, SendText
from bot.engine.messages import (
    Amount,
    CountryName,
    LanguageName,
    Literal,
    LocalTime,
    Mention,
    Msg,
    Param,
    ZoneName,
    msg,
)
from bot.i18n.formatting import Reader
from bot.mentions import longest_form, marker
from bot.sms import MAX_SMS_SEGMENTS, cheaper, segments
from bot.text import unicode_to_zawgyi

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    parts: tuple[str, ...]
    buttons: tuple[str, ...] = ()  # a reply keyboard, sent with the last part
    labels: tuple[str, ...] = ()  # the choice labels shown, in number order (for matching)

    @property
    def text(self) -> str:
        return "\n".join(self.parts)


# Answers drawn lately, by (events, reader, channel): most turns draw one of a few hundred
# answers (a menu, a question) for one of a few readers, and drawing one anew costs five times
# what a cached one does. Bounded: an entry held about 2.6 KB in the pipeline benchmark's
# turns (key and answer), so at most about 5 MB.
RENDERED_CACHE_SIZE = 2048


def render(events: Iterable[Event], reader: Reader, channel: Capabilities) -> Reply | None:
    """Pure: the same events for the same reader and channel give the same answer."""
    try:
        key = _Key((tuple(events), reader, channel))
    except TypeError:  # an event holding a mapping (a submitted form): drawn every time
        return _render(events, reader, channel)
    return _render_cached(key)


class _Key:
    """The arguments, hashed once (hashing nested events is a tenth of a cached answer's
    cost; `lru_cache` would hash them again)."""

    __slots__ = ("args", "hash")

    def __init__(self, args: tuple[tuple[Event, ...], Reader, Capabilities]) -> None:
        self.args = args
        self.hash = hash(args)  # TypeError if something in it cannot be hashed

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self.args == other.args


@lru_cache(maxsize=RENDERED_CACHE_SIZE)
def _render_cached(key: _Key) -> Reply | None:
    return _render(*key.args)


def forget_drawn() -> None:
    """Drop every answer kept: some were drawn for someone who has just erased their data."""
    _render_cached.cache_clear()


def _render(events: Iterable[Event], reader: Reader, channel: Capabilities) -> Reply | None:
    blocks: list[str] = []
    buttons: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    for event in events:
        if isinstance(event, SendText):
            blocks.append(to_text(event.text, reader))
        elif isinstance(event, AskText):
            blocks.append(to_text(event.prompt, reader))
            buttons, labels = (), ()
        elif isinstance(event, AskChoice):
            labels = tuple(to_text(o.label, reader) for o in event.options)
            if event.prompt is not None:
                blocks.append(to_text(event.prompt, reader))
            if channel.buttons:
                buttons = labels
            else:
                blocks.append(_numbered(labels, reader, hint=event.prompt is not None))
    if not blocks and not buttons:
        return None
    if reader.zawgyi and reader.language == "my":
        blocks = [unicode_to_zawgyi(b) for b in blocks]
        buttons = tuple(unicode_to_zawgyi(b) for b in buttons)
    if channel.name == "sms":
        return Reply(sms_messages([b for b in blocks if b], reader), buttons, labels)
    text = channel.paragraph.join(b for b in blocks if b)
    return Reply(split(text, channel.max_length), buttons, labels)


def sms_messages(blocks: list[str], reader: Reader) -> tuple[str, ...]:
    """The answer's blocks as SMS messages of at most MAX_SMS_SEGMENTS parts each: blocks
    travel together while they fit (a notice and the menu after it, or in two messages), and
    a block too long alone (a statement draft) is cut into numbered messages "[1/3] ...",
    numbered unlike our own "(1/6)" of a course or a questionnaire."""
    messages: list[str] = []
    current = ""
    for block in (cheaper(b) for b in blocks):
        together = f"{current}\n{block}" if current else block
        if _fits(together):
            current = together
            continue
        if current:
            messages.append(current)
            current = ""
        if _fits(block):
            current = block
        else:
            messages += _numbered_pieces(block, reader)
    if current:
        messages.append(current)
    return tuple(messages)


def _fits(text: str) -> bool:
    return segments(longest_form(text)).count <= MAX_SMS_SEGMENTS


def _numbered_pieces(block: str, reader: Reader) -> list[str]:
    """The block cut where it reads best, each piece with room for its "[9/9] " number."""
    pieces: list[str] = []
    rest = block.strip()
    room = "[99/99] "
    while rest and not _fits(room + rest):
        cut = _longest_fitting(rest, room)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    count = reader.number(len(pieces))
    return [f"[{reader.number(i)}/{count}] {p}" for i, p in enumerate(pieces, 1)]


def _longest_fitting(text: str, room: str) -> int:
    """Where to cut `text`: the last natural boundary (line, sentence, word) before the most
    that fits, or a character boundary that keeps every letter whole (Thai, Burmese)."""
    low, high = 1, len(text)
    while low < high:  # the longest start of `text` that fits
        middle = (low + high + 1) // 2
        if _fits(room + text[:middle]):
            low = middle
        else:
            high = middle - 1
    window = text[: low + 1]
    for boundary in ("\n", ". ", "\u104b", " "):
        index = window.rfind(boundary, low // 3, low + 1)
        if index > 0:
            return index + (len(boundary) if boundary in (". ", "\u104b") else 0)
    cut = low
    while cut > 1 and not _can_break_before(text, cut):
        cut -= 1
    return cut


# Up to this many short labels fit on one line ("1=Next  2=Again"), which needs no hint.
COMPACT_OPTIONS = 4
COMPACT_LABEL_LENGTH = 12


def _numbered(labels: tuple[str, ...], reader: Reader, hint: bool) -> str:
    if len(labels) <= COMPACT_OPTIONS and all(len(x) <= COMPACT_LABEL_LENGTH for x in labels):
        return "  ".join(f"{reader.number(i)}={label}" for i, label in enumerate(labels, 1))
    lines = [f"{reader.number(i)}. {label}" for i, label in enumerate(labels, 1)]
    if hint:
        count = len(labels)
        reply = (
            msg("Reply %(first)s", first=1)
            if count == 1
            else msg("Reply %(first)s-%(last)s", first=1, last=count)
        )
        lines.append(to_text(reply, reader))
    return "\n".join(lines)


def to_text(value: Param, reader: Reader) -> str:
    if isinstance(value, Msg):
        return _translate(value, reader)
    if isinstance(value, Literal):
        return value.text
    if isinstance(value, LocalTime):
        return reader.moment(value.at, value.timezone, value.style, value.today)
    if isinstance(value, CountryName):
        return reader.country_name(value.code)
    if isinstance(value, ZoneName):
        return reader.zone_name(value.name)
    if isinstance(value, LanguageName):
        return reader.language_name(value.code)
    if isinstance(value, Amount):
        return reader.amount(value.value)
    if isinstance(value, Mention):
        return marker(value)  # written out when read or sent: bot/storage/mentions.py
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return reader.number(value)
    return str(value)


def _translate(message: Msg, reader: Reader) -> str:
    if message.plural is not None and message.n is not None:
        template = reader.ngettext(message.msgid, message.plural, message.n)
        english = message.msgid if message.n == 1 else message.plural
    else:
        template = reader.gettext(message.msgid)
        english = message.msgid
    if not message.params:
        return template
    params = {name: to_text(value, reader) for name, value in message.params}
    try:
        return template % params
    except (KeyError, ValueError, TypeError):
        # A broken translation must never reach the user as an error: say it in English.
        log.error("translation of %r in %s does not format", message.msgid, reader.language)
        return english % params


def split(text: str, limit: int) -> tuple[str, ...]:
    """Cut `text` into parts of at most `limit` characters at the most natural boundary."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return tuple(parts)


def _cut_point(text: str, limit: int) -> int:
    window = text[: limit + 1]
    for boundary in ("\n\n", "\n", ". ", " "):
        index = window.rfind(boundary, limit // 3)
        if index > 0:
            return index + len(boundary.rstrip()) if boundary == ". " else index
    cut = limit
    while cut > 1 and not _can_break_before(text, cut):
        cut -= 1
    return cut


# Characters that belong to the letter before them: combining marks, Thai following vowels
# (ะ า ำ are letters, not marks) and Myanmar dependent vowels, medials and asat.
_ATTACHED = re.compile(
    r"[\u0e30-\u0e3a\u0e45-\u0e4e\u102b-\u103e\u1056-\u1059\u105e-\u1060"
    r"\u1062-\u1064\u1067-\u106d\u1071-\u1074\u1082-\u108d\u108f\u109a-\u109d]"
)
# Characters that belong to the letter after them: Thai leading vowels, the Myanmar virama.
_LEADING = re.compile(r"[\u0e40-\u0e44\u1039]")


def _can_break_before(text: str, index: int) -> bool:
    """Never cut a letter from its marks, vowels or stacked consonant (Thai, Burmese)."""
    following, previous = text[index], text[index - 1]
    if unicodedata.category(following)[0] == "M" or _ATTACHED.match(following):
        return False
    return not _LEADING.match(previous)

"""Global keywords (MENU, HELP, STOP, REMIND OFF, BROADCAST...), recognised in every language."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Keyword(StrEnum):
    MENU = "menu"
    HELP = "help"
    LANGUAGE = "language"
    STOP = "stop"
    START = "start"
    REMIND_OFF = "remind_off"
    REMIND_ON = "remind_on"
    MY_DATA = "my_data"
    DELETE_MY_DATA = "delete_my_data"
    BROADCAST = "broadcast"  # champions and the Secretariat only
    FOLLOWUP = "followup"  # "who needs help": champions and the Secretariat only
    REPORT = "report"  # delivery report of one's broadcasts: champions and the Secretariat


# Telegram sends "/start payload" and, in groups, "/menu@SomeBot".
_COMMAND = re.compile(r"^/([^\s@]+)(?:@\S+)?(?:\s.*)?$", re.DOTALL)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
# Burmese is typed mostly without spaces, Thai without spaces between words: both are
# compared with none at all.
_UNSPACED_SCRIPTS = re.compile(r"[\u0e00-\u0e7f\u1000-\u109f]")
_VARIATION_SELECTORS = frozenset(chr(c) for c in range(0xFE00, 0xFE10))


def _decoration(ch: str) -> bool:
    """Around a word: punctuation, symbols and emoji, spaces, joiners and variation selectors."""
    return unicodedata.category(ch)[0] in "PSZ" or ch in _VARIATION_SELECTORS or ch == "\u200d"


def fold(text: str) -> str:
    """The form words are compared in: whatever surrounds them (quotes, "!", emoji) removed,
    case and apostrophes folded, spaces collapsed (and gone in Burmese and Thai)."""
    text = text.translate(_APOSTROPHES)
    start, end = 0, len(text)
    while start < end and _decoration(text[start]):
        start += 1
    while end > start and _decoration(text[end - 1]):
        end -= 1
    words = text[start:end].casefold().split()
    return ("" if _UNSPACED_SCRIPTS.search(text) else " ").join(words)


def bare(word: str) -> str:
    """The word without accents ("arrête" -> "arrete"), as people type on phones without them.
    Only for languages where the bare form means nothing else: never Vietnamese, where "dung"
    is both "dừng" (stop) and "đúng" (right)."""
    decomposed = unicodedata.normalize("NFD", word)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", kept)


@dataclass(frozen=True)
class KeywordTable:
    words: Mapping[str, Keyword]  # folded word -> keyword, all languages together
    # folded word -> "yes" or "no": plain answers to a yes/no choice ("sim", "ใช่", "không")
    answers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        table: Mapping[Keyword, Iterable[str]],
        answers: Mapping[str, Iterable[str]] | None = None,
    ) -> KeywordTable:
        words: dict[str, Keyword] = {}
        for keyword, synonyms in table.items():
            for word in (keyword.value, *synonyms):
                folded = fold(word)
                if words.get(folded, keyword) != keyword:
                    raise ValueError(f"{word!r} is a synonym of both {words[folded]} and {keyword}")
                words[folded] = keyword
        meanings: dict[str, str] = {}
        for meaning, synonyms in (answers or {}).items():
            for word in synonyms:
                folded = fold(word)
                if meanings.get(folded, meaning) != meaning or folded in words:
                    raise ValueError(f"{word!r} cannot mean {meaning}: it means something else")
                meanings[folded] = meaning
        return cls(words, meanings)

    def answer(self, text: str) -> str | None:
        """ "yes" or "no" if the whole text is one of the plain answer words."""
        return self.answers.get(fold(text))

    def match(self, text: str) -> Keyword | None:
        command = _COMMAND.match(text.strip())
        if command:
            return self.words.get(fold(command.group(1)))
        return self.words.get(fold(text))

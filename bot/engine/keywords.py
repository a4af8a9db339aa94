"""Global keywords (MENU, HELP, STOP, REMIND OFF, BROADCAST...), recognised in every language."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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


# Trailing punctuation people add out of habit ("Stop!", "menu.") must not hide a keyword.
_TRAILING = re.compile(r"[\s.!?,;:。！？、…]+$")
# Telegram sends "/start payload" and, in groups, "/menu@SomeBot".
_COMMAND = re.compile(r"^/([^\s@]+)(?:@\S+)?(?:\s.*)?$", re.DOTALL)


def fold(text: str) -> str:
    """Case- and punctuation-insensitive form used to compare words."""
    return " ".join(_TRAILING.sub("", text.strip()).casefold().split())


@dataclass(frozen=True)
class KeywordTable:
    words: Mapping[str, Keyword]  # folded word -> keyword, all languages together

    @classmethod
    def build(cls, table: Mapping[Keyword, Iterable[str]]) -> KeywordTable:
        words: dict[str, Keyword] = {}
        for keyword, synonyms in table.items():
            for word in (keyword.value, *synonyms):
                folded = fold(word)
                if words.get(folded, keyword) != keyword:
                    raise ValueError(f"{word!r} is a synonym of both {words[folded]} and {keyword}")
                words[folded] = keyword
        return cls(words)

    def match(self, text: str) -> Keyword | None:
        command = _COMMAND.match(text.strip())
        if command:
            return self.words.get(fold(command.group(1)))
        return self.words.get(fold(text))

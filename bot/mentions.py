"""Other people named in a message (a champion's follow-up list): kept as references.

A rendered message holds a marker for each `Mention` instead of the name or number itself;
the outbox stores it so, and the text is filled in from the person's row when it is read or
sent. Once the person is erased their references read as NOBODY: nothing of them stays in
what others were sent, and no later copy can be missed.

The marker is framed by U+2063 (invisible separator), which inbound text never keeps
(bot/text.py): nobody can type a reference into their own answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from bot.engine.messages import Mention
from bot.sms import cheaper
from bot.text import unicode_to_zawgyi

MARK = "\u2063"
_REFERENCE = re.compile(f"{MARK}(\\d+)\\.([a-z_]+){MARK}")
NOBODY = "-"  # what a reference to someone erased reads as, in every language
# A name as others read it is cut to this many characters (WhatsApp names run to 200): a list
# of people must stay within 3 SMS parts, measured with every name at this length.
NAME_LENGTH = 24
# What each field may take at the most, to measure a message before it is written out.
LONGEST = {"name": "N" * NAME_LENGTH, "phone": "+000*******0000", "full_phone": "+000000000000000"}

# What each referenced person's fields read as now, by person id.
Values = Mapping[int, Mapping[str, str]]


def marker(mention: Mention) -> str:
    return f"{MARK}{mention.person_id}.{mention.field}{MARK}"


def mentions(text: str) -> bool:
    return MARK in text


def mentioned(texts: Iterable[str]) -> set[int]:
    """The ids of the people these texts refer to."""
    return {int(m.group(1)) for text in texts if MARK in text for m in _REFERENCE.finditer(text)}


def longest_form(text: str) -> str:
    """The text with each reference as long as it can be written out: for measuring."""
    if MARK not in text:
        return text
    return _REFERENCE.sub(lambda m: LONGEST.get(m.group(2), NOBODY), text)


def fill(text: str, values: Values, sms: bool = False, zawgyi: bool = False) -> str:
    """The text as it is read: each reference written out, for an SMS (plain punctuation
    when that saves segments, as `render` does) or a reader of Burmese in Zawgyi (the rest
    of the text was converted already)."""
    if MARK not in text:
        return text

    def written(match: re.Match[str]) -> str:
        value = values.get(int(match.group(1)), {}).get(match.group(2), NOBODY)
        return unicode_to_zawgyi(value) if zawgyi else value

    filled = _REFERENCE.sub(written, text)
    return cheaper(filled) if sms else filled

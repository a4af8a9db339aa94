"""Translatable messages as values.

The engine never translates: it returns English msgids with named parameters, and the
renderer translates them in the recipient's language after the turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Union


@dataclass(frozen=True)
class LocalTime:
    """A moment shown in the recipient's timezone and locale format."""

    at: datetime
    timezone: str | None = None  # None: the recipient's own timezone
    style: str = "time"  # "time", "date", "datetime", "short", "medium"
    today: datetime | None = None  # the year is shown when it differs from today's


@dataclass(frozen=True)
class CountryName:
    """An ISO 3166 country code, shown as the country's name in the recipient's language."""

    code: str | None


@dataclass(frozen=True)
class LanguageName:
    """A language code, shown as that language's own name (its endonym)."""

    code: str


@dataclass(frozen=True)
class Amount:
    """A sum of money or other decimal, shown with the reader's separators (1.234,50)."""

    value: float


@dataclass(frozen=True)
class Literal:
    """Text that must not be translated (a language's own name, a user's answer)."""

    text: str


@dataclass(frozen=True)
class ZoneName:
    """A time zone (an IANA name), as people name it in the reader's language: "Ghana Time",
    "เวลาไทย", "Waktu Indonesia Barat (WIB)"."""

    name: str | None


@dataclass(frozen=True)
class Mention:
    """Another person's name or number (`field`), written in only when the message is sent:
    a stored message keeps the reference, so erasing the person leaves nothing behind in
    what others were sent (bot/mentions.py)."""

    person_id: int
    field: str  # name, phone (masked), full_phone


Param = Union[
    str, int, "Msg", LocalTime, CountryName, LanguageName, Literal, Amount, ZoneName, Mention
]


@dataclass(frozen=True)
class Msg:
    msgid: str
    params: tuple[tuple[str, Param], ...] = field(default=())
    plural: str | None = None
    n: int | None = None

    def param_dict(self) -> dict[str, Param]:
        return dict(self.params)


Text = Msg | Literal | CountryName


def msg(msgid: str, **params: Param) -> Msg:
    """Mark an English source string for translation (extracted by pybabel as `msg`)."""
    return Msg(msgid, tuple(sorted(params.items())))


def plural_msg(singular: str, plural: str, n: int, **params: Param) -> Msg:
    """A count-dependent message (extracted as `plural_msg:1,2`); `n` is also a parameter."""
    return Msg(singular, tuple(sorted({**params, "n": n}.items())), plural=plural, n=n)


def lines(*parts: Msg | Literal) -> Msg:
    """Several sentences shown as one message, one per line; each stays a whole sentence for
    translators. The frame itself ("%(line0)s\\n%(line1)s") has nothing to translate."""
    if len(parts) == 1 and isinstance(parts[0], Msg):
        return parts[0]
    names: dict[str, Param] = {f"line{i}": part for i, part in enumerate(parts)}
    return Msg("\n".join(f"%({name})s" for name in names), tuple(sorted(names.items())))

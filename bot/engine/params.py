"""Resolve message parameters named in flow files (`$country`, `$item start time`...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.engine.flow import ParamSpec, TextSpec
from bot.engine.messages import (
    CountryName,
    LanguageName,
    Literal,
    LocalTime,
    Mention,
    Msg,
    Param,
    Text,
)
from bot.engine.state import Item, Profile
from bot.engine.statement import statement_msg

TIME_STYLES = ("time", "date", "datetime", "short", "medium")


@dataclass(frozen=True)
class Scope:
    """What parameters can read: the person, the moment, the answers, the listed data."""

    profile: Profile
    now: datetime
    answers: Mapping[str, Any]
    data: Mapping[str, Sequence[Item]]
    item: Item | None = None  # the item being labelled in a pick
    facts: Mapping[str, Any] = field(default_factory=dict)


# What parameters of each source read besides the state and the profile (a moment of the
# data is shown with its year when that is not today's: it reads the moment too).
_READS = {
    "now": ("now",),
    "now_in": ("now",),
    "item": ("data", "now"),
    "chosen": ("data", "now"),
    "fact": ("facts", "now"),
    "ga": ("data", "now"),
}


def reads_of(spec: TextSpec) -> frozenset[str]:
    """What resolving this text reads of the moment, the listed data and the facts."""
    return frozenset(r for p in spec.params.values() for r in _READS.get(p.source, ()))


def resolve(spec: TextSpec, scope: Scope) -> Text:
    return without_params(spec) or _with_params(spec, scope)


def without_params(spec: TextSpec) -> Text | None:
    """The text of a spec that reads nothing (most labels and prompts), or None: callers
    skip building a Scope for it."""
    if spec.literal is not None:
        return Literal(spec.literal)
    if spec.country is not None:
        return CountryName(spec.country)
    assert spec.msgid is not None
    return None if spec.params else Msg(spec.msgid)


def _with_params(spec: TextSpec, scope: Scope) -> Msg:
    assert spec.msgid is not None
    params = tuple(sorted((name, _param(p, scope)) for name, p in spec.params.items()))
    return Msg(spec.msgid, params)


def _param(spec: ParamSpec, scope: Scope) -> Param:
    source, arg = spec.source, spec.arg or ""
    if source == "country":
        return CountryName(scope.profile.country)
    if source == "now":
        return LocalTime(scope.now)
    if source == "now_in":
        return LocalTime(scope.now, timezone=arg)
    if source == "language":
        return LanguageName(scope.profile.language or "en")
    if source == "item":
        return item_field(scope.item, arg, scope.profile, scope.now)
    if source == "chosen":
        key, _, rest = arg.partition(" ")
        return item_field(chosen(scope.answers, key, scope.data), rest, scope.profile, scope.now)
    if source == "fact":
        return item_field(Item("facts", scope.facts), arg, scope.profile, scope.now)
    if source == "statement":
        return statement_msg(scope.answers)
    if source == "ga":
        return item_field(next_ga(scope.data), arg, scope.profile, scope.now)
    return Literal(str(scope.answers.get(arg, "")))  # answer


def chosen(answers: Mapping[str, Any], key: str, data: Mapping[str, Sequence[Item]]) -> Item | None:
    """The item a person picked earlier (stored as {"collection": ..., "id": ...})."""
    picked = answers.get(key)
    if not isinstance(picked, Mapping):
        return None
    items = data.get(str(picked.get("collection")), ())
    return next((i for i in items if i.id == picked.get("id")), None)


def next_ga(data: Mapping[str, Sequence[Item]]) -> Item | None:
    """The General Assembly among the person's listed calls (the next one, if several)."""
    return next((i for i in data.get("events", ()) if i.fields.get("kind") == "ga"), None)


def item_field(item: Item | None, arg: str, profile: Profile, now: datetime | None = None) -> Param:
    """`start time` -> the item's start as a local time (with its year if not `now`'s);
    `title` -> in the reader's language."""
    name, _, style = arg.partition(" ")
    value = item.fields.get(name) if item is not None else None
    if isinstance(value, Msg | Mention):
        return value  # a message to translate (a follow-up's reason), someone to name
    if isinstance(value, datetime):
        return LocalTime(value, style=style if style in TIME_STYLES else "datetime", today=now)
    if isinstance(value, Mapping):
        return Literal(_localized(value, profile.language))
    if isinstance(value, list | tuple):
        return Literal(", ".join(str(v) for v in value))
    return Literal("" if value is None else str(value))


def _localized(texts: Mapping[str, Any], language: str | None) -> str:
    for key in (language, "en", *texts):
        if key and texts.get(key):
            return str(texts[key])
    return ""

"""Run engine fixture cases: turns of input and the events each must produce, as short lines."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.engine import Context, Input, Profile, State, resume, start
from bot.engine.events import (
    AskChoice,
    AskText,
    Event,
    FlowEnded,
    FlowStarted,
    Refused,
    RequestHelp,
    SendDocument,
    SendText,
    SetField,
    SetReminder,
    Show,
    Submit,
    SubmitStatement,
)
from bot.engine.flow import Flow, parse_flow
from bot.engine.keywords import Keyword, KeywordTable
from bot.engine.messages import CountryName, LanguageName, Literal, LocalTime, Msg
from bot.engine.state import Item
from bot.text import read_number

CASES = Path(__file__).parent / "cases"
NOW = datetime(2026, 9, 10, 3, 0, tzinfo=UTC)
KEYWORDS = KeywordTable.build(
    {
        Keyword.MENU: ["menu", "เมนู"],
        Keyword.HELP: ["help"],
        Keyword.LANGUAGE: ["language"],
        Keyword.STOP: ["stop"],
        Keyword.START: ["start"],
        Keyword.REMIND_OFF: ["remind off"],
        Keyword.REMIND_ON: ["remind on"],
        Keyword.BROADCAST: ["broadcast"],
        Keyword.REPORT: ["report"],
        Keyword.MY_DATA: ["my data"],
    },
    {"yes": ["yes", "sim", "ใช่"], "no": ["no", "não", "không"]},
)


def load_cases(name: str) -> tuple[dict[str, Flow], list[dict[str, Any]]]:
    base = yaml.safe_load((CASES / "_base.yaml").read_text(encoding="utf-8"))
    data = yaml.safe_load((CASES / f"{name}.yaml").read_text(encoding="utf-8"))
    raw_flows = {**base["flows"], **(data.get("flows") or {})}
    flows = {key: parse_flow(value) for key, value in raw_flows.items()}
    return flows, data["cases"]


def describe(event: Event) -> str:
    if isinstance(event, SendText):
        return f"say: {text(event.text)}"
    if isinstance(event, AskChoice):
        prompt = text(event.prompt) if event.prompt is not None else "-"
        return f"choice: {prompt} [{', '.join(o.id for o in event.options)}]"
    if isinstance(event, AskText):
        return f"text: {text(event.prompt)} (max {event.max_length})"
    if isinstance(event, SetField):
        return f"set: {event.name}={event.value}"
    if isinstance(event, FlowStarted):
        return f"start: {event.flow}"
    if isinstance(event, FlowEnded):
        return f"end: {event.flow} ({'done' if event.completed else 'left'})"
    if isinstance(event, SetReminder):
        return f"remind: {event.scope} {event.item or ''}".rstrip()
    if isinstance(event, SendDocument):
        return f"document: {event.kind} {event.item}"
    if isinstance(event, RequestHelp):
        return f"request: {event.kind}"
    if isinstance(event, SubmitStatement):
        return f"submit: {text(event.text)}"
    if isinstance(event, Submit):
        return f"submit {event.kind}: {event.item or ''}".rstrip()
    if isinstance(event, Show):
        return f"show: {event.kind}"
    if isinstance(event, Refused):
        return f"refused: {event.keyword}"
    raise AssertionError(f"no description for {event!r}")


def text(value: Any) -> str:
    if isinstance(value, Msg):
        if not value.params:
            return value.msgid
        return f"{value.msgid} {{{', '.join(f'{k}={text(v)}' for k, v in value.params)}}}"
    if isinstance(value, Literal):
        return f"'{value.text}'"
    if isinstance(value, CountryName):
        return f"country({value.code})"
    if isinstance(value, LanguageName):
        return f"language({value.code})"
    if isinstance(value, LocalTime):
        if value.at != NOW:
            return f"time({value.at:%Y-%m-%d %H:%M} {value.style})"
        return f"time({value.timezone or 'own'})"
    return str(value)


def make_input(raw: Any) -> Input:
    if isinstance(raw, Mapping):
        return Input(
            text=raw.get("text", ""),
            kind=raw.get("kind", "text"),
            number=raw.get("number"),
            length=raw.get("length", 0),
            limit=raw.get("limit", 0),
        )
    line = str(raw)
    return Input(text=line, kind="text" if line else "empty", number=read_number(line))


def items(raw: Mapping[str, Any] | None) -> dict[str, tuple[Item, ...]]:
    return {
        name: tuple(
            Item(str(entry["id"]), {k: v for k, v in entry.items() if k != "id"})
            for entry in entries
        )
        for name, entries in (raw or {}).items()
    }


def run_case(flows: Mapping[str, Flow], case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Play the case; return, per turn, the events, the state and the profile afterwards."""
    profile = Profile(**(case.get("profile") or {}))
    state = State.from_json(case.get("state"))
    data = items(case.get("data"))
    channel = case.get("channel", "sms")
    results = []
    for turn_spec in case["turns"]:
        if "data" in turn_spec:  # the data changed between two turns
            data = items(turn_spec["data"])
        for name, value in (turn_spec.get("profile") or {}).items():  # e.g. a role taken away
            profile = profile.with_field(name, value)
        context = Context(
            profile=profile,
            now=NOW,
            channel=channel,
            flows=flows,
            keywords=KEYWORDS,
            data=data,
            facts=case.get("facts") or {},
        )
        if "start" in turn_spec:
            turn = start(turn_spec["start"], context, state)
        else:
            turn = resume(state, make_input(turn_spec["input"]), context)
        for event in turn.events:
            if isinstance(event, SetField):
                profile = profile.with_field(event.name, event.value)
        state = turn.state
        results.append(
            {
                "events": [describe(e) for e in turn.events],
                "state": {"flow": state.flow, "step": state.step},
                "answers": dict(state.answers),
                "profile": profile,
                "bookmarks": sorted(state.bookmarks),
                "reads": sorted(turn.reads),
            }
        )
    return results

"""Load the flow files and the keyword table from `flows/`, and check they fit together."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.engine.flow import Flow, FlowError, parse_flow
from bot.engine.keywords import Keyword, KeywordTable, bare
from bot.engine.runner import REQUIRED_FLOWS
from bot.paths import data_dir
from bot.text import unicode_to_zawgyi

KEYWORDS_FILE = "keywords.yaml"
ANSWERS_FILE = "answers.yaml"
# Languages whose keywords also match typed without accents (see `bare`); Vietnamese lists
# its unaccented forms one by one, where they are not another word.
UNACCENTED_TOO = ("en", "pt_BR", "fr", "id")


@dataclass(frozen=True)
class FlowSet:
    flows: Mapping[str, Flow] = field(repr=False)
    keywords: KeywordTable = field(repr=False)
    # Per language, the words help texts tell people to send (the first synonym listed).
    keyword_words: Mapping[str, Mapping[Keyword, tuple[str, ...]]] = field(repr=False)


def load_flows(directory: Path) -> dict[str, Flow]:
    flows: dict[str, Flow] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name in (KEYWORDS_FILE, ANSWERS_FILE):
            continue
        try:
            flow = parse_flow(_read_yaml(path))
        except FlowError as error:
            raise FlowError(f"{path.name}: {error}") from None
        if flow.id in flows:
            raise FlowError(f"{path.name}: flow id {flow.id!r} is used twice")
        flows[flow.id] = flow
    check_flow_set(flows)
    return flows


def load_keywords(directory: Path) -> dict[str, dict[Keyword, tuple[str, ...]]]:
    """keywords.yaml: keyword -> language -> words. Returned as language -> keyword -> words."""
    raw = _read_yaml(directory / KEYWORDS_FILE)
    by_language: dict[str, dict[Keyword, tuple[str, ...]]] = {}
    for name, languages in raw.items():
        keyword = Keyword(name)
        for language, words in languages.items():
            if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                raise FlowError(f"{KEYWORDS_FILE}: {name}.{language} must be a list of words")
            by_language.setdefault(language, {})[keyword] = tuple(words)
    return by_language


def check_flow_set(flows: Mapping[str, Flow]) -> None:
    """Cross-flow checks: required flows exist, every goto lands, no loop can skip the user."""
    for required in REQUIRED_FLOWS:
        if required not in flows:
            raise FlowError(f"the {required!r} flow is missing")
    for flow in flows.values():
        for step in flow.steps.values():
            if step.kind == "goto" and step.flow not in flows:
                raise FlowError(f"flow {flow.id}, step {step.id}: goto unknown flow {step.flow!r}")
        _check_no_silent_loop(flow)


def _check_no_silent_loop(flow: Flow) -> None:
    """A cycle made only of steps that never wait would spin forever in one turn."""
    silent = {s.id for s in flow.steps.values() if s.kind in ("say", "set", "branch")}

    def successors(step_id: str) -> list[str]:
        step = flow.steps[step_id]
        nexts = [step.next or flow.after(step_id), *(t for _, t in step.cases)]
        return [n for n in nexts if n in silent]

    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(step_id: str) -> None:
        state[step_id] = 1
        for following in successors(step_id):
            if state.get(following) == 1:
                raise FlowError(f"flow {flow.id}: steps loop without waiting at {following!r}")
            if following not in state:
                visit(following)
        state[step_id] = 2

    for step_id in silent:
        if step_id not in state:
            visit(step_id)


@cache
def flow_set(directory: Path | None = None) -> FlowSet:
    directory = directory or data_dir("flows")
    keyword_words = load_keywords(directory)
    merged: dict[Keyword, list[str]] = {}
    for language, words in keyword_words.items():
        for keyword, synonyms in words.items():
            merged.setdefault(keyword, []).extend(synonyms)
            if language in UNACCENTED_TOO:
                merged[keyword].extend(bare(word) for word in synonyms)
            # A short Burmese word typed in Zawgyi is too short for the detector to be sure of.
            merged[keyword].extend(zawgyi_spellings(synonyms))
    answers = load_answers(directory)
    table = KeywordTable.build(merged, answers)
    return FlowSet(load_flows(directory), table, keyword_words)


def load_answers(directory: Path) -> dict[str, list[str]]:
    """answers.yaml: yes/no -> language -> words; returned as yes/no -> every word (and its
    accentless and Zawgyi forms, as for keywords)."""
    raw = _read_yaml(directory / ANSWERS_FILE)
    found: dict[str, list[str]] = {}
    for meaning, languages in raw.items():
        for language, words in (languages or {}).items():
            if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                raise FlowError(f"{ANSWERS_FILE}: {meaning}.{language} must be a list of words")
            found.setdefault(str(meaning), []).extend(words)
            if language in UNACCENTED_TOO:
                found[str(meaning)].extend(bare(w) for w in words)
            found[str(meaning)].extend(zawgyi_spellings(words))
    return found


def zawgyi_spellings(words: Iterable[str]) -> list[str]:
    spellings = []
    for word in words:
        if any("\u1000" <= ch <= "\u109f" for ch in word):
            zawgyi = unicode_to_zawgyi(word)
            if zawgyi != word:
                spellings.append(zawgyi)
    return spellings


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise FlowError(f"{path.name}: expected a mapping at the top")
    return data

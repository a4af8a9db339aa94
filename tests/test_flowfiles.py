"""Flow files load, and mistakes in them are caught at load time, not in a conversation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.engine.flow import FlowError, parse_flow
from bot.flowfiles import FlowSet, check_flow_set, load_flows


def _flow(steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": "f", "version": 1, "steps": steps, **extra}


def test_the_shipped_flows_load_with_stable_ids(flows: FlowSet) -> None:
    assert {"menu", "onboarding", "language", "place"} <= set(flows.flows)
    for flow in flows.flows.values():
        assert flow.version >= 1 and flow.order


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (_flow({"a": {"say": "x", "next": "nowhere"}}), "unknown next step"),
        (_flow({"a": {"say": "x", "choice": "y"}}), "exactly one of"),
        (_flow({"a": {"sya": "typo"}}), "unknown keys"),
        (
            _flow({"a": {"choice": "x", "options": [{"id": True, "label": "Yes"}]}}),
            "non-empty string",
        ),
        (_flow({"a": {"choice": "x"}}), "needs options"),
        (_flow({"a": {"text": "x"}}), "needs max_length"),
        (_flow({"a": {"set": {"role": "secretariat"}}}), "cannot set"),
        (_flow({"a": {"say": "%(x)s", "params": {"x": "$secret"}}}), "unknown param source"),
        (_flow({"a": {"say": "%(x)s", "params": {"x": "country"}}}), "must name a source"),
        (
            _flow(
                {
                    "a": {
                        "choice": "x",
                        "options": [{"id": "o", "label": "L", "next": "a", "flow": "m"}],
                    }
                }
            ),
            "only one of",
        ),
        (
            _flow({"a": {"choice": "x", "options": [{"id": "o", "label": "L", "literal": "L"}]}}),
            "exactly one of label",
        ),
        ({"id": "f", "version": 0, "steps": {"a": {"end": True}}}, "version"),
        ({"id": "f", "version": 1, "steps": {}}, "non-empty"),
    ],
)
def test_flow_mistakes_are_reported(data: dict[str, Any], error: str) -> None:
    with pytest.raises(FlowError, match=error):
        parse_flow(data)


def _set_of(*flows: dict[str, Any]) -> dict[str, Any]:
    return {f["id"]: parse_flow(f) for f in flows}


REQUIRED = [
    {
        "id": "menu",
        "version": 1,
        "steps": {"m": {"choice": "M", "options": [{"id": "a", "label": "A"}]}},
    },
    {"id": "onboarding", "version": 1, "steps": {"o": {"end": True}}},
    {"id": "language", "version": 1, "steps": {"l": {"end": True}}},
]


def test_a_missing_required_flow_is_reported() -> None:
    with pytest.raises(FlowError, match="'language' flow is missing"):
        check_flow_set(_set_of(*REQUIRED[:2]))


def test_a_goto_to_a_missing_flow_is_reported() -> None:
    jump = {"id": "jump", "version": 1, "steps": {"j": {"goto": "nowhere"}}}
    with pytest.raises(FlowError, match="goto unknown flow"):
        check_flow_set(_set_of(*REQUIRED, jump))


def test_a_loop_that_never_waits_is_reported() -> None:
    spin = {
        "id": "spin",
        "version": 1,
        "steps": {
            "a": {"say": "A"},
            "b": {"branch": [{"if": {"consent": True}, "next": "a"}], "else": "a"},
        },
    }
    with pytest.raises(FlowError, match="loop without waiting"):
        check_flow_set(_set_of(*REQUIRED, spin))


def test_a_loop_through_a_question_is_fine() -> None:
    ask = {
        "id": "ask",
        "version": 1,
        "steps": {
            "a": {"say": "A"},
            "q": {"choice": "Q", "options": [{"id": "x", "label": "X", "next": "a"}]},
        },
    }
    check_flow_set(_set_of(*REQUIRED, ask))


def test_two_files_with_the_same_flow_id_are_refused(tmp_path: Path) -> None:
    for name in ("one.yaml", "two.yaml"):
        (tmp_path / name).write_text(yaml.safe_dump(REQUIRED[0]), encoding="utf-8")
    with pytest.raises(FlowError, match="used twice"):
        load_flows(tmp_path)

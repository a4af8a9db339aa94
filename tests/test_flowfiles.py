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


# Who sees a screen decides which options it shows; other conditions count as met.
_SITUATIONS = [
    {"channel": channel, "role": role}
    for channel in ("sms", "whatsapp", "telegram")
    for role in ("smallholder", "champion", "secretariat")
]


def _shown(step: Any, situation: dict[str, Any]) -> list[str]:
    def holds(option: Any) -> bool:
        for name, wanted in option.when.fields.items() if option.when else ():
            values = wanted if isinstance(wanted, list) else [wanted]
            if name in situation and situation[name] not in values:
                return False
        return True

    return [option.id for option in step.options if holds(option)]


def _next_questions(flow: Any, step_id: str | None, seen: frozenset[str] = frozenset()) -> set[str]:
    """The choices reached from a step without the person answering anything."""
    if step_id is None or step_id in seen:
        return set()
    step = flow.steps[step_id]
    if step.kind in ("choice", "pick", "text"):
        return {step_id}
    targets = [target for _, target in step.cases] + [step.next or flow.after(step_id)]
    return set().union(*(_next_questions(flow, t, seen | {step_id}) for t in targets))


def test_an_action_keeps_its_number_on_the_next_screen(flows: FlowSet) -> None:
    """On a basic phone people answer by number: after choosing "1=Link", "2" must still be
    the agenda, not "Other calls"."""
    moved = []
    for flow in flows.flows.values():
        for step in flow.steps.values():
            if step.kind != "choice":
                continue
            for option in step.options:
                if option.flow or option.keyword:
                    continue
                target = option.next or step.next or flow.after(step.id)
                for reached in _next_questions(flow, target):
                    if flows.flows[flow.id].steps[reached].kind != "choice":
                        continue
                    for situation in _SITUATIONS:
                        before = _shown(step, situation)
                        after = _shown(flow.steps[reached], situation)
                        moved += [
                            f"{flow.id}: {step.id} -> {reached}: {same} {situation}"
                            for same in set(before) & set(after)
                            if before.index(same) != after.index(same)
                        ]
    assert moved == []


def test_staff_entries_come_after_everything_a_smallholder_sees(flows: FlowSet) -> None:
    for flow in flows.flows.values():
        for step in flow.steps.values():
            staff = [bool(o.when and "role" in o.when.fields) for o in step.options]
            assert staff == sorted(staff), f"{flow.id}.{step.id}"


def test_every_yes_or_no_option_says_so(flows: FlowSet) -> None:
    """So that a typed "sim", "ใช่" or "không" picks it (flows/answers.yaml)."""
    unmarked = [
        f"{flow.id}.{step.id}.{option.id}"
        for flow in flows.flows.values()
        for step in flow.steps.values()
        for option in step.options
        if option.label.msgid
        and option.label.msgid.split(",")[0] in ("Yes", "No", "Not now", "Not for this call")
        and option.means is None
    ]
    assert unmarked == []

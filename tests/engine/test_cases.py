"""Fixture-driven engine tests: every step kind and engine behaviour has a case file."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine.flow import KINDS
from tests.engine.harness import CASES, load_cases, run_case

CASE_FILES = sorted(p.stem for p in CASES.glob("*.yaml") if not p.name.startswith("_"))


def _all_cases() -> list[Any]:
    params = []
    for name in CASE_FILES:
        _, cases = load_cases(name)
        params += [pytest.param(name, i, id=f"{name}: {c['name']}") for i, c in enumerate(cases)]
    return params


@pytest.mark.parametrize("kind", KINDS)
def test_every_step_kind_has_a_case_file(kind: str) -> None:
    assert kind in CASE_FILES, f"tests/engine/cases/{kind}.yaml is missing"
    _, cases = load_cases(kind)
    assert cases, f"{kind}.yaml has no cases"


@pytest.mark.parametrize(("name", "index"), _all_cases())
def test_case(name: str, index: int) -> None:
    flows, cases = load_cases(name)
    case = cases[index]
    results = run_case(flows, case)
    for number, (spec, result) in enumerate(zip(case["turns"], results, strict=True), 1):
        where = f"turn {number}"
        if "events" in spec:
            assert result["events"] == spec["events"], where
        if "state" in spec:
            assert result["state"] == spec["state"], where
        if "answers" in spec:
            assert result["answers"] == spec["answers"], where
        if "bookmarks" in spec:
            assert result["bookmarks"] == spec["bookmarks"], where
        if "reads" in spec:
            assert result["reads"] == spec["reads"], where
        for field, value in (spec.get("profile") or {}).items():
            assert getattr(result["profile"], field) == value, f"{where}: {field}"

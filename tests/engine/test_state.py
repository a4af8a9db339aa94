"""The conversation state: changed by copies, stored as JSON."""

from __future__ import annotations

import pytest

from bot.engine.state import State, Waiting


def test_evolve_changes_the_given_fields_of_a_copy_only() -> None:
    state = State(flow="menu", version=3, step="ask", answers={"name": "Ana"})
    waiting = Waiting("choice", ("a", "b"))
    changed = state.evolve(step="next", waiting=waiting)
    assert changed == State(
        flow="menu", version=3, step="next", waiting=waiting, answers={"name": "Ana"}
    )
    assert state.step == "ask" and state.waiting is None  # the original is untouched
    assert State.from_json(changed.to_json()) == changed


def test_evolve_refuses_a_field_the_state_does_not_have() -> None:
    with pytest.raises(TypeError, match="stepp"):
        State().evolve(stepp="ask")

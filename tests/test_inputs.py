"""What a typed reply means at a choice: a number, a label, a label's start, a plain yes/no."""

from __future__ import annotations

import pytest

from bot.channels.base import InboundMessage
from bot.flowfiles import FlowSet
from bot.inputs import engine_input
from bot.text import normalise

CALL = ["Link", "Agenda", "Remind me", "Calendar file", "Other calls"]
CONSENT_PT = ["Sim, aceito", "Não, obrigado", "Mudar o idioma"]
ZONES_PT = ["Reuniões e datas", "Meu país e horário", "Menu"]


def _number(flows: FlowSet, typed: str, labels: list[str]) -> int | None:
    inbound = InboundMessage("sms", "+5511987654321", "SM1", text=typed)
    return engine_input(inbound, normalise(typed, 1600), labels, 1600, flows.keywords).number


@pytest.mark.parametrize(
    ("typed", "labels", "number"),
    [
        ("3", CALL, 3),
        ("Remind me", CALL, 3),  # the label, as a Telegram button sends it
        ("remind", CALL, 3),  # the start of one label
        ("CALENDAR!", CALL, 4),
        ("Calendário", ["Calendário", "Menu"], 1),
        ("calendario", ["Calendário", "Menu"], 1),  # without accents
        ("reunioes", ZONES_PT, 1),
        ("meu", ZONES_PT, 2),
        ("me", ZONES_PT, None),  # too short to be sure: "Meu", "Menu"
        ("o", CALL, None),
        ("calls and dates please", CALL, None),
        ("menu", ZONES_PT, 3),  # a label that is also a keyword: the label
        ("sim", CONSENT_PT, None),  # a plain yes is the engine's to match (means: yes)
        ("ajuda", ["Ajudar a família", "Menu"], None),  # a keyword is never a label's start
    ],
)
def test_a_typed_reply_at_a_choice(
    flows: FlowSet, typed: str, labels: list[str], number: int | None
) -> None:
    assert _number(flows, typed, labels) == number

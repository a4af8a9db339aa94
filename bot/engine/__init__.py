"""The conversation engine: pure functions from (state, input, context) to (state, events).

Nothing here performs I/O or imports a channel, the database or a clock; a test enforces it.
"""

from bot.engine.events import (
    AskChoice,
    AskText,
    Event,
    FlowEnded,
    FlowStarted,
    Option,
    SendText,
    SetField,
)
from bot.engine.flow import Flow, FlowError, parse_flow
from bot.engine.keywords import Keyword, KeywordTable
from bot.engine.messages import Msg, msg, plural_msg
from bot.engine.runner import Turn, resume, start
from bot.engine.state import Context, Input, Profile, State

__all__ = [
    "AskChoice",
    "AskText",
    "Context",
    "Event",
    "Flow",
    "FlowEnded",
    "FlowError",
    "FlowStarted",
    "Input",
    "Keyword",
    "KeywordTable",
    "Msg",
    "Option",
    "Profile",
    "SendText",
    "SetField",
    "State",
    "Turn",
    "msg",
    "parse_flow",
    "plural_msg",
    "resume",
    "start",
]

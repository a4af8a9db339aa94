"""A candidate statement assembled from a person's answers, as one translatable text.

The person's words go in as they typed them; only the frame around them is translated, in
two variants (with or without a role in a group) so that no sentence is glued from fragments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.engine.messages import Literal, Msg, msg

# The answers a statement is made of, in the order they are asked.
FIELDS = ("name", "place", "farm", "role", "challenges", "vision", "why")
IN_GROUP = "in_group"  # "yes" when the person has a role in a cooperative or group


def statement_msg(answers: Mapping[str, Any]) -> Msg:
    values = {name: Literal(str(answers.get(name) or "").strip()) for name in FIELDS}
    if answers.get(IN_GROUP) == "yes" and values["role"].text:
        # Translators: a candidate statement. Each %(...)s is the person's own answer, as
        # typed: name; country and region; years and land in rubber; role in their group;
        # challenges; vision; why they would be a good representative.
        return msg(
            "I am %(name)s, a rubber smallholder from %(place)s. My farm: %(farm)s. In my "
            "community I am %(role)s. In my area, smallholders face these challenges: "
            "%(challenges)s. I want GPSNR to change this: %(vision)s. I would be a good "
            "representative because %(why)s",
            **values,
        )
    del values["role"]
    # Translators: the same statement, for someone with no role in a group.
    return msg(
        "I am %(name)s, a rubber smallholder from %(place)s. My farm: %(farm)s. In my area, "
        "smallholders face these challenges: %(challenges)s. I want GPSNR to change this: "
        "%(vision)s. I would be a good representative because %(why)s",
        **values,
    )

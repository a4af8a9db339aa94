"""Named checks for free-text answers: each returns extra answers to keep, or a message why not.

`farm`: the land under rubber, with its unit, in any script ("3 ha", "๕ ไร่", "၂ ဧက"), kept
as typed and converted to hectares.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from bot.engine.messages import Msg, msg

# Units farmers use, to hectares. Ambiguous local units (sào, alqueire) are not guessed.
HECTARES_PER_UNIT = {
    "ha": 1.0,
    "hectare": 1.0,
    "hectares": 1.0,
    "hektar": 1.0,
    "hektare": 1.0,
    "hecta": 1.0,
    "héctare": 1.0,
    "hectáreas": 1.0,
    "เฮกตาร์": 1.0,
    "เฮกแตร์": 1.0,
    "ဟက်တာ": 1.0,
    "rante": 0.04,  # North Sumatra: 400 m²
    "rai": 0.16,
    "ไร่": 0.16,
    "acre": 0.404686,
    "acres": 0.404686,
    "ဧက": 0.404686,
    "m2": 0.0001,
    "m²": 0.0001,
    "ตารางเมตร": 0.0001,
}
_UNITS = "|".join(sorted(map(re.escape, HECTARES_PER_UNIT), key=len, reverse=True))
# A Latin unit must end its word ("3 hari" is three days, not hectares); Thai and Burmese
# run words together, so their units may be followed by anything.
_AREA = re.compile(rf"(\d+(?:[.,]\d+)?)\s*({_UNITS})(?![A-Za-zÀ-ÿ])", re.IGNORECASE)
_LOOKALIKES = str.maketrans({"\u101d": "\u1040", "\u101b": "\u1047"})  # ဝ ရ typed for ၀ ၇

Check = Callable[[str], Mapping[str, Any] | Msg]


def farm(text: str) -> Mapping[str, Any] | Msg:
    found = _AREA.search(_ascii_digits(text))
    if found is None:
        return msg("Please add your land size with its unit, for example 3 ha or 5 rai.")
    number = float(found.group(1).replace(",", "."))
    unit = found.group(2).lower()
    start, end = found.span()  # the conversion to 0-9 keeps positions: quote what was typed
    return {"area_ha": round(number * HECTARES_PER_UNIT[unit], 4), "area_original": text[start:end]}


def _ascii_digits(text: str) -> str:
    """Thai, Myanmar and other decimal digits as 0-9 (letters are left alone)."""
    out = []
    for ch in text.translate(_LOOKALIKES) if re.search(r"[\u1040-\u1049]", text) else text:
        digit = unicodedata.decimal(ch, None)
        out.append(str(digit) if digit is not None else ch)
    return "".join(out)


CHECKS: dict[str, Check] = {"farm": farm}

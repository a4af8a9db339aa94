"""Inbound text normalisation: one clean Unicode string before the engine sees it.

- Burmese typed in Zawgyi is detected (myanmartools) and converted to Unicode
  (python-myanmar), only when the detector is confident: converters corrupt real Unicode.
- Invisible and control characters are removed, whitespace trimmed, text NFC-normalised.
- A reply that is a number in any script (Thai ๓, Myanmar ၃, and the letters ဝ and ရ that
  people type for ၀ and ၇) is read as that number.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from dataclasses import dataclass
from functools import cache

import myanmartools
from myanmar import converter

ZAWGYI_THRESHOLD = 0.95
UNICODE_THRESHOLD = 0.01
UNICODE_MIN_LETTERS = 3
MAX_NUMBER_DIGITS = 6

# Zero-width and direction marks that phones and copy-paste insert; they change nothing a
# person meant. ZWJ/ZWNJ stay inside text (emoji sequences, some scripts) but not at the ends.
_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u200b\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad"
        "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    ),
    None,
)
_EDGE_JOINERS = "\u200c\u200d"
# Unicode's control characters (category Cc) but the line break, lone surrogates (Cs), and the
# two noncharacters XML 1.0 forbids (U+FFFE, U+FFFF): what a person writes is shown to others
# in TwiML, where one of them makes the whole answer unreadable.
_CONTROL_OR_SURROGATE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Myanmar letters that look like digits: ဝ (wa) for ၀, ရ (ra) for ၇.
_DIGIT_LOOKALIKES = str.maketrans({"\u101d": "\u1040", "\u101b": "\u1047"})
_MYANMAR_CHARS = re.compile(r"[\u1000-\u109f]")
_NUMBER = re.compile(rf"^\d{{1,{MAX_NUMBER_DIGITS}}}$")
# "1." "2)" "#3": habits from paper forms and other bots.
_NUMBER_DECORATION = re.compile(r"^[#(\[]?\s*(.*?)\s*[.)\]]?$", re.DOTALL)


@dataclass(frozen=True)
class Normalised:
    text: str
    number: int | None
    was_zawgyi: bool
    length: int
    too_long: bool


@cache
def _detector() -> myanmartools.ZawgyiDetector:
    with warnings.catch_warnings():
        # myanmartools 1.2.1 loads its model with importlib.resources.open_binary.
        warnings.filterwarnings(
            "ignore", message="open_binary is deprecated", category=DeprecationWarning
        )
        return myanmartools.ZawgyiDetector()


def zawgyi_probability(text: str) -> float:
    if not _MYANMAR_CHARS.search(text):
        return 0.0
    probability = _detector().get_zawgyi_probability(text)
    return 0.0 if probability != probability else max(probability, 0.0)  # NaN, -inf


def is_zawgyi(text: str) -> bool:
    return zawgyi_probability(text) > ZAWGYI_THRESHOLD


def is_unicode_burmese(text: str) -> bool:
    """Burmese letters the detector is sure are Unicode (digits alone prove nothing)."""
    letters = [ch for ch in text if "\u1000" <= ch <= "\u109f" and not "\u1040" <= ch <= "\u1049"]
    return len(letters) >= UNICODE_MIN_LETTERS and zawgyi_probability(text) < UNICODE_THRESHOLD


def zawgyi_to_unicode(text: str) -> str:
    return str(converter.convert(text, "zawgyi", "unicode"))


def unicode_to_zawgyi(text: str) -> str:
    # NFC puts the dot below (U+1037) before the asat (U+103A); the converter's rules only
    # know the other order and would leave "င့်" unconverted.
    return str(converter.convert(text.replace("\u1037\u103a", "\u103a\u1037"), "unicode", "zawgyi"))


def clean(text: str) -> str:
    """Remove invisible and control characters, keep line breaks, trim, NFC."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROL_OR_SURROGATE.sub("", text.translate(_INVISIBLE))
    text = unicodedata.normalize("NFC", text)
    return text.strip().strip(_EDGE_JOINERS).strip()


# What a provider-given field (a display name, a media link, ids) never means: C0 controls but
# tab and line breaks (PostgreSQL refuses NUL), lone surrogates and U+FFFE/U+FFFF (not
# storable as UTF-8, forbidden in XML), and direction controls: a name holding U+202E could
# make what a champion reads beside it (a masked number, a need) read backwards.
CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def plain_field(value: str | None) -> str | None:
    """A provider-given field without control, direction or unstorable characters."""
    return CONTROL.sub("", value) if value is not None else None


# XML 1.0's characters: tab, line breaks, and U+0020 up, but surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """Text a strict XML parser accepts: the last guard for anything that reaches TwiML
    (inbound text and names are cleaned when stored, but imported schedules are not)."""
    return _NOT_XML.sub("", text)


def read_number(text: str) -> int | None:
    """The text as a whole number in any script, or None."""
    inner = _NUMBER_DECORATION.match(text)
    candidate = (inner.group(1) if inner else text).replace(" ", "")
    candidate = candidate.translate(_DIGIT_LOOKALIKES)
    if not _NUMBER.match(candidate):
        return None
    return int(unicodedata.normalize("NFKC", candidate))


def normalise(raw: str, limit: int) -> Normalised:
    text = clean(raw)
    was_zawgyi = is_zawgyi(text)
    if was_zawgyi:
        text = unicodedata.normalize("NFC", zawgyi_to_unicode(text))
    length = len(text)
    return Normalised(
        text=text,
        number=read_number(text) if length <= limit else None,
        was_zawgyi=was_zawgyi,
        length=length,
        too_long=length > limit,
    )

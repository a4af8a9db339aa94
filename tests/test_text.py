"""Inbound normalisation: Zawgyi, digits in any script, invisible characters, the length cap."""

from __future__ import annotations

import unicodedata
from xml.etree import ElementTree

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.channels.base import InboundMessage
from bot.inputs import plain_inbound
from bot.text import (
    _EDGE_JOINERS,
    _INVISIBLE,
    CONTROL,
    clean,
    is_zawgyi,
    normalise,
    plain_field,
    read_number,
    unicode_to_zawgyi,
    xml_text,
)

XML_FORBIDDEN = "\ufffe\uffff"
# Typed in Zawgyi on phones of the pre-2019 kind, with the Unicode they mean.
ZAWGYI_SAMPLES = [
    ("ေက်းဇူးတင္ပါတယ္", "ကျေးဇူးတင်ပါတယ်"),  # thank you
    ("ကြၽန္ေတာ္ ေရာ္ဘာ စိုက္တဲ့ ေတာင္သူ ျဖစ္ပါတယ္", "ကျွန်တော် ရော်ဘာ စိုက်တဲ့ တောင်သူ ဖြစ်ပါတယ်"),
    ("ျမန္မာႏိုင္ငံ မြန္ျပည္နယ္", "မြန်မာနိုင်ငံ မွန်ပြည်နယ်"),
    ("ေရာ္ဘာၿခံ ၅ ဧက ရွိပါတယ္", "ရော်ဘာခြံ ၅ ဧက ရှိပါတယ်"),
]
UNICODE_SAMPLES = [
    "ကျေးဇူးတင်ပါတယ်",
    "မင်္ဂလာပါ",
    "ရော်ဘာ စိုက်ပျိုးသူ တောင်သူငယ်",
    "မြန်မာ",
]


@pytest.mark.parametrize(("zawgyi", "unicode"), ZAWGYI_SAMPLES)
def test_zawgyi_is_detected_and_converted_to_unicode(zawgyi: str, unicode: str) -> None:
    result = normalise(zawgyi, limit=1600)
    assert result.was_zawgyi
    assert result.text == unicode


@pytest.mark.parametrize("text", UNICODE_SAMPLES)
def test_unicode_burmese_is_left_alone(text: str) -> None:
    result = normalise(text, limit=1600)
    assert not result.was_zawgyi
    assert result.text == text


def test_text_without_burmese_is_never_zawgyi() -> None:
    assert not is_zawgyi("hello 123")
    assert not is_zawgyi("สวัสดี")


def test_our_replies_convert_back_to_zawgyi_for_zawgyi_readers() -> None:
    for zawgyi, unicode in ZAWGYI_SAMPLES:
        assert unicode_to_zawgyi(unicode) == zawgyi


def test_dot_below_before_asat_in_nfc_order_converts_too() -> None:
    nfc = unicodedata.normalize("NFC", "သင့်")
    assert nfc == "\u101e\u1004\u1037\u103a"
    assert unicode_to_zawgyi(nfc) == "\u101e\u1004\u1039\u1037"  # သင့္ in Zawgyi
    assert normalise("ဘာလုပ္ခ်င္ပါသလဲ သင့္", 100).text.endswith(nfc)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("3", 3),
        ("๓", 3),  # Thai
        ("๑๒", 12),
        ("၃", 3),  # Myanmar
        ("၁၀", 10),
        ("ဝ", 0),  # the letter wa typed for ၀
        ("ရ", 7),  # the letter ra typed for ၇
        ("၁ဝ", 10),
        ("３", 3),  # full width
        ("1.", 1),
        ("2)", 2),
        ("#4", 4),
        (" 2 ", 2),
        ("2 ha", None),
        ("-1", None),
        ("1234567", None),
        ("one", None),
        ("", None),
    ],
)
def test_numbers_in_any_script(text: str, number: int | None) -> None:
    assert read_number(clean(text)) == number


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("\u200b1\u200b", "1"),
        ("\ufeffmenu", "menu"),
        ("\u202estop\u202c", "stop"),
        ("\x00\x07hi\x1b", "hi"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("e\u0301", "é"),
        ("\u00a0 hello \u3000", "hello"),
        ("\u200dmenu\u200c", "menu"),
        ("👩‍🌾", "👩‍🌾"),  # a joiner inside an emoji stays
        ("a\tb", "a b"),
    ],
)
def test_invisible_and_control_characters_are_removed(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned


def test_a_message_over_the_cap_is_flagged_not_cut() -> None:
    result = normalise("x" * 10_000, limit=1600)
    assert result.too_long
    assert result.length == 10_000
    assert result.text == "x" * 10_000
    assert result.number is None


def test_a_message_at_the_cap_is_accepted() -> None:
    result = normalise("ก" * 1600, limit=1600)
    assert not result.too_long


def _clean_by_category(text: str) -> str:
    """The definition `clean` keeps to: every Cc and Cs character but the line break goes, and
    the two noncharacters XML forbids."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = text.translate(_INVISIBLE)
    text = "".join(
        ch
        for ch in text
        if ch == "\n" or (unicodedata.category(ch) not in ("Cc", "Cs") and ch not in XML_FORBIDDEN)
    )
    text = unicodedata.normalize("NFC", text)
    return text.strip().strip(_EDGE_JOINERS).strip()


@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=40))
@example("a\ud800b\x85c\x9f\u2028d\n")  # a lone surrogate, C1 controls, a line separator
@example("Somsri \uffff\ufffe")
def test_cleaning_removes_exactly_the_control_characters_by_category(text: str) -> None:
    assert clean(text) == _clean_by_category(text)


@given(st.text(max_size=20), st.text(max_size=20))
def test_provider_fields_lose_their_control_characters_and_nothing_else(
    name: str, link: str
) -> None:
    inbound = InboundMessage("sms", "+66812345678", "SM1", display_name=name, media_url=link)
    plain = plain_inbound(inbound)
    assert plain.display_name == ((plain_field(name) or "").strip() or None)
    assert plain.media_url == plain_field(link)
    assert not CONTROL.search(plain.display_name or "") and not CONTROL.search(
        plain.media_url or ""
    )


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Somsri \uffff", "Somsri "),
        ("Ama\x00 Mensah\ufffe", "Ama Mensah"),
        ("Nguy\u1ec5n \u202eanh\u202c", "Nguy\u1ec5n anh"),  # right-to-left override, pop
        (
            "\u2067\u0645\u0631\u062d\u0628\u0627\u2069 Kofi",
            "\u0645\u0631\u062d\u0628\u0627 Kofi",
        ),  # isolates
        ("\u200fMalee\u200e\u061c", "Malee"),  # direction marks
        ("Lan \ud83d", "Lan "),  # half of an emoji's surrogate pair
        ("Kwame 👩‍🌾 Asante", "Kwame 👩‍🌾 Asante"),  # joiners inside emoji stay
    ],
)
def test_provider_names_lose_direction_controls_and_what_cannot_be_stored(
    given: str, kept: str
) -> None:
    assert plain_field(given) == kept


@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=60))
@example("a\x00b\x0bc\ufffe\uffff\ud800d")
def test_xml_text_is_always_well_formed_and_keeps_every_allowed_character(text: str) -> None:
    safe = xml_text(text)
    element = ElementTree.Element("Body")
    element.text = safe
    parsed = ElementTree.fromstring(ElementTree.tostring(element, encoding="unicode"))
    assert (parsed.text or "") == safe.replace("\r", "\n")  # XML reads CR as a line break
    allowed = [ch for ch in text if ch in "\t\n\r" or (ch >= " " and ch not in XML_FORBIDDEN)]
    assert safe == "".join(ch for ch in allowed if unicodedata.category(ch) != "Cs")

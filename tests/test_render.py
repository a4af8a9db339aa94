"""One answer per turn, drawn for each channel."""

from __future__ import annotations

import logging

import pytest

from bot.channels.base import CHANNELS
from bot.engine.events import AskChoice, AskText, FlowStarted, Option, SendText, SetField
from bot.engine.messages import Literal, msg
from bot.i18n.formatting import Reader
from bot.render import _render_cached, render, split

CHOICE = AskChoice(
    msg("Menu: what would you like to do?"),
    (Option("place", msg("My country and time")), Option("help", msg("Help"))),
)


def test_sms_draws_a_choice_as_a_numbered_list_with_the_range() -> None:
    reply = render([SendText(Literal("Hi")), CHOICE], Reader("en"), CHANNELS["sms"])
    assert reply is not None
    assert reply.text == (
        "Hi\nMenu: what would you like to do?\n1. My country and time\n2. Help\nReply 1-2"
    )
    assert reply.buttons == ()
    assert reply.labels == ("My country and time", "Help")


def test_whatsapp_separates_blocks_with_a_blank_line() -> None:
    reply = render([SendText(Literal("Hi")), CHOICE], Reader("en"), CHANNELS["whatsapp"])
    assert reply is not None
    assert reply.text.startswith("Hi\n\nMenu: what would you like to do?\n\n1. My country")


def test_telegram_draws_a_choice_as_buttons_with_the_labels() -> None:
    reply = render([CHOICE], Reader("en"), CHANNELS["telegram"])
    assert reply is not None
    assert reply.text == "Menu: what would you like to do?"
    assert reply.buttons == ("My country and time", "Help")


def test_burmese_menu_numbers_are_myanmar_digits() -> None:
    reply = render([CHOICE], Reader("my"), CHANNELS["sms"])
    assert reply is not None
    lines = reply.text.splitlines()
    assert lines[1].startswith("၁. ") and lines[2].startswith("၂. ")
    assert "၁-၂" in lines[3]


def test_a_reprompt_without_prompt_has_no_range_hint() -> None:
    again = AskChoice(None, CHOICE.options)
    reply = render([SendText(Literal("Sorry")), again], Reader("en"), CHANNELS["sms"])
    assert reply is not None
    assert reply.text == "Sorry\n1. My country and time\n2. Help"


def test_a_text_question_after_a_choice_shows_no_buttons() -> None:
    events = [CHOICE, AskText(Literal("Your name?"), 50)]
    reply = render(events, Reader("en"), CHANNELS["telegram"])
    assert reply is not None and reply.buttons == () and reply.labels == ()


def test_events_that_say_nothing_render_nothing() -> None:
    assert (
        render([SetField("consent", True), FlowStarted("menu")], Reader("en"), CHANNELS["sms"])
        is None
    )


def test_replies_are_translated_in_the_readers_language() -> None:
    reply = render([CHOICE], Reader("pt_BR"), CHANNELS["sms"])
    assert reply is not None
    assert "Menu: what would you like to do?" not in reply.text
    assert reply.labels[1] != "Help"


def test_zawgyi_readers_get_zawgyi() -> None:
    unicode = render([CHOICE], Reader("my"), CHANNELS["telegram"])
    zawgyi = render([CHOICE], Reader("my", zawgyi=True), CHANNELS["telegram"])
    assert unicode is not None and zawgyi is not None
    assert zawgyi.text != unicode.text and zawgyi.buttons != unicode.buttons
    assert zawgyi.labels == unicode.labels  # labels stay Unicode: inbound text is converted


def test_sms_uses_plain_quotes_when_that_keeps_it_gsm7() -> None:
    reply = render([SendText(Literal("It’s 6:00 – ok"))], Reader("en"), CHANNELS["sms"])
    assert reply is not None and reply.text == "It's 6:00 - ok"


def test_a_broken_translation_falls_back_to_english(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Reader):
        def gettext(self, msgid: str) -> str:
            return "%(nope)s"

    with caplog.at_level(logging.ERROR):
        reply = render(
            [SendText(msg("Saved. Your time now is %(time)s.", time="9:00"))],
            Broken(),
            CHANNELS["sms"],
        )
    assert reply is not None and reply.text == "Saved. Your time now is 9:00."
    assert "does not format" in caplog.text


def test_long_text_splits_at_paragraphs_then_lines_then_words() -> None:
    text = "A" * 30 + "\n\n" + "B" * 30 + "\n" + "C" * 30
    assert split(text, 40) == ("A" * 30, "B" * 30, "C" * 30)
    words = " ".join(["word"] * 30)
    parts = split(words, 50)
    assert all(len(p) <= 50 for p in parts) and " ".join(parts) == words


def test_text_without_spaces_never_splits_a_letter_from_its_mark() -> None:
    thai = "น้ำเย็น" * 60  # a tone mark, a following vowel and a leading vowel in each word
    parts = split(thai, 50)
    assert "".join(parts) == thai
    assert all(len(p) <= 50 for p in parts)
    assert all(p.startswith("น้ำ") or p.startswith("เย็น") for p in parts)
    burmese = "ကျွန်တော်" * 40  # medials, a vowel sign and an asat
    parts = split(burmese, 50)
    assert "".join(parts) == burmese
    assert all(p.startswith("ကျွန်တော်") or p.startswith("တော်") for p in parts)


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_no_part_is_over_the_channel_limit(channel: str) -> None:
    long_text = Literal(("ข้อความยาวมาก " * 500).strip())
    reply = render([SendText(long_text)], Reader("th"), CHANNELS[channel])
    assert reply is not None
    assert all(len(p) <= CHANNELS[channel].max_length for p in reply.parts)
    assert len(reply.parts) > 1


def test_an_answer_drawn_again_comes_from_the_cache_and_is_the_same() -> None:
    events = [SendText(Literal("Hi")), CHOICE]
    first = render(events, Reader("th", "TH", "Asia/Bangkok"), CHANNELS["sms"])
    before = _render_cached.cache_info().hits
    again = render(tuple(events), Reader("th", "TH", "Asia/Bangkok"), CHANNELS["sms"])
    assert _render_cached.cache_info().hits == before + 1
    assert again == first and again is not None and again.text.startswith("Hi\n")
    other = render(events, Reader("vi", "VN", "Asia/Ho_Chi_Minh"), CHANNELS["sms"])
    assert other != first  # another reader is another entry


def test_events_holding_a_mapping_are_drawn_without_the_cache() -> None:
    events = [SetField("answers", {"name": "Ana"}), SendText(Literal("Saved"))]
    before = _render_cached.cache_info()
    reply = render(events, Reader("en"), CHANNELS["sms"])
    assert reply is not None and reply.text == "Saved"
    assert _render_cached.cache_info() == before

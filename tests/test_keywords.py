"""Global keywords: every language, any case, commands; and texts that name them are right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.engine import texts
from bot.engine.keywords import Keyword, KeywordTable
from bot.flowfiles import FlowSet
from bot.i18n.catalogs import LANGUAGES
from bot.i18n.formatting import Reader
from bot.render import to_text


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("MENU", Keyword.MENU),
        ("menu.", Keyword.MENU),
        ("  Menu!  ", Keyword.MENU),
        ("/menu", Keyword.MENU),
        ("/menu@GpsnrSmallholderBot", Keyword.MENU),
        ("เมนู", Keyword.MENU),
        ("မီနူး", Keyword.MENU),
        ("AJUDA", Keyword.HELP),
        ("aide", Keyword.HELP),
        ("bantuan", Keyword.HELP),
        ("ช่วยเหลือ", Keyword.HELP),
        ("Trợ giúp", Keyword.HELP),
        ("idioma", Keyword.LANGUAGE),
        ("Langue", Keyword.LANGUAGE),
        ("bahasa", Keyword.LANGUAGE),
        ("ဘာသာစကား", Keyword.LANGUAGE),
        ("ภาษา", Keyword.LANGUAGE),
        ("ngôn ngữ", Keyword.LANGUAGE),
        ("STOP", Keyword.STOP),
        ("Parar", Keyword.STOP),
        ("arrêt", Keyword.STOP),
        ("berhenti", Keyword.STOP),
        ("ရပ်", Keyword.STOP),
        ("ရပ္", Keyword.STOP),  # the same word typed in Zawgyi
        ("หยุด", Keyword.STOP),
        ("DỪNG", Keyword.STOP),
        ("unsubscribe", Keyword.STOP),
        ("START", Keyword.START),
        ("/start ref-th-2026", Keyword.START),
        ("começar", Keyword.START),
        ("mulai", Keyword.START),
        ("เริ่ม", Keyword.START),
        ("bắt đầu", Keyword.START),
        ("စတင်", Keyword.START),
        # As people type them: quoted as our own texts show them, with emoji, without accents.
        ('"หยุด"', Keyword.STOP),
        ("“STOP”", Keyword.STOP),
        ("«arrêt»", Keyword.STOP),
        ("stop 🙏🏽", Keyword.STOP),
        ("👍 menu ❤️", Keyword.MENU),
        ("arrete", Keyword.STOP),
        ("ARRETER", Keyword.STOP),
        ("comecar", Keyword.START),
        ("apagar meus dados", Keyword.DELETE_MY_DATA),
        ("qui a besoin d’aide", Keyword.FOLLOWUP),  # a curly apostrophe, as phones type it
        ("qui a besoin d'aide", Keyword.FOLLOWUP),
        ("mes donnees", Keyword.MY_DATA),
        ("ဘယ်သူအကူအညီလို", Keyword.FOLLOWUP),  # Burmese, typed without the space
        ("သတိပေးချက်ရပ်", Keyword.REMIND_OFF),
        ("ကိုယ့်အချက်အလက်ဖျက်", Keyword.DELETE_MY_DATA),
        ("ข้อมูล ของ ฉัน", Keyword.MY_DATA),  # Thai with spaces between words
        # The variants a native review found people type.
        ("pare", Keyword.STOP),
        ("parar lembretes", Keyword.REMIND_OFF),
        ("sem lembretes", Keyword.REMIND_OFF),
        ("excluir meus dados", Keyword.DELETE_MY_DATA),
        ("arrête", Keyword.STOP),
        ("désabonner", Keyword.STOP),
        ("plus de rappels", Keyword.REMIND_OFF),
        ("supprimer mes données", Keyword.DELETE_MY_DATA),
        ("unreg", Keyword.STOP),
        ("keluar", Keyword.STOP),
        ("matikan pengingat", Keyword.REMIND_OFF),
        ("stop pengingat", Keyword.REMIND_OFF),
        ("nyalakan pengingat", Keyword.REMIND_ON),
        ("စမယ်", Keyword.START),
        ("ပြန်စမယ်", Keyword.START),
        ("ข้อมูลของผม", Keyword.MY_DATA),
        ("เลิกรับ", Keyword.STOP),
        ("หยุดเตือน", Keyword.REMIND_OFF),
        ("ปิดการแจ้งเตือน", Keyword.REMIND_OFF),
        ("ngừng", Keyword.STOP),
        ("ngưng", Keyword.STOP),
        ("hỗ trợ", Keyword.HELP),
        ("xoá dữ liệu của tôi", Keyword.DELETE_MY_DATA),
    ],
)
def test_keywords_in_every_language(flows: FlowSet, text: str, keyword: Keyword) -> None:
    assert flows.keywords.match(text) is keyword


@pytest.mark.parametrize(
    "text",
    [
        "stop the rain",
        "menus",
        "dung",
        "đúng",
        "yes",
        "1",
        "",
        "/unknown",
        "help me please",
        # Once keywords, now not: names and everyday words that opted people out.
        "Huy",
        "huy.",
        "HUY!",
        "Huỷ",
        "hủy",
        "sair",
        "Socorro",
        "cancel",
        "cancelar",
        "ยกเลิก",
        "🙏",
        '""',
    ],
)
def test_words_that_are_not_keywords(flows: FlowSet, text: str) -> None:
    assert flows.keywords.match(text) is None


def test_a_word_cannot_mean_two_keywords() -> None:
    with pytest.raises(ValueError, match="synonym of both"):
        KeywordTable.build({Keyword.STOP: ["fim"], Keyword.MENU: ["FIM"]})


def test_every_language_lists_every_keyword(flows: FlowSet) -> None:
    for language in LANGUAGES:
        assert set(flows.keyword_words[language]) == set(Keyword), language


# Each text that tells people to send keywords must name words the bot recognises, in
# every language: a translation that says "send FIM" while the bot waits for "PARAR" fails.
TEXTS_NAMING_KEYWORDS = [
    (texts.help_text(), (Keyword.MENU, Keyword.LANGUAGE, Keyword.STOP)),
    (texts.stopped(), (Keyword.START,)),
    (texts.stopped_help(), (Keyword.START,)),
    (texts.something_went_wrong(), (Keyword.MENU,)),
    (texts.reminders_off(), (Keyword.REMIND_ON,)),
    (texts.reminders_on(), (Keyword.REMIND_OFF,)),
]


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_name_keywords_the_bot_recognises(flows: FlowSet, language: str) -> None:
    for message, keywords in TEXTS_NAMING_KEYWORDS:
        shown = to_text(message, Reader(language=language))
        named = {flows.keywords.match(word) for word in _candidate_words(shown)}
        for keyword in keywords:
            assert keyword in named, f"{language}: {shown!r} does not name {keyword}"


def test_reminders_say_how_to_stop_them_in_words_the_bot_recognises(flows: FlowSet) -> None:
    from datetime import UTC, datetime

    from bot.reminders.messages import reminder_message
    from bot.storage.models import Event

    event = Event(
        id="ga", kind="ga", starts_at=datetime(2027, 9, 23, 12, tzinfo=UTC), title={"en": "GA"}
    )
    for language in LANGUAGES:
        for channel in ("sms", "whatsapp"):
            text = reminder_message(event, Reader(language=language), channel).text
            named = {flows.keywords.match(word) for word in _candidate_words(text)}
            assert Keyword.REMIND_OFF in named, f"{language}/{channel}: {text!r}"


def test_flow_texts_name_recognised_keywords(flows: FlowSet) -> None:
    consent = "May GPSNR send you messages about the calls? To stop at any time, send STOP."
    declined = "No problem, I will not send you messages. If you change your mind, send START."
    for language in LANGUAGES:
        reader = Reader(language=language)
        for msgid, keyword in ((consent, Keyword.STOP), (declined, Keyword.START)):
            shown = reader.gettext(msgid)
            named = {flows.keywords.match(w) for w in _candidate_words(shown)}
            assert keyword in named, f"{language}: {shown!r}"


def _candidate_words(text: str) -> set[str]:
    """Quoted words, capitalised words and runs of one to three words, to look up."""
    quoted = set(re.findall(r"[\"“”«»'‘’]([^\"“”«»'‘’]+)[\"“”«»'‘’]", text))
    tokens = re.findall(r"\w+", text)
    runs = {" ".join(tokens[i : i + n]) for n in (1, 2, 3) for i in range(len(tokens))}
    return quoted | runs


EVERYDAY = yaml.safe_load((Path(__file__).parent / "data" / "everyday_words.yaml").read_text())


def _everyday_words() -> list[tuple[str, str]]:
    """(language, word): every entry, and each word of it."""
    found = set()
    for lists in EVERYDAY.values():
        for language, entries in lists.items():
            for entry in entries:
                found.add((language, str(entry)))
                found.update((language, word) for word in str(entry).replace(",", " ").split())
    return sorted(found)


@pytest.mark.parametrize(("language", "word"), _everyday_words())
def test_no_name_place_or_everyday_answer_is_a_keyword(
    flows: FlowSet, language: str, word: str
) -> None:
    assert flows.keywords.match(word) is None, f"{word!r} ({language}) would be taken as a command"


def test_no_button_label_reads_as_another_command(flows: FlowSet) -> None:
    """A typed label counts as a tap, but a label that is a command word for something else
    ("Không, hủy" for "No, cancel" was STOP) teaches people a word that stops them elsewhere.
    A label that does what its word does ("Menu" going to the menu) is fine."""
    from bot.engine.runner import KEYWORD_FLOWS

    labels = [
        (option.label.msgid, option.flow)
        for flow in flows.flows.values()
        for step in flow.steps.values()
        for option in step.options
        if option.label.msgid and not option.keyword
    ]
    labels += [(texts.stop_yes().msgid, None), (texts.stop_was_answer().msgid, None)]
    for language in LANGUAGES:
        reader = Reader(language=language)
        for msgid, goes_to in labels:
            label = reader.gettext(msgid)
            keyword = flows.keywords.match(label)
            assert keyword is None or KEYWORD_FLOWS.get(keyword) == goes_to, (
                f"{language}: button {label!r} reads as {keyword}"
            )

"""What our messages cost on SMS, per language: every message any flow or effect can send.

Journeys through the real pipeline (`bot/tour.py`) reach every step of every flow: the
onboarding and its branches, words that work at any time, the content flows, the candidate
statement with every answer at its longest, a champion's staff flows, and the reminders.
Each message is recorded with its SMS segments: none may take more than 3 (the tests and
`bot i18n reach` check it), and the tutorial as a whole at most 20.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from bot.engine.keywords import Keyword
from bot.flowfiles import flow_set
from bot.i18n.catalogs import LANGUAGES
from bot.i18n.formatting import Reader
from bot.reminders.messages import reminder_message
from bot.sms import segments
from bot.storage.models import Event
from bot.tour import HOME, TOUR_TIME, Sent, Tour, add_person, tour

MAX_SEGMENTS_PER_MESSAGE = 3
TUTORIAL_BUDGET = 20

# Realistic answers to make as long as each statement question allows (the longest draft).
LONG_ANSWERS = {
    "en": ("Kwame Mensah Asante", "Ghana, Western Region, Wassa Amenfi", "low rubber prices"),
    "pt_BR": ("Maria do Socorro da Silva", "Brasil, Acre, Xapuri", "preço baixo da borracha"),
    "fr": ("Kouassi Yao Jean", "Côte d'Ivoire, San-Pédro, Soubré", "prix bas du caoutchouc"),
    "id": ("Siti Aminah Lubis", "Indonesia, Jambi, Muaro Jambi", "harga karet rendah"),
    "my": ("ဦးအောင်မြင့်ဦး", "မြန်မာ၊ မွန်ပြည်နယ်၊ မုဒုံ", "ရော်ဘာဈေး နိမ့်ခြင်း"),
    "th": ("สมชาย สุขใจดี", "ประเทศไทย สงขลา หาดใหญ่", "ราคายางต่ำ"),
    "vi": ("Nguyễn Văn Hùng", "Việt Nam, Bình Phước, Lộc Ninh", "giá mủ cao su thấp"),
}
LAND = {"th": "12 ปี 5 ไร่", "my": "၁၂ နှစ်၊ ၅ ဧက"}  # the units farmers there use


def every_message(language: str) -> list[Sent]:
    """Every message of every journey, in `language`, on SMS."""
    sent: list[Sent] = []
    for journey in JOURNEYS:
        sent += journey(language)
    return sent


def tutorial_pass(language: str) -> list[Sent]:
    """The tutorial straight through: every lesson once, right answers, practice call yes."""
    with tour(language) as t:
        t.send("menu")
        course = t.choose("tutorial")
        for _ in range(6):
            course += t.choose("next")
        course += t.choose("camera") + t.choose("dial_in") + t.choose("practice_yes")
        return course


def onboarding(language: str) -> list[Sent]:
    """A first message, every answer to the consent question, the place and its zones."""
    sent: list[Sent] = []
    country = HOME[language][0]
    with tour(language, fresh=True) as t:
        t.send("hello")
        t.choose("decline")
        t.send("hello")  # asked again, as the first time
        t.choose("change_language")
        t.send("99")  # not understood, at the language list
        t.choose(language)
        t.choose("agree")
        if "wrong" in t.options():
            t.choose("wrong")  # the country list, then the zones of Indonesia and Brazil
            t.choose("ID")
            t.choose("elsewhere")
            t.choose("BR")
            t.choose("elsewhere")
            t.choose("other")
        else:  # Indonesia and Brazil ask the zone at once
            t.choose("elsewhere")
            t.choose(country)
            t.choose(t.options()[0])
        sent += t.sent
    return sent


def any_time(language: str) -> list[Sent]:
    """The words that work at any time, and what cannot be read (media, too long, a stray
    answer), at the menu and during a question."""
    words = flow_set().keyword_words[language]
    with tour(language) as t:
        t.send("menu")
        t.send("xyz")  # not understood, with the choices again
        for keyword in (Keyword.HELP, Keyword.REMIND_OFF, Keyword.REMIND_ON, Keyword.MY_DATA):
            t.send(words[keyword][0])
        t.send("", media="tour://photo")
        t.send("x" * 1700)
        t.send(words[Keyword.LANGUAGE][0])
        t.choose(language)
        t.send(words[Keyword.DELETE_MY_DATA][0])
        t.choose("keep")
        t.send(words[Keyword.STOP][0])
        t.send(words[Keyword.HELP][0])  # what someone stopped may still ask
        t.send(words[Keyword.START][0])
        t.send(words[Keyword.DELETE_MY_DATA][0])
        t.choose("delete")  # the goodbye
        return t.sent


def content(language: str) -> list[Sent]:
    """Every step of the course, the schedule (every call's details), the GA, the election,
    the resolutions and About."""
    with tour(language) as t:
        t.send("menu")
        t.choose("tutorial")
        t.choose("again")
        for _ in range(6):
            t.choose("next")
        t.choose("microphone")
        t.choose("cannot")
        t.choose("practice_no")
        t.send("menu")
        t.choose("schedule")
        for step in ("all_reminders", "none", "list", "all_reminders", "all", "list"):
            t.choose(step)
        _every_call(t)
        t.send("menu")
        t.choose("assembly")
        t.choose("election")
        for _ in range(4):
            t.choose("more")
        t.choose("resolutions")
        for item in _items(t):
            t.choose(item)
            t.choose("detail")
            t.choose("other")
        t.choose("menu")
        t.choose("assembly")
        t.choose("about")
        t.choose("more")
        t.choose("more")
        return t.sent


def _every_call(t: Tour) -> None:
    """Each call's details, link and agenda, on every page; reminders on and off."""
    pages = [_items(t)]
    while "more" in t.options():
        t.choose("more")
        pages.append(_items(t))
    for page, items in enumerate(pages):
        for item in items:
            t.send("menu")
            t.choose("schedule")
            for _ in range(page):
                t.choose("more")
            t.choose(item)
            t.choose("link")
            t.choose("agenda")
    t.choose("remind")
    t.choose("yes_this")
    t.choose("remind")
    t.choose("not_this")
    for setting in ("none", "all"):  # what changed, from each setting
        t.choose("other")
        t.choose("all_reminders")
        t.choose(setting)
        t.choose("list")
        t.choose(_items(t)[0])
        t.choose("remind")
        t.choose("yes_this")
        t.choose("remind")
        t.choose("not_this")


def statement(language: str) -> list[Sent]:
    """The candidate statement with every answer at its longest: the draft, a change, the
    consent, keeping it for later, sending it, and reading it back."""
    name, place, words = LONG_ANSWERS[language]
    land = LAND.get(language, "12 ha")
    with tour(language) as t:
        t.send("menu")
        t.choose("statement")
        t.send(_longest(name, 60))
        t.send(_longest(place, 80))
        t.send("?")  # a land size without its unit
        t.send(_longest(land, 80, words))
        t.choose("has_role")
        for limit in (120, 300, 300, 300):
            t.send(_longest(words, limit))
        t.choose("change")
        t.choose("name")
        t.send(_longest(name, 60))
        t.choose("send")
        t.choose("not_now")
        t.choose("send")
        t.choose("agree")
        t.send("menu")
        t.choose("statement")
        t.choose("read")
        t.choose("update")
        return t.sent


def _longest(start: str, limit: int, filler: str | None = None) -> str:
    """`start`, then `filler` (or `start`) again and again, cut at a word to `limit`."""
    text = start
    while len(text) + len(filler or start) + 2 <= limit:
        text += ", " + (filler or start)
    return text


def staff(language: str) -> list[Sent]:
    """A Country Champion's words: WHO NEEDS HELP with a full list of long names, one person,
    marking them helped; a broadcast at its longest to its preview; the report."""
    country, zone, phone = HOME[language]
    with tour(language) as t:
        champion = add_person(
            t.pipeline.engine, "+1555" + phone[-7:], language, country, zone, role="champion"
        )
        for i in range(10):
            add_person(
                t.pipeline.engine,
                f"{phone[:-2]}{i + 10}",
                language,
                country,
                zone,
                channel="whatsapp",
                name=_longest(LONG_ANSWERS[language][0], 25),
                onboarded=i % 2 == 0,
            )
        t.now += timedelta(hours=1)
        t.send("menu", address=champion)
        t.choose("staff", address=champion)
        t.choose("followup", address=champion)
        t.send("1", address=champion)
        t.choose("back", address=champion)
        t.send("1", address=champion)
        t.choose("helped", address=champion)
        t.choose("more", address=champion)
        t.send("menu", address=champion)
        t.choose("staff", address=champion)
        t.choose("broadcast", address=champion)
        t.send(_longest(LONG_ANSWERS[language][2], 600), address=champion)
        t.choose("subscribed", address=champion)
        t.send("1", address=champion)
        t.choose("cancel", address=champion)
        t.send("menu", address=champion)
        t.choose("staff", address=champion)
        t.choose("report", address=champion)
        return t.sent


def reminders(language: str) -> list[Sent]:
    """The reminder of every sample call, as a person of the language's country reads it."""
    country, zone, _ = HOME[language]
    reader = Reader(language=language, country=country, timezone=zone)
    with tour(language) as t, Session(t.pipeline.engine) as db:
        events = db.exec(select(Event).order_by(col(Event.starts_at))).all()
        texts = [reminder_message(e, reader, "sms").text for e in events]
    return [Sent("reminder", text, segments(text).count, segments(text).encoding) for text in texts]


JOURNEYS: tuple[Callable[[str], list[Sent]], ...] = (
    onboarding,
    any_time,
    content,
    statement,
    staff,
    reminders,
)


def _items(t: Tour) -> list[str]:
    """The ids of the items listed in the question on screen."""
    return [o.removeprefix("item:") for o in t.options() if o.startswith("item:")]


@dataclass(frozen=True)
class Reach:
    language: str
    tutorial_segments: int
    longest: Sent
    over_budget: list[Sent]


def reach(language: str) -> Reach:
    messages = every_message(language)
    over = [m for m in messages if m.segments > MAX_SEGMENTS_PER_MESSAGE]
    return Reach(
        language,
        sum(m.segments for m in tutorial_pass(language)),
        max(messages, key=lambda m: m.segments),
        over,
    )


def reach_all() -> list[Reach]:
    return [reach(language) for language in LANGUAGES]


__all__ = ["TOUR_TIME", "Reach", "Tour", "every_message", "reach", "tour", "tutorial_pass"]

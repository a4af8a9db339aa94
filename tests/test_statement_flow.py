"""Candidate statements through the pipeline: drafting, changing, consent, versions, deadline."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.storage.models import StatementVersion
from bot.tour import TOUR_TIME, Tour, tour

ANSWERS = [
    "Ama Mensah",
    "Ghana, Western Region",
    "15 years, 4 hectares",
]


def _to_draft(t: Tour, role: str | None = "secretary of our cooperative") -> list[str]:
    t.send("menu")
    t.choose("statement")
    for answer in ANSWERS:
        t.send(answer)
    if role is None:
        t.choose("no_role")
    else:
        t.choose("has_role")
        t.send(role)
    t.send("low prices and no training on tapping")
    t.send("fair prices and training for smallholders")
    return [m.text for m in t.send("I have led our cooperative for 6 years")]


def _versions(t: Tour) -> list[StatementVersion]:
    with Session(t.pipeline.engine) as db:
        return list(db.exec(select(StatementVersion).order_by(StatementVersion.version)).all())


def test_the_answers_become_a_draft_that_reads_as_one_statement() -> None:
    with tour("en") as t:
        draft = "\n".join(_to_draft(t))  # on SMS the choices may follow apart
    assert draft.startswith(
        "Your draft:\nI am Ama Mensah, a rubber smallholder from Ghana, Western Region."
    )
    assert (
        "My farm: 15 years, 4 hectares. In my community I am secretary of our cooperative." in draft
    )
    assert (
        "I would be a good representative because I have led our cooperative for 6 years" in draft
    )
    assert "1. Send it" in draft


def test_without_a_role_the_statement_has_no_role_sentence() -> None:
    with tour("en") as t:
        draft = "\n".join(_to_draft(t, role=None))
    assert "In my community" not in draft and "My farm: 15 years, 4 hectares. In my area" in draft


def test_consent_then_a_version_is_stored_with_everything() -> None:
    with tour("en") as t:
        _to_draft(t)
        (consent,) = t.choose("send")
        assert "shared with the GPSNR Secretariat and members for the election" in consent.text
        (sent,) = t.choose("agree")
        assert sent.text.startswith("Sent! The GPSNR Secretariat has your statement.")
        (version,) = _versions(t)
    assert version.version == 1 and version.channel == "sms" and version.language == "en"
    assert version.area_ha == 4.0 and version.area_original == "4 hectares"
    assert version.answers["name"] == "Ama Mensah" and version.answers["in_group"] == "yes"
    assert "editing" not in version.answers
    assert version.text.startswith("I am Ama Mensah, a rubber smallholder from Ghana")


def test_refusing_consent_sends_nothing_and_keeps_the_draft() -> None:
    with tour("en") as t:
        _to_draft(t)
        t.choose("send")
        (kept,) = t.choose("not_now")
        assert kept.text.startswith("Nothing was sent. Your draft is kept.")
        assert "1. Send it" in kept.text
        assert _versions(t) == []


def test_changing_one_answer_comes_back_to_the_draft() -> None:
    with tour("en") as t:
        _to_draft(t)
        t.choose("change")
        (question,) = t.choose("farm")
        assert question.text.startswith("(3/7)")
        draft = "\n".join(m.text for m in t.send("20 years, 6 ha"))
    assert draft.startswith("Your draft:") and "My farm: 20 years, 6 ha." in draft


def test_land_without_a_unit_is_asked_again_and_an_over_long_answer_refused() -> None:
    with tour("en") as t:
        t.send("menu")
        t.choose("statement")
        (too_long,) = t.send("A" * 61)
        assert "too long (61 characters)" in too_long.text and "at most 60" in too_long.text
        t.send(ANSWERS[0])
        t.send(ANSWERS[1])
        (again,) = t.send("15 years")
    assert again.text.startswith(
        "Please add your land size with its unit, for example 3 ha or 5 rai."
    )
    assert "(3/7)" in again.text


def test_a_draft_resumes_on_another_channel_weeks_later() -> None:
    with tour("en") as t:
        t.send("menu")
        t.choose("statement")
        t.send(ANSWERS[0])
        t.send(ANSWERS[1])
        t.now += timedelta(weeks=3)
        t.send("menu", channel="telegram", address="555123")  # the same phone number: one person
        (offer,) = [m for m in t.send("4", channel="telegram", address="555123")]
        assert "Do you want to continue?" in offer.text
        (question,) = t.send("1", channel="telegram", address="555123")
    assert question.text.startswith("(3/7) How long have you grown rubber")


def test_after_the_deadline_only_reading_is_possible() -> None:
    with tour("en", statement_deadline=TOUR_TIME + timedelta(days=1)) as t:
        _to_draft(t)
        t.choose("send")
        (sent,) = t.choose("agree")
        assert "You can update it until" in sent.text
        t.now += timedelta(days=2)
        t.send("menu")
        (closed,) = t.choose("statement")
        assert closed.text.startswith("Statements could be sent until")
        assert "Update it" not in closed.text
        (text,) = t.choose("read")
    assert text.text.startswith("I am Ama Mensah")
    assert "Update it" not in text.text


def test_an_update_starts_from_the_sent_statement_and_makes_version_two() -> None:
    with tour("en") as t:
        _to_draft(t)
        t.choose("send")
        t.choose("agree")
        t.send("menu")
        (existing,) = t.choose("statement")
        assert existing.text.startswith("You sent your statement on")
        draft = "\n".join(m.text for m in t.choose("update"))
        assert "I am Ama Mensah" in draft
        t.choose("change")
        t.choose("vision")
        t.send("a fair share of the value for smallholders")
        t.choose("send")
        t.choose("agree")
        versions = _versions(t)
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].answers["vision"] == "a fair share of the value for smallholders"
    assert versions[0].answers["vision"] == "fair prices and training for smallholders"


def test_burmese_typed_in_zawgyi_is_stored_in_unicode() -> None:
    with tour("my") as t:
        t.send("menu")
        t.choose("statement")
        t.send("ေဒၚခင္ျမင့္")  # the name, typed in Zawgyi
        t.send("ျမန္မာ၊ မြန္ျပည္နယ္")
        t.send("၁၀ ႏွစ္၊ ၂ ဧက")
        t.choose("no_role")
        t.send("ေစ်းႏႈန္း နိမ့္ပါတယ္")
        t.send("တရားမွ်တတဲ့ ေစ်းႏႈန္း")
        t.send("အဖြဲ႕ကို ၅ ႏွစ္ ဦးေဆာင္ခဲ့ပါတယ္")
        t.choose("send")
        t.choose("agree")
        (version,) = _versions(t)
    assert version.answers["name"] == "ဒေါ်ခင်မြင့်"
    assert version.answers["place"] == "မြန်မာ၊ မွန်ပြည်နယ်"
    assert version.area_ha == 0.8094 and version.language == "my"
    assert "ဒေါ်ခင်မြင့်" in version.text

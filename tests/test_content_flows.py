"""The content flows end to end through the pipeline: tutorial, schedule, GA, resolutions."""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar
import pytest
from sqlmodel import Session, select

from bot.storage.models import Completion, HelpRequest, OutboundMessage, Person, ReminderChoice
from bot.tour import Tour, tour


def _person(t: Tour) -> Person:
    with Session(t.pipeline.engine) as db:
        person = db.exec(select(Person)).one()
        db.expunge(person)
        return person


@pytest.mark.parametrize(
    ("country", "zone", "time"),
    [
        ("ID", "Asia/Jakarta", "19.00 WIB"),
        ("ID", "Asia/Jayapura", "21.00 WIT"),
        ("BR", "America/Sao_Paulo", "9:00 AM BRT"),
        ("CI", "Africa/Abidjan", "12:00 PM"),
    ],
)
def test_the_same_call_in_each_persons_own_time(country: str, zone: str, time: str) -> None:
    """International call 1 starts at 12:00 UTC on 5 August 2027."""
    with tour("en", country=country, timezone=zone) as t:
        t.send("menu")
        t.choose("schedule")
        (listing,) = t.choose("more")  # the GA and the first national call come first
    line = next(x for x in listing.text.splitlines() if "International call 1" in x)
    assert time in line


def test_a_person_sees_the_ga_first_then_their_countrys_calls_and_everyones_soonest_first() -> None:
    with tour("th") as t:
        t.send("menu")
        t.choose("schedule")
        with Session(t.pipeline.engine) as db:
            from bot.storage.models import Conversation

            state = db.exec(select(Conversation.state)).one()
    assert state["waiting"]["options"] == [
        "item:general-assembly-2027",
        "item:th-national-1",
        "more",
        "all_reminders",
    ]


def test_on_sms_details_lead_with_the_dial_in_and_give_the_link_on_request() -> None:
    """A basic phone cannot open a link: the number to call comes first."""
    with tour("vi") as t:
        t.send("menu")
        t.choose("schedule")
        (details,) = t.choose("vn-national-1")
        (link,) = t.choose("link")
    assert "+84 24 5555 0101" in details.text and "+66" not in details.text
    assert "811 553 0127" in details.text and "https://" not in details.text
    assert "https://meet.example.org/gpsnr-vn-1" in link.text


def test_in_chat_apps_details_have_the_link_and_the_countrys_dial_in() -> None:
    with tour("vi", channel="whatsapp") as t:
        t.send("menu")
        t.choose("schedule")
        (details,) = t.choose("vn-national-1")
    assert "https://meet.example.org/gpsnr-vn-1" in details.text
    assert "+84 24 5555 0101" in details.text and "+66" not in details.text


def test_reminder_choices_are_stored() -> None:
    with tour("en") as t:
        t.send("menu")
        t.choose("schedule")
        t.choose("all_reminders")
        t.choose("none")
        assert _person(t).reminders == "none"
        t.choose("list")
        t.choose("more")  # the second national call is on the second page
        t.choose("gh-national-2")
        t.choose("remind")
        t.choose("yes_this")
        with Session(t.pipeline.engine) as db:
            choices = db.exec(select(ReminderChoice)).all()
        assert [(c.event_id, c.wanted) for c in choices] == [("gh-national-2", True)]
        assert _person(t).reminders == "chosen"
        t.choose("other")
        t.choose("all_reminders")
        t.choose("all")
        with Session(t.pipeline.engine) as db:
            assert db.exec(select(ReminderChoice)).all() == []
        assert _person(t).reminders == "all"


def test_finishing_the_tutorial_records_it_and_a_practice_call_request() -> None:
    with tour("en") as t:
        t.send("menu")
        t.choose("tutorial")
        for _ in range(6):
            t.choose("next")
        t.choose("camera")
        t.choose("dial_in")
        last = t.choose("practice_yes")
        assert "Country Champion will contact you" in last[0].text
        with Session(t.pipeline.engine) as db:
            requests = db.exec(select(HelpRequest)).all()
            done = db.exec(select(Completion.flow)).all()
        assert [r.kind for r in requests] == ["practice_call"] and requests[0].handled_at is None
        assert "tutorial" in done


def test_wrong_answers_get_a_friendly_explanation() -> None:
    with tour("en") as t:
        t.send("menu")
        t.choose("tutorial")
        for _ in range(6):
            t.choose("next")
        (first,) = t.choose("microphone")
        (second,) = t.choose("cannot")
    assert first.text.startswith("Not quite: the camera uses the most data")
    assert second.text.startswith("You can! Call the dial-in number")


def test_leaving_the_tutorial_and_coming_back_offers_to_continue() -> None:
    with tour("en") as t:
        t.send("menu")
        t.choose("tutorial")
        t.choose("next")
        t.choose("next")  # now at lesson 3
        t.send("menu")
        (offer,) = t.choose("tutorial")
        assert "Do you want to continue?" in offer.text
        (lesson,) = t.choose("continue")
        assert lesson.text.startswith("(3/6)")


@pytest.mark.parametrize("digits", [["๒", "๒"], ["၂", "၂"], ["2", "2"]])
def test_flows_complete_with_digits_in_any_script(digits: list[str]) -> None:
    """Thai and Myanmar digits answer menus like ASCII ones (2: Calls and dates, 2: the first
    call after the GA)."""
    with tour("th") as t:
        t.send("menu")
        t.send(digits[0])
        (details,) = t.send(digits[1])
    assert "+66 2 555 0101" in details.text  # the first Thai national call


def test_a_calendar_file_goes_to_telegram_as_a_document() -> None:
    with tour("th", channel="telegram") as t:
        t.send("menu")
        t.choose("schedule")
        t.choose("th-national-1")
        sent = t.choose("calendar")
        with Session(t.pipeline.engine) as db:
            rows = db.exec(select(OutboundMessage).order_by(OutboundMessage.id)).all()
    document = rows[-1].payload["document"]
    assert document["filename"] == "gpsnr-th-national-1.ics" and document["mime"] == "text/calendar"
    calendar = icalendar.Calendar.from_ical(document["content"])
    (event,) = calendar.walk("VEVENT")
    assert str(event["summary"]) == "ประชุมระดับประเทศ ครั้งที่ 1"
    assert event.decoded("dtstart").isoformat() == "2027-07-29T07:00:00+00:00"
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=90)
    assert calendar.walk("VALARM")  # the phone's calendar reminds them too
    assert len(sent) == 2  # the answer, then the file


def test_no_calendar_option_on_sms() -> None:
    with tour("en") as t:
        t.send("menu")
        t.choose("schedule")
        (details,) = t.choose("gh-national-1")
        with pytest.raises(LookupError):
            t.choose("calendar")
    assert not re.search(r"Calendar file", details.text)


def test_resolutions_show_a_summary_then_the_detail() -> None:
    with tour("fr") as t:
        t.send("menu")
        t.choose("assembly")
        (listing,) = t.choose("resolutions")
        (summary,) = t.choose("traceability")
        (detail,) = t.choose("detail")
    assert "3. Transparence et origine du caoutchouc" in listing.text
    assert summary.text.startswith("Transparence et origine du caoutchouc")
    assert "Savoir plus facilement d'où vient le caoutchouc" in summary.text
    assert "Une étude comparera les outils" in detail.text


def test_no_events_says_so() -> None:
    with tour("en") as t:
        t.now = t.now.replace(year=2028)  # everything in the sample is over
        t.send("menu")
        (answer,) = t.choose("schedule")
    assert answer.text.startswith("No calls are planned for now.")


def test_my_data_names_the_time_zone_as_people_do_and_the_practice_call_asked_for() -> None:
    with tour("id", timezone="Asia/Jayapura") as t:
        t.send("menu")
        t.choose("tutorial")
        for _ in range(6):
            t.choose("next")
        t.choose("camera")
        t.choose("dial_in")
        t.choose("practice_yes")
        (shown,) = t.send("DATA SAYA")
    assert "Waktu Indonesia Timur (WIT)" in shown.text
    assert "Asia/Jayapura" not in shown.text
    assert "Latihan pertemuan: Anda minta pada" in shown.text


def test_reminder_screens_say_what_the_person_has_and_what_changed() -> None:
    with tour("en") as t:
        t.send("menu")
        t.choose("schedule")
        (screen,) = t.choose("all_reminders")
        assert screen.text.startswith("Reminders: now you get one before every call.")
        t.choose("none")
        t.choose("list")
        t.choose("gh-national-1")
        t.choose("remind")
        (said,) = t.choose("yes_this")
        assert said.text.startswith("OK, I will remind you before this call. For other calls:")
        t.choose("other")
        (screen,) = t.choose("all_reminders")
        assert screen.text.startswith("Reminders: now only before the calls you chose.")

"""Who needs help: the champion's list, most urgent first, and marking someone as helped."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.engine.events import Submit
from bot.storage.followups import QUIET, followups
from bot.storage.models import AuditEntry, Completion, HelpRequest, Person
from bot.storage.roles import revoke
from bot.storage.submits import apply_submit
from tests.staff.world import World


def _setup(world: World) -> dict[str, str]:
    people = {
        "practice": world.person("TH", name="Somchai"),
        "signing_up": world.person("TH", onboarded=False, channel="whatsapp", name="Malee"),
        "course": world.person("TH", channel="telegram"),
        "finished": world.person("TH"),
        "vietnam": world.person("VN", onboarded=False),
        "no_consent": world.person("TH", consent=False, onboarded=False),
        "stopped": world.person("TH", opted_out=True),
    }
    now = world.clock()
    with Session(world.engine) as db, db.begin():
        for name in ("practice", "finished"):
            db.add(
                Completion(
                    person_id=world.person_id(people[name]),
                    flow="tutorial",
                    first_at=now,
                    last_at=now,
                )
            )
        db.add(
            HelpRequest(
                person_id=world.person_id(people["practice"]), kind="practice_call", created_at=now
            )
        )
    return people


def test_the_list_has_the_country_s_people_who_need_help_most_urgent_first(world: World) -> None:
    people = _setup(world)
    champion = world.person("TH", role="champion")
    shown = world.say(champion, "who needs help")
    lines = shown.splitlines()
    assert lines[0] == "They may need your help (most urgent first):"
    # On SMS the masked number's dots travel as "*" (GSM-7: one part holds 160 characters).
    assert lines[1].startswith("1. Somchai +66*****") and lines[1].endswith(
        ": asked for a practice call"
    )
    assert lines[2].startswith("2. Malee +66*****") and lines[2].endswith(
        ": has not finished signing up"
    )
    assert lines[3:] == ["3. More", "Reply 1-3"]  # two a page, within 3 SMS parts
    assert people["practice"] not in shown  # numbers are masked in the list
    following = world.say(champion, "3").splitlines()
    assert following[0].startswith("1. Telegram +66*****")
    assert following[0].endswith(": has not done the video call course")


def test_the_secretariat_sees_every_country(world: World) -> None:
    _setup(world)
    secretariat = world.person("GH", role="secretariat")
    with Session(world.engine) as db:
        assert len(followups(db, None, world.clock())) == 4
    assert "3. More" in world.say(secretariat, "who needs help")


def test_marking_someone_helped_closes_their_request_for_two_weeks(world: World) -> None:
    people = _setup(world)
    champion = world.person("TH", role="champion")
    world.say(champion, "who needs help")
    detail = world.say(champion, "1")
    assert detail.startswith(
        f"Somchai, {people['practice']}: asked for a practice call. Did you help them?"
    )
    assert "off the list for 2 weeks" in world.choose(champion, "helped")
    shown = world.choose(champion, "more")
    assert "Somchai" not in shown and "Reply 1-2" in shown
    with Session(world.engine) as db:
        requests = db.exec(select(HelpRequest).order_by(HelpRequest.id)).all()  # type: ignore[arg-type]
        (entry,) = db.exec(select(AuditEntry).where(AuditEntry.action == "helped")).all()
    assert all(r.handled_at is not None for r in requests)
    assert {r.kind for r in requests} == {"practice_call", "followup"}
    assert entry.target == f"person:{world.person_id(people['practice'])}"
    world.clock.advance(seconds=(QUIET + timedelta(hours=1)).total_seconds())
    with Session(world.engine) as db:
        listed = [i.id for i in followups(db, "TH", world.clock())]
    assert str(world.person_id(people["practice"])) not in listed  # handled; course done


def test_nobody_to_help(lite: World) -> None:
    champion = lite.person("TH", role="champion")
    assert "Nobody needs help right now." in lite.say(champion, "who needs help")


def test_a_champion_cannot_mark_someone_of_another_country(world: World) -> None:
    people = _setup(world)
    champion = world.person("TH", role="champion")
    me_id, target = world.person_id(champion), str(world.person_id(people["vietnam"]))
    with Session(world.engine) as db, db.begin():
        me = db.get(Person, me_id)
        assert me is not None
        apply_submit(db, me, Submit("helped", {}, target), world.clock(), None)
    with Session(world.engine) as db:
        assert db.exec(select(HelpRequest).where(HelpRequest.kind == "followup")).first() is None
        (entry,) = db.exec(select(AuditEntry).where(AuditEntry.action == "refused")).all()
    assert entry.target == f"person:{target}"


def test_a_champion_revoked_while_reading_the_list_is_told_it_is_no_longer_theirs(
    world: World,
) -> None:
    people = _setup(world)
    champion = world.person("TH", role="champion")
    assert "Somchai" in world.say(champion, "who needs help")
    with Session(world.engine) as db, db.begin():
        revoke(db, champion, world.clock(), "cli")
    shown = world.say(champion, "1")
    assert shown.startswith("Sorry, this is no longer available to you.")
    assert "Menu: what would you like to do?" in shown
    assert "Did you help them?" not in shown and people["practice"] not in shown


def test_someone_helped_by_another_champion_meanwhile_is_not_opened(world: World) -> None:
    people = _setup(world)
    first, second = world.person("TH", role="champion"), world.person("TH", role="champion")
    world.say(first, "who needs help")
    world.say(second, "who needs help")
    world.say(second, "1")
    world.choose(second, "helped")  # Somchai, helped by the second champion
    shown = world.say(first, "1")
    assert shown.startswith("Sorry, that entry is no longer on the list.")
    assert "1. Malee" in shown and people["practice"] not in shown

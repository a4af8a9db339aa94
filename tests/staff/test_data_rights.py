"""MY DATA and DELETE MY DATA: the summary, and an erasure that leaves nothing personal."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from bot.export import Query, rows
from bot.storage.models import AuditEntry, Person, StatementVersion
from bot.storage.privacy import forget
from tests.staff.world import World

NAME = "Ama Serwaa Mensah"
SECRET = "my farm is near the Ankasa forest"


def _everything(world: World) -> str:
    """Every value in every table, as one text to search."""
    with world.engine.connect() as connection:
        found = []
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                found.append(repr(tuple(row)))
    return "\n".join(found)


def _with_history(world: World) -> str:
    """A Ghanaian smallholder who wrote, chose reminders, asked for help, sent a statement."""
    farmer = world.person("GH", name=NAME)
    world.say(farmer, f"hello, I am {NAME} and {SECRET}")
    world.say(farmer, "menu")
    with Session(world.engine) as db, db.begin():
        person_id = world.person_id(farmer)
        db.add(
            StatementVersion(
                person_id=person_id,
                version=1,
                answers={"name": NAME, "place": SECRET},
                text=f"I am {NAME}. {SECRET}.",
                language="en",
                channel="sms",
                area_ha=4.0,
                area_original="4 hectares",
            )
        )
    world.dispatch()
    return farmer


def test_my_data_lists_what_is_kept(lite: World) -> None:
    farmer = lite.person("GH")
    summary = lite.say(farmer, "my data")
    assert "What we keep about you: language English, country Ghana, time zone UTC." in summary
    assert f"Phone: {farmer}. You write to us on: SMS. Messages kept: 1." in summary
    assert "Call reminders: for every call." in summary
    assert "Candidate statement: none." in summary
    assert summary.rstrip().endswith("To erase all of it, send DELETE MY DATA.")


def test_deleting_leaves_no_personal_data_anywhere(world: World) -> None:
    farmer = _with_history(world)
    person_id = world.person_id(farmer)
    before = _everything(world)
    assert farmer in before and NAME in before and SECRET in before
    question = world.say(farmer, "delete my data")
    assert "It cannot be undone" in question
    goodbye = world.choose(farmer, "delete")
    assert goodbye.startswith("Done: your data is deleted.")
    world.dispatch()  # the goodbye goes out, then the address goes too
    assert [e.text for e in world.senders["sms"].sent][-1] == goodbye
    after = _everything(world)
    for personal in (farmer, farmer.lstrip("+"), NAME, SECRET, "Ankasa", "4 hectares"):
        assert personal not in after, personal
    with Session(world.engine) as db:
        person = db.get(Person, person_id)
        (version,) = db.exec(select(StatementVersion)).all()
        (entry,) = db.exec(select(AuditEntry).where(AuditEntry.action == "forget")).all()
        exported = rows(db, Query())
    assert person is not None and person.forgotten_at is not None and person.phone is None
    assert version.withdrawn_at is not None and version.text == "" and version.answers == {}
    assert exported[0]["withdrawn"] and exported[0]["name"] == "" and exported[0]["statement"] == ""
    assert entry.actor == f"person:{person.id}"


def test_keeping_the_data_changes_nothing(lite: World) -> None:
    farmer = _with_history(lite)
    lite.say(farmer, "delete my data")
    assert "nothing was deleted" in lite.choose(farmer, "keep")
    assert NAME in _everything(lite)


def test_writing_again_after_deleting_starts_afresh(lite: World) -> None:
    farmer = _with_history(lite)
    lite.say(farmer, "delete my data")
    lite.choose(farmer, "delete")
    lite.dispatch()
    welcome = lite.say(farmer, "hello")
    assert welcome.startswith("Hello! I help rubber smallholders")
    with Session(lite.engine) as db:
        people = db.exec(select(Person).where(Person.phone == farmer)).all()
    assert len(people) == 1 and people[0].forgotten_at is None and people[0].consent_at is None


def test_an_operator_can_erase_from_the_cli_side(world: World) -> None:
    farmer = _with_history(world)
    with Session(world.engine) as db, db.begin():
        person = db.get(Person, world.person_id(farmer))
        assert person is not None
        forget(db, person, world.clock(), "cli")
    after = _everything(world)
    assert farmer not in after and NAME not in after and SECRET not in after

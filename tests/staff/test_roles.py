"""Roles: who may use the champion and Secretariat commands, and the audit of every attempt."""

from __future__ import annotations

import pytest
import yaml
from sqlmodel import Session, select

from bot.paths import data_dir
from bot.storage.audit import CLI
from bot.storage.models import AuditEntry, Broadcast, Contact, Person
from bot.storage.roles import RoleError, grant, holders, revoke
from tests.conftest import FIXED_NOW
from tests.staff.world import World

STAFF_KEYWORDS = ("broadcast", "followup", "report")


def _staff_words() -> list[str]:
    keywords = yaml.safe_load((data_dir("flows") / "keywords.yaml").read_text(encoding="utf-8"))
    return [word for key in STAFF_KEYWORDS for words in keywords[key].values() for word in words]


def _audit(world: World, action: str) -> list[AuditEntry]:
    with Session(world.engine) as db:
        return list(db.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_a_smallholder_gets_the_ordinary_answer_for_every_staff_command(lite: World) -> None:
    farmer = lite.person("TH")
    lite.say(farmer, "xyzzy")
    unknown = lite.say(farmer, "xyzzy")
    words = _staff_words()
    assert len(words) >= 21  # three commands in seven languages
    for word in words:
        assert lite.say(farmer, word) == unknown, word
    assert "broadcast" not in unknown.lower() and "help" in unknown.lower()
    refused = _audit(lite, "refused")
    assert len(refused) == len(words)
    assert {e.actor for e in refused} == {f"person:{lite.person_id(farmer)}"}
    with Session(lite.engine) as db:
        assert db.exec(select(Broadcast)).first() is None


def test_the_menu_shows_staff_entries_to_staff_only(lite: World) -> None:
    farmer, champion = lite.person("TH"), lite.person("TH", role="champion")
    assert "Broadcasts and follow-up" not in lite.say(farmer, "menu")
    menu = lite.say(champion, "menu")
    assert "8. Broadcasts and follow-up" in menu
    tools = lite.say(champion, "8")
    assert "Send a broadcast" in tools and "Who needs help" in tools and "Broadcast report" in tools


def test_granting_a_role_to_someone_new_registers_them_and_is_audited(world: World) -> None:
    with Session(world.engine) as db, db.begin():
        by_phone = grant(db, "+66 81 555 0101", "champion", "th", FIXED_NOW, CLI)
        by_telegram = grant(db, "tg:424242", "secretariat", None, FIXED_NOW, CLI)
        ids = by_phone.id, by_telegram.id
    with Session(world.engine) as db:
        champion = db.get(Person, ids[0])
        assert champion is not None
        assert (champion.role, champion.role_country, champion.phone) == (
            "champion",
            "TH",
            "+66815550101",
        )
        contact = db.exec(select(Contact).where(Contact.address == "424242")).one()
        assert contact.channel == "telegram" and contact.person_id == ids[1]
        listed = holders(db)
    assert [(h.role, h.country, h.telegram) for h in listed] == [
        ("champion", "TH", False),
        ("secretariat", None, True),
    ]
    assert listed[0].phone != "+66815550101"  # masked
    grants = _audit(world, "grant")
    assert [(e.actor, e.target, e.details["role"]) for e in grants] == [
        ("cli", f"person:{ids[0]}", "champion"),
        ("cli", f"person:{ids[1]}", "secretariat"),
    ]


def test_a_pre_registered_champion_is_found_by_their_first_message(lite: World) -> None:
    with Session(lite.engine) as db, db.begin():
        grant(db, "+66815550102", "champion", "TH", FIXED_NOW, CLI)
    lite.say("+66815550102", "hello")
    with Session(lite.engine) as db:
        people = db.exec(select(Person).where(Person.phone == "+66815550102")).all()
    assert len(people) == 1 and people[0].role == "champion"


def test_revoking_makes_a_smallholder_again_and_is_audited(world: World) -> None:
    champion = world.person("TH", role="champion")
    with Session(world.engine) as db, db.begin():
        revoke(db, champion, FIXED_NOW, CLI)
    with Session(world.engine) as db:
        again = db.get(Person, world.person_id(champion))
        assert again is not None and (again.role, again.role_country) == ("smallholder", None)
    (entry,) = _audit(world, "revoke")
    assert entry.details["before"] == {"role": "champion", "country": "TH"}


@pytest.mark.parametrize(
    ("who", "role", "country", "problem"),
    [
        ("+66815550103", "champion", None, "needs --country"),
        ("+66815550103", "secretariat", "TH", "only a champion"),
        ("+66815550103", "admin", None, "unknown role"),
        ("12 34", "champion", "TH", "not an international phone number"),
        ("tg:12ab", "champion", "TH", "not a Telegram id"),
    ],
)
def test_bad_grants_are_explained(
    lite: World, who: str, role: str, country: str | None, problem: str
) -> None:
    with Session(lite.engine) as db, pytest.raises(RoleError, match=problem):
        grant(db, who, role, country, FIXED_NOW, CLI)

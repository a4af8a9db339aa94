"""`bot data show` and `bot data export`: a person found as the operator types them, and an
access request answered with everything stored about them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.flowfiles import FlowSet
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.storage.models import AuditEntry, Completion, HelpRequest, ReminderChoice, StatementVersion
from tests.conftest import FIXED_NOW, POSTGRES_URL
from tests.staff.world import World
from tests.storage.helpers import Clock

NAME = "Ama Serwaa Mensah"
SECRET = "my farm is near the Ankasa forest"
Bot = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database the `bot` command reaches by DATABASE_URL alone."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cli.db'}"
        schema = None
    else:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    admin = make_engine(POSTGRES_URL) if schema else None
    if admin is not None:
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


@pytest.fixture
def bot(database: str) -> Bot:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "DATABASE_URL": database},
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture
def world(database: str, flows: FlowSet) -> Iterator[World]:
    engine = make_engine(database)
    yield World(engine, flows, Clock(FIXED_NOW))
    engine.dispose()


def _with_history(world: World) -> str:
    """A Ghanaian smallholder who wrote, sent a statement, asked for help, chose reminders."""
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
                submitted_at=FIXED_NOW,
            )
        )
        db.add(HelpRequest(person_id=person_id, kind="practice_call", created_at=FIXED_NOW))
        db.add(ReminderChoice(person_id=person_id, event_id="gh-national-2", wanted=False))
        db.add(Completion(person_id=person_id, flow="tutorial"))
    world.dispatch()
    return farmer


def test_a_phone_number_without_its_plus_is_found(world: World, bot: Bot) -> None:
    farmer = _with_history(world)
    shown = bot("data", "show", farmer.removeprefix("+"))
    assert shown.returncode == 0, shown.stderr
    assert f"Phone: {farmer}." in shown.stdout


def test_an_access_request_gets_everything_stored_about_the_person(
    world: World, bot: Bot, tmp_path: Path
) -> None:
    farmer = _with_history(world)
    other = world.person("GH", name="Kofi Otherperson")
    world.say(other, "hello from someone else entirely")
    assert bot("roles", "grant", farmer, "champion", "--country", "GH").returncode == 0
    target = tmp_path / "access request.json"
    done = bot("data", "export", farmer.removeprefix("+"), "-o", str(target))
    assert done.returncode == 0, done.stderr
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["person"]["phone"] == farmer and document["person"]["role"] == "champion"
    assert [c["address"] for c in document["contacts"]] == [farmer]
    assert document["contacts"][0]["display_name"] == NAME
    received = [m["text"] for m in document["messages_from_them"]]
    assert received == [f"hello, I am {NAME} and {SECRET}", "menu"]
    assert len(document["messages_to_them"]) >= 2
    assert all(m["text"] for m in document["messages_to_them"])
    assert document["conversation"]["person_id"] == document["person"]["id"]
    (version,) = document["statement_versions"]
    assert version["answers"] == {"name": NAME, "place": SECRET}
    assert [h["kind"] for h in document["help_requests"]] == ["practice_call"]
    assert document["reminder_choices"][0]["event_id"] == "gh-national-2"
    assert [c["flow"] for c in document["completed_flows"]] == ["tutorial"]
    assert [a["action"] for a in document["audit_entries"]] == ["grant"]
    text = target.read_text(encoding="utf-8")
    assert "Kofi" not in text and "someone else entirely" not in text and other not in text
    with Session(world.engine) as db:
        exported = db.exec(select(AuditEntry).where(AuditEntry.action == "access_export")).one()
    assert exported.target == f"person:{document['person']['id']}"


def test_an_access_request_for_nobody_or_to_a_bad_file_is_one_line(
    world: World, bot: Bot, tmp_path: Path
) -> None:
    nobody = bot("data", "export", "+233241239999", "-o", str(tmp_path / "x.json"))
    assert nobody.returncode == 2
    assert nobody.stderr.strip().splitlines() == [
        "Invalid value: nobody is registered as +233241239999 (see `bot data export --help`)"
    ]
    farmer = _with_history(world)
    wrong = bot("data", "export", farmer, "-o", str(tmp_path / "x.csv"))
    assert wrong.returncode == 2 and "end the file name in .json" in wrong.stderr

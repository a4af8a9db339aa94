"""DELETE MY DATA leaves nothing of the person anywhere: not in their own rows, not in what
champions were sent about them, not in the database files.

Malee signs up on WhatsApp, takes the course, asks for a practice call and starts her
candidate statement. Two Thai champions look her up (one taps her name on Telegram, one
types numbers on SMS) and see her full number. Then she erases her data.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from bot.flowfiles import FlowSet
from bot.storage.db import is_postgres, make_engine
from bot.storage.migrate import upgrade
from tests.conftest import FIXED_NOW
from tests.staff.world import World
from tests.storage.helpers import Clock
from tests.test_cli import _bot

PHONE = "+66898765431"  # outside the numbers World gives out (+6681234…)
NAME = "Malee Uniquename"
PLACE = "Thailand, Uniqueplace"
# Every way the person could be written down: the number with and without its + or its
# country code, the name and its rare half, her own free-text answer.
IDENTIFIERS = (PHONE, PHONE[1:], PHONE[3:], NAME, "Uniquename", "Uniqueplace")


def _malee_signs_up(world: World) -> None:
    world.say(PHONE, "hello", "whatsapp", display_name=NAME)
    for option in ("agree", "right", "tutorial", *["next"] * 6, "camera", "dial_in"):
        world.choose(PHONE, option, "whatsapp")
    world.choose(PHONE, "practice_yes", "whatsapp")  # a help request for her champion
    world.say(PHONE, "menu", "whatsapp")
    world.choose(PHONE, "statement", "whatsapp")
    world.say(PHONE, NAME, "whatsapp")
    world.say(PHONE, PLACE, "whatsapp")
    world.say(PHONE, "menu", "whatsapp")  # the draft waits for her


def _tables(world: World) -> str:
    """Every column of every row of every table (ours, Alembic's, the scheduler's), as text."""
    found: list[str] = []
    with world.engine.connect() as connection:
        for table in sa.inspect(connection).get_table_names():
            if is_postgres(world.engine):
                query = sa.text(f'SELECT row_to_json(t)::text FROM "{table}" AS t')
            else:
                query = sa.text(f'SELECT * FROM "{table}"')
            found.extend(f"{table}: {tuple(row)!r}" for row in connection.execute(query))
    return "\n".join(found)


def _files(world: World) -> bytes:
    """The SQLite database as it lies on disk: the file, its write-ahead log and its index."""
    database = Path(world.engine.url.database or "")
    suffixes = ("", "-wal", "-shm", "-journal")
    paths = [database.with_name(database.name + suffix) for suffix in suffixes]
    return b"".join(path.read_bytes() for path in paths if path.exists())


def test_erasure_leaves_nothing_in_other_peoples_messages_nor_the_files(world: World) -> None:
    _malee_signs_up(world)
    on_telegram = world.person("TH", role="champion", channel="telegram")
    by_sms = world.person("TH", role="champion")

    world.say(on_telegram, "who needs help", "telegram")
    world.dispatch()
    (listed,) = [b for b in world.senders["telegram"].sent[-1].payload["buttons"] if NAME in b]
    assert listed == f"{NAME} +66•••••5431: asked for a practice call"
    detail = world.say(on_telegram, listed, "telegram")  # a tap sends the button's text
    assert detail.startswith(f"{NAME}, {PHONE}: asked for a practice call. Did you help them?")

    world.say(by_sms, "who needs help")
    world.say(by_sms, "1")
    world.dispatch()
    sms = [e.text for e in world.senders["sms"].sent]
    assert f"1. {NAME} +66*****5431: asked for a practice call" in sms[-2]
    assert sms[-1].startswith(f"{NAME}, {PHONE}: asked for a practice call.")
    world.choose(by_sms, "back")  # the list again, still waiting to be sent
    assert "off the list" in world.choose(on_telegram, "helped", "telegram")

    before = _tables(world)
    assert PHONE in before and NAME in before and "Uniqueplace" in before
    world.say(PHONE, "delete my data", "whatsapp")
    assert world.choose(PHONE, "delete", "whatsapp").startswith("ลบข้อมูลของคุณแล้ว")  # Done
    world.dispatch()

    # The list queued before she left went out after: she is no longer in it.
    assert "1. - -: asked for a practice call" in world.senders["sms"].sent[-1].text
    after = _tables(world)
    stored = _files(world) if not is_postgres(world.engine) else after.encode()
    for identifier in IDENTIFIERS:
        assert identifier not in after, identifier
        assert identifier.encode() not in stored, identifier
    assert "Nobody needs help right now." in world.say(by_sms, "who needs help")


def test_an_operator_s_erasure_leaves_nothing_in_the_files_the_web_has_open(
    tmp_path: Path, flows: FlowSet
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")  # the web process, still running
    upgrade(engine)
    world = World(engine, flows, Clock(FIXED_NOW))
    _malee_signs_up(world)
    champion = world.person("TH", role="champion")
    world.say(champion, "who needs help")
    world.dispatch()
    assert NAME in world.senders["sms"].sent[-1].text
    assert engine.pool.checkedin() > 0  # its connections stay open, the log with them
    erased = _bot("data", "delete", PHONE, "--yes", tmp_path=tmp_path)
    assert erased.returncode == 0, erased.stderr
    stored, after = _files(world), _tables(world)
    for identifier in IDENTIFIERS:
        assert identifier not in after, identifier
        assert identifier.encode() not in stored, identifier
    engine.dispose()

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from bot.flowfiles import FlowSet
from tests.conftest import FIXED_NOW
from tests.staff.world import World
from tests.storage.helpers import Clock


@pytest.fixture
def world(db_engine: Engine, flows: FlowSet) -> World:
    return World(db_engine, flows, Clock(FIXED_NOW))


@pytest.fixture
def lite(sqlite_engine: Engine, flows: FlowSet) -> World:
    """For tests about conversation, not about the database: SQLite only."""
    return World(sqlite_engine, flows, Clock(FIXED_NOW))

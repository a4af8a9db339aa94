"""Counts for operators: where outgoing messages stand, and why some did not go."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bot.storage.models import OutboundMessage

NOT_SENT = ("failed", "held", "skipped")


def outbox_report(
    engine: Engine,
) -> tuple[list[tuple[str, int]], list[tuple[str, str | None, int]]]:
    table = OutboundMessage
    with Session(engine) as db:
        counts = db.exec(
            select(table.status, func.count())
            .group_by(col(table.status))
            .order_by(col(table.status))
        ).all()
        reasons = db.exec(
            select(table.status, table.error, func.count())
            .where(col(table.status).in_(NOT_SENT))
            .group_by(col(table.status), col(table.error))
            .order_by(func.count().desc())
        ).all()
    return [(s, int(n)) for s, n in counts], [(s, e, int(n)) for s, e, n in reasons]

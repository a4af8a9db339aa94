"""Candidate statements: what the flow needs to know, and storing a confirmed version."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from bot.engine.statement import FIELDS, IN_GROUP
from bot.storage.models import StatementVersion

KEPT_ANSWERS = (*FIELDS, IN_GROUP, "area_ha", "area_original")


def latest(db: Session, person_id: int) -> StatementVersion | None:
    return db.exec(
        select(StatementVersion)
        .where(
            StatementVersion.person_id == person_id, col(StatementVersion.withdrawn_at).is_(None)
        )
        .order_by(col(StatementVersion.version).desc())
    ).first()


FACTS = (
    "statement_open",
    "statement_has_deadline",
    "statement_deadline",
    "statement_submitted",
    "statement_submitted_at",
    "statement_text",
    "statement_answers",
)


class StatementFacts(Mapping[str, Any]):
    """What the statement flow branches on and shows, read from the database on first use:
    most turns never look, and this saves them a query."""

    def __init__(
        self, db: Session, person_id: int, now: datetime, deadline: datetime | None
    ) -> None:
        self._db, self._person_id, self._now, self._deadline = db, person_id, now, deadline
        self._found: dict[str, Any] | None = None

    def __getitem__(self, name: str) -> Any:
        if self._found is None:
            self._found = _facts(latest(self._db, self._person_id), self._now, self._deadline)
        return self._found[name]

    def __contains__(self, name: object) -> bool:
        return name in FACTS

    def __iter__(self) -> Iterator[str]:
        return iter(FACTS)

    def __len__(self) -> int:
        return len(FACTS)


def statement_facts(
    db: Session, person_id: int, now: datetime, deadline: datetime | None
) -> StatementFacts:
    return StatementFacts(db, person_id, now, deadline)


def _facts(
    last: StatementVersion | None, now: datetime, deadline: datetime | None
) -> dict[str, Any]:
    return {
        "statement_open": deadline is None or now < deadline,
        "statement_has_deadline": deadline is not None,
        "statement_deadline": deadline,
        "statement_submitted": last is not None,
        "statement_submitted_at": last.submitted_at if last else None,
        "statement_text": last.text if last else "",
        "statement_answers": {k: v for k, v in (last.answers if last else {}).items()},
    }


def submit(
    db: Session,
    person_id: int,
    answers: dict[str, Any],
    text: str,
    language: str,
    channel: str,
    now: datetime,
) -> StatementVersion:
    number = db.exec(
        select(func.max(StatementVersion.version)).where(StatementVersion.person_id == person_id)
    ).one()
    kept = {k: answers[k] for k in KEPT_ANSWERS if answers.get(k) not in (None, "")}
    version = StatementVersion(
        person_id=person_id,
        version=(number or 0) + 1,
        answers=kept,
        text=text,
        language=language,
        channel=channel,
        area_ha=answers.get("area_ha"),
        area_original=answers.get("area_original"),
        submitted_at=now,
    )
    db.add(version)
    return version

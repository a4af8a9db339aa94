"""The audit trail: who did what, when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.storage.models import AuditEntry, utcnow

CLI = "cli"


def person_actor(person_id: int | None) -> str:
    return f"person:{person_id}" if person_id is not None else CLI


def audit(
    db: Session,
    actor: str,
    action: str,
    target: str | None = None,
    now: datetime | None = None,
    **details: Any,
) -> None:
    db.add(
        AuditEntry(at=now or utcnow(), actor=actor, action=action, target=target, details=details)
    )

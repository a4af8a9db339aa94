"""The operator commands: roles, broadcast from a file, a person's data."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from bot.storage.db import make_engine
from bot.storage.models import AuditEntry, Broadcast, OutboundMessage, Person
from tests.test_cli import _bot


def _db(tmp_path: Path) -> Session:
    return Session(make_engine(f"sqlite:///{tmp_path / 'cli.db'}"))


def test_roles_broadcast_and_data_from_the_command_line(tmp_path: Path) -> None:
    assert _bot("demo", "load", tmp_path=tmp_path).returncode == 0
    granted = _bot(
        "roles", "grant", "+66815550199", "champion", "--country", "th", tmp_path=tmp_path
    )
    assert granted.returncode == 0, granted.stderr
    assert "is now champion for TH" in granted.stderr
    listed = _bot("roles", "list", tmp_path=tmp_path)
    assert "champion\tTH\t+66•••••0199\tno" in listed.stdout
    message = tmp_path / "message.txt"
    message.write_text("The national call is on Friday at 9:00.\n", encoding="utf-8")
    refused = _bot(
        "broadcast", "--country", "TH", "--text-file", str(message), stdin="n\n", tmp_path=tmp_path
    )
    assert (
        refused.returncode == 1 and "Preview:" in refused.stderr and "cancelled" in refused.stderr
    )
    sent = _bot(
        "broadcast",
        "--country",
        "TH",
        "--audience",
        "not-tutorial",
        "--text-file",
        str(message),
        "--yes",
        tmp_path=tmp_path,
    )
    assert sent.returncode == 0, sent.stderr
    with _db(tmp_path) as db:
        broadcast = db.exec(select(Broadcast)).one()
        queued = db.exec(
            select(OutboundMessage).where(OutboundMessage.broadcast_id == broadcast.id)
        ).all()
        thai = db.exec(
            select(Person).where(Person.country == "TH", Person.role == "smallholder")
        ).all()
    assert (
        broadcast.country == "TH"
        and broadcast.audience == "not_tutorial"
        and broadcast.created_by is None
    )
    assert f"{len(queued)} messages queued" in sent.stderr and 0 < len(queued) <= len(thai)
    shown = _bot("data", "show", "+66815550199", tmp_path=tmp_path)
    assert "Phone: +66815550199." in shown.stdout
    erased = _bot("data", "delete", "+66815550199", "--yes", tmp_path=tmp_path)
    assert erased.returncode == 0, erased.stderr
    assert _bot("data", "show", "+66815550199", tmp_path=tmp_path).returncode != 0
    revoked = _bot("roles", "revoke", "+66815550199", tmp_path=tmp_path)
    assert revoked.returncode != 0  # nobody by that number any more
    with _db(tmp_path) as db:
        actions = [e.action for e in db.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]  # type: ignore[arg-type]
    assert actions == ["grant", "broadcast", "forget"]


def test_a_bad_broadcast_is_explained(tmp_path: Path) -> None:
    message = tmp_path / "m.txt"
    message.write_text("hi", encoding="utf-8")
    both = _bot(
        "broadcast", "--country", "TH", "--all", "--text-file", str(message), tmp_path=tmp_path
    )
    assert both.returncode == 2 and "--country XX or --all" in both.stderr
    audience = _bot(
        "broadcast",
        "--all",
        "--audience",
        "friends",
        "--text-file",
        str(message),
        tmp_path=tmp_path,
    )
    assert audience.returncode == 2 and "not-tutorial" in audience.stderr


def test_a_broadcast_that_reaches_nobody_stops_after_saying_so(tmp_path: Path) -> None:
    assert _bot("demo", "load", tmp_path=tmp_path).returncode == 0
    message = tmp_path / "m.txt"
    message.write_text("The call is on Friday.", encoding="utf-8")
    # Thai smallholders are not reminded of Vietnam's national call: nobody matches.
    nobody = _bot(
        "broadcast",
        "--country",
        "TH",
        "--audience",
        "event:vn-national-1",
        "--text-file",
        str(message),
        stdin="y\n",
        tmp_path=tmp_path,
    )
    assert nobody.returncode == 1
    assert "Nobody matches this audience" in nobody.stderr
    assert "Send it now?" not in nobody.stdout + nobody.stderr
    unknown = _bot(
        "broadcast",
        "--all",
        "--audience",
        "event:nope",
        "--text-file",
        str(message),
        stdin="y\n",
        tmp_path=tmp_path,
    )
    assert unknown.returncode == 2 and "Send it now?" not in unknown.stdout
    assert "no event 'nope' (`bot schedule list` shows them)" in unknown.stderr
    with _db(tmp_path) as db:
        assert db.exec(select(Broadcast)).all() == []


def test_a_broadcast_without_country_or_all_says_what_is_missing(tmp_path: Path) -> None:
    message = tmp_path / "m.txt"
    message.write_text("hi", encoding="utf-8")
    neither = _bot("broadcast", "--text-file", str(message), tmp_path=tmp_path)
    assert neither.returncode == 2
    assert "--country XX for one country or --all for every country" in neither.stderr


def test_a_broadcast_to_those_reminded_of_a_call_reaches_them(tmp_path: Path) -> None:
    assert _bot("demo", "load", tmp_path=tmp_path).returncode == 0
    message = tmp_path / "m.txt"
    message.write_text("The call is on Friday.", encoding="utf-8")
    sent = _bot(
        "broadcast",
        "--country",
        "TH",
        "--audience",
        "event:th-national-1",  # an id with dashes, as every id in the schedule
        "--text-file",
        str(message),
        "--yes",
        tmp_path=tmp_path,
    )
    assert sent.returncode == 0, sent.stderr
    with _db(tmp_path) as db:
        broadcast = db.exec(select(Broadcast)).one()
        queued = db.exec(
            select(OutboundMessage).where(OutboundMessage.broadcast_id == broadcast.id)
        ).all()
    assert broadcast.event_id == "th-national-1" and len(queued) > 0

"""Broadcasts: audience, preview, queueing exactly once, priority, delivery report, loop guard."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from bot.broadcasts import expand as expand_module
from bot.broadcasts.audience import Audience, audience_of, reach
from bot.broadcasts.expand import LOOP_LIMIT, expand, expand_pending
from bot.channels.base import SendResult
from bot.storage import outbox
from bot.storage.models import (
    AuditEntry,
    Broadcast,
    Completion,
    Contact,
    OutboundMessage,
    Person,
)
from bot.storage.submits import queue_broadcast
from tests.staff.world import World
from tests.storage.helpers import FakeSender

TEXT = "Rubber price call on Friday at 9:00. Join with the link we sent."


def _broadcast(world: World, champion: str, text: str = TEXT, audience: str = "everyone") -> str:
    """The champion's broadcast flow up to the preview; returns the preview."""
    world.say(champion, "broadcast")
    world.say(champion, text)
    return world.choose(champion, audience)


def _population(world: World) -> dict[str, list[str]]:
    """Thai smallholders on every channel, and people a Thai broadcast must not reach."""
    return {
        "reached": [
            world.person("TH"),
            world.person("TH"),
            world.person("TH", channel="whatsapp", wrote_hours_ago=2),
            world.person("TH", channel="whatsapp", wrote_hours_ago=30),
            world.person("TH", channel="telegram"),
        ],
        "not_reached": [
            world.person("VN"),
            world.person("VN", channel="whatsapp"),
            world.person("TH", opted_out=True),
            world.person("TH", unreachable=True),
            world.person("TH", consent=False),
            world.person("TH", role="secretariat"),
        ],
    }


def _rows(world: World) -> list[OutboundMessage]:
    return world.outbox(kind="broadcast")


def _countries(world: World) -> Counter[str | None]:
    """Broadcast rows per recipient country."""
    with Session(world.engine) as db:
        found = db.exec(
            select(Person.country)
            .join(Contact, col(Contact.person_id) == col(Person.id))
            .join(OutboundMessage, col(OutboundMessage.contact_id) == col(Contact.id))
            .where(OutboundMessage.kind == "broadcast")
        ).all()
    return Counter(found)


def _contact_id(world: World, address: str) -> int:
    with Session(world.engine) as db:
        return db.exec(select(Contact.id).where(Contact.address == address)).one()


def test_the_preview_counts_exactly_who_gets_it_per_channel(world: World) -> None:
    world.prices.update({"TH": 0.025})
    _population(world)
    champion = world.person("TH", role="champion")
    preview = _broadcast(world, champion)
    assert TEXT in preview
    assert "Preview: 5 people in Thailand will get it." in preview
    assert "SMS: 2 (each 1 SMS long, 2 SMS in all). WhatsApp: 2. Telegram: 1." in preview
    assert "Estimated SMS cost: US$ 0.05." in preview
    assert "1 WhatsApp contact has not written for 24 hours" in preview
    assert preview.rstrip().endswith("1=Yes, send it  2=No, cancel")


def test_without_prices_the_preview_says_the_cost_is_unknown(lite: World) -> None:
    lite.person("TH")
    preview = _broadcast(lite, lite.person("TH", role="champion"))
    assert "SMS cost: unknown" in preview and "US$" not in preview


def test_nothing_is_queued_before_the_confirmation_and_cancel_sends_nothing(lite: World) -> None:
    _population(lite)
    champion = lite.person("TH", role="champion")
    _broadcast(lite, champion)
    assert "nothing was sent" in lite.choose(champion, "cancel")
    expand_pending(lite.engine, lite.clock())
    with Session(lite.engine) as db:
        assert db.exec(select(Broadcast)).first() is None
    assert _rows(lite) == []


def test_a_confirmed_broadcast_reaches_each_smallholder_of_the_country_once(world: World) -> None:
    people = _population(world)
    champion = world.person("TH", role="champion")
    _broadcast(world, champion)
    assert "Sending now" in world.choose(champion, "send")
    assert expand_pending(world.engine, world.clock()) == 5
    assert expand_pending(world.engine, world.clock()) == 0  # already queued
    rows = _rows(world)
    with Session(world.engine) as db:
        broadcast = db.exec(select(Broadcast)).one()
        (entry,) = db.exec(select(AuditEntry).where(AuditEntry.action == "broadcast")).all()
    assert len(rows) == 5 and all(r.priority == outbox.BULK_PRIORITY for r in rows)
    assert {r.text for r in rows} == {TEXT}
    assert Counter(r.channel for r in rows) == {"sms": 2, "whatsapp": 2, "telegram": 1}
    assert broadcast.country == "TH" and broadcast.recipients == 5 and broadcast.status == "queued"
    assert entry.actor == f"person:{world.person_id(champion)}" and entry.details["country"] == "TH"
    assert {r.contact_id for r in rows} == {_contact_id(world, a) for a in people["reached"]}


def test_a_thai_champion_cannot_reach_vietnam_whatever_the_answers_say(world: World) -> None:
    _population(world)
    champion = world.person("TH", role="champion")
    with Session(world.engine) as db, db.begin():
        person = db.exec(select(Person).where(Person.phone == champion)).one()
        forged = {"text": TEXT, "audience": "all", "country": "VN"}
        broadcast = queue_broadcast(db, person, forged, world.clock())
        assert broadcast is not None and broadcast.country == "TH"
    expand_pending(world.engine, world.clock())
    assert _countries(world) == {"TH": 5}
    assert audience_of("champion", "TH", {"country": "VN"}) == Audience("TH", "all")
    assert audience_of("smallholder", None, {"country": "VN"}) is None
    assert audience_of("champion", None, {}) is None


def test_the_secretariat_can_reach_one_country_or_all(world: World) -> None:
    _population(world)
    secretariat = world.person("GH", role="secretariat")
    world.say(secretariat, "broadcast")
    world.say(secretariat, TEXT)
    world.choose(secretariat, "all_countries")
    preview = world.choose(secretariat, "everyone")
    assert "Preview: 7 people in all countries will get it." in preview
    world.choose(secretariat, "send")
    assert expand_pending(world.engine, world.clock()) == 7


def test_audiences_narrow_to_the_course_or_one_call(world: World) -> None:
    people = _population(world)["reached"]
    done = world.person_id(people[0])
    with Session(world.engine) as db, db.begin():
        db.add(
            Completion(
                person_id=done, flow="tutorial", first_at=world.clock(), last_at=world.clock()
            )
        )
    with Session(world.engine) as db:
        not_done = reach(db, Audience("TH", "not_tutorial"))
        everyone = reach(db, Audience("TH", "all"))
    assert len(everyone) == 5 and len(not_done) == 4
    assert done not in {r.person_id for r in not_done}


def test_opted_out_after_queueing_is_skipped_at_send_time(lite: World) -> None:
    people = _population(lite)["reached"]
    champion = lite.person("TH", role="champion")
    _broadcast(lite, champion)
    lite.choose(champion, "send")
    expand_pending(lite.engine, lite.clock())
    lite.say(people[0], "STOP")
    lite.dispatch()
    rows = {r.contact_id: r for r in _rows(lite)}
    stopped = rows[_contact_id(lite, people[0])]
    assert (stopped.status, stopped.error) == ("skipped", "opted out")
    assert sum(r.status == "sent" for r in rows.values()) == 4


def test_replies_go_before_a_queued_broadcast(world: World) -> None:
    people = _population(world)["reached"]
    champion = world.person("TH", role="champion")
    _broadcast(world, champion)
    world.choose(champion, "send")
    expand_pending(world.engine, world.clock())
    world.say(people[1], "menu")  # a question while the bulk waits
    world.clock.advance(seconds=1)
    with Session(world.engine) as db, db.begin():
        claimed = outbox.claim(db, world.clock(), outbox_lease(), {"sms", "whatsapp", "telegram"})
    kinds = [c.kind for c in claimed]
    replies = kinds.count("reply")
    assert replies >= 1 and kinds[:replies] == ["reply"] * replies  # every reply first
    asker = _contact_id(world, people[1])
    assert any(c.kind == "reply" and c.contact_id == asker for c in claimed)


def outbox_lease() -> timedelta:
    return timedelta(seconds=60)


def test_a_crash_midway_through_queueing_resumes_without_doubles(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(12):
        world.person("TH")
    champion = world.person("TH", role="champion")
    _broadcast(world, champion)
    world.choose(champion, "send")
    monkeypatch.setattr(expand_module, "CHUNK", 5)
    real_insert, calls = expand_module.insert_new, []

    def dies_on_the_second_chunk(db, rows):  # type: ignore[no-untyped-def]
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real_insert(db, rows)

    monkeypatch.setattr(expand_module, "insert_new", dies_on_the_second_chunk)
    with pytest.raises(RuntimeError):
        expand_pending(world.engine, world.clock())
    assert len(_rows(world)) == 5  # the first chunk survived the crash
    monkeypatch.setattr(expand_module, "insert_new", real_insert)
    assert expand_pending(world.engine, world.clock()) == 7
    world.dispatch()
    sent = Counter(e.address for e in world.senders["sms"].sent if e.text == TEXT)
    assert len(sent) == 12 and set(sent.values()) == {1}


def test_a_crash_while_sending_resends_only_what_was_not_recorded(world: World) -> None:
    farmers = [world.person("TH") for _ in range(6)]
    champion = world.person("TH", role="champion")
    _broadcast(world, champion)
    world.choose(champion, "send")
    expand_pending(world.engine, world.clock())
    some = [_contact_id(world, a) for a in farmers[:3]]
    with Session(world.engine) as db, db.begin():
        claimed = outbox.claim(db, world.clock(), outbox_lease(), {"sms"}, contact_ids=some)
    assert len(claimed) == 3  # three rows taken, then the worker dies before sending them
    world.dispatch()
    assert len([e for e in world.senders["sms"].sent if e.text == TEXT]) == 3  # the others
    world.clock.advance(seconds=61)  # the dead worker's lease runs out
    world.dispatch()
    sent = Counter(e.address for e in world.senders["sms"].sent if e.text == TEXT)
    assert sorted(sent) == sorted(farmers) and set(sent.values()) == {1}


def test_the_delivery_report_tells_what_happened(world: World) -> None:
    people = _population(world)["reached"]
    champion = world.person("TH", role="champion")
    assert "No broadcast has been sent yet." in world.say(champion, "report")
    _broadcast(world, champion)
    world.choose(champion, "send")
    assert "getting ready to send" in world.say(champion, "report")
    world.dispatch()  # the champion's own answers first: the scripts below are for the bulk
    expand_pending(world.engine, world.clock())
    world.senders["sms"] = FakeSender(
        [SendResult("unreachable", error="sms: invalid phone number")]
    )
    world.senders["whatsapp"] = FakeSender([SendResult("failed", error="twilio 500")])
    world.dispatch()
    with Session(world.engine) as db, db.begin():
        for row in db.exec(select(OutboundMessage).where(OutboundMessage.channel == "telegram")):
            row.status = "delivered"
            db.add(row)
    world.say(people[0], "thanks, I will join")
    report = world.say(champion, "report")
    assert "to 5: 0 waiting, 2 sent, 1 delivered, 2 not sent. Replies: 1." in report
    assert "number blocked or not reachable: 1" in report
    assert "error at the provider: 1" in report


def test_the_loop_guard_refuses_the_same_text_too_often(lite: World) -> None:
    people = _population(lite)["reached"]
    with Session(lite.engine) as db, db.begin():
        person = db.exec(select(Person).where(Person.role == "smallholder")).first()
        champion_row = Person(role="champion", role_country="TH", country="TH")
        db.add(champion_row)
        db.flush()
        ids = []
        for _ in range(LOOP_LIMIT + 1):
            b = queue_broadcast(db, champion_row, {"text": TEXT, "audience": "all"}, lite.clock())
            assert b is not None
            ids.append(b.id)
        assert person is not None
    counts = [expand(lite.engine, i, lite.clock()) for i in ids if i is not None]
    assert counts == [5] * LOOP_LIMIT + [0]
    per_contact = Counter(r.contact_id for r in _rows(lite))
    assert len(per_contact) == len(people) and set(per_contact.values()) == {LOOP_LIMIT}

"""Inbound messages -> normalise -> engine -> one transaction -> outbox rows.

The console calls `Pipeline.handle` (one message); the web's group commit calls
`Pipeline.handle_many` with whatever concurrent webhooks brought. Either way a message's row,
the new conversation state, the person's changes and the answer are stored in one commit
before anyone is told it was handled; a redelivered message (same channel and provider id) is
recognised and answered nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from bot.channels.base import InboundMessage, capabilities
from bot.engine import texts
from bot.engine.events import Event, SendText
from bot.engine.runner import Turn, resume
from bot.engine.state import Context, Input, State
from bot.flowfiles import FlowSet
from bot.i18n.formatting import Reader
from bot.inputs import engine_input, plain_inbound
from bot.phones import mask, parse_phone
from bot.render import Reply, forget_drawn, render
from bot.storage.checkpoints import empty_log
from bot.storage.content import ContentCache
from bot.storage.documents import documents_for
from bot.storage.effects import apply_effects, completions
from bot.storage.mentions import filled_reply, tapped
from bot.storage.models import Contact, Conversation, Person, utcnow
from bot.storage.newcomers import create_newcomers
from bot.storage.outbox import Queued, enqueue_document, reply_rows
from bot.storage.pending import PendingWrites, Ticket, TurnSession
from bot.storage.people import (
    apply_fields,
    find_contact,
    profile_of,
    reader_of,
    start_over,
)
from bot.storage.privacy import forget_contact_after
from bot.storage.statements import statement_facts
from bot.storage.turns import (
    ContactRow,
    ConversationRow,
    PersonRow,
    Sender,
    TurnPerson,
    contact_changes,
    conversation_changes,
    insert_inbound,
    known,
    person_changes,
)
from bot.storage.views import resolve_views
from bot.text import Normalised, is_unicode_burmese, normalise
from bot.turncache import Kept, Key, TurnCache, keepable, quiet

log = logging.getLogger(__name__)

# A brand-new contact's first message can race with itself (two webhooks at once).
MAX_ATTEMPTS = 3
# An answer longer than this many provider messages goes through the outbox instead. Two: on
# SMS a notice and the question after it may travel as two messages of 3 parts each.
INLINE_MAX_PARTS = 2


@dataclass(frozen=True)
class Handled:
    duplicate: bool
    contact_id: int | None = None
    inbound_id: int | None = None
    outbound_ids: tuple[int, ...] = ()  # the answer's rows, one per part of `reply`, in order
    reply: Reply | None = None  # as the sender reads it (others named in it written out)
    inline: bool = False  # the answer goes back in the HTTP response, already marked sent
    # Files sent after the answer (a calendar entry): never inline, a provider fetches them.
    document_ids: tuple[int, ...] = ()
    erased: bool = False  # the sender's data was erased by this message

    @property
    def queued_ids(self) -> tuple[int, ...]:
        """Rows the dispatcher must send."""
        return self.document_ids if self.inline else self.outbound_ids + self.document_ids


@dataclass(frozen=True)
class _Message:
    """An inbound message made ready for its turn, before any transaction."""

    inbound: InboundMessage
    normalised: Normalised
    inline: bool
    now: datetime

    @property
    def sender(self) -> Sender:
        return self.inbound.channel, self.inbound.address

    def row(self, contact_id: int, limit: int) -> dict[str, Any]:
        return {
            "contact_id": contact_id,
            "channel": self.inbound.channel,
            "dedupe_key": self.inbound.dedupe_key,
            "text": self.normalised.text[: limit * 2],
            "media_url": self.inbound.media_url,
            "received_at": self.now,
        }


@dataclass
class _Answered:
    """A turn's outcome inside its transaction; its outbox ids are known after the flush."""

    contact_id: int
    inbound_id: int
    reply: Reply | None
    inline: bool
    ticket: Ticket | None
    documents: list[Queued]
    erased: bool

    def handled(self) -> Handled:
        return Handled(
            duplicate=False,
            contact_id=self.contact_id,
            inbound_id=self.inbound_id,
            outbound_ids=tuple(r.id for r in (self.ticket.queued if self.ticket else [])),
            reply=self.reply,
            inline=self.inline,
            document_ids=tuple(r.id for r in self.documents),
            erased=self.erased,
        )


DUPLICATE = Handled(duplicate=True)
Outcome = Handled | Exception
# Failures that belong to one message of a batch (a first message racing another process, a
# bug in one turn): the batch is retried one message at a time. Any other database error (it
# is down, locked) fails the whole batch at once: retrying each would only wait longer.
_RETRY_ALONE_SQLSTATES = ("40001", "40P01")  # serialization failure, deadlock


class Pipeline:
    def __init__(
        self,
        engine: Engine,
        flows: FlowSet,
        max_input_chars: int = 1600,
        clock: Callable[[], datetime] = utcnow,
        content: ContentCache | None = None,
        statement_deadline: datetime | None = None,
        prices: Mapping[str, float] | None = None,
    ) -> None:
        self.engine = engine
        self.flows = flows
        self.max_input_chars = max_input_chars
        self.clock = clock
        self.content = content or ContentCache(clock)
        self.statement_deadline = statement_deadline
        self.prices = prices or {}  # SMS price per segment by country, for broadcast previews
        self.turns = TurnCache()

    def handle(self, inbound: InboundMessage, inline: bool = False) -> Handled:
        """Store the message and its answer. With `inline`, a short answer (at most
        INLINE_MAX_PARTS parts) is recorded as sent: the caller returns it in its response."""
        outcome = self._alone(self._prepare(inbound, inline, self.clock()))
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def handle_many(self, batch: Sequence[tuple[InboundMessage, bool]]) -> list[Outcome]:
        """Several messages in as few transactions as possible (group commit): one, unless a
        person wrote twice (their second message goes in the next, which sees the first).
        Each message's outcome in order: how it was handled, or the error that kept it from
        being stored (nothing of it was)."""
        now = self.clock()  # one moment for the batch: it is stored in one transaction
        messages = [self._prepare(inbound, inline, now) for inbound, inline in batch]
        results: dict[int, Outcome] = {}
        todo = list(range(len(messages)))
        while todo:
            try:
                handled = self._transaction([messages[i] for i in todo])
            except Exception as error:
                if not _retry_alone(error):
                    results.update((i, error) for i in todo)
                    break
                if len(todo) > 1:
                    log.info("a batch of %s messages failed: one by one now", len(todo))
                results.update((i, self._alone(messages[i])) for i in todo)
                break
            results.update((i, h) for i, h in zip(todo, handled, strict=True) if h is not None)
            todo = [i for i, h in zip(todo, handled, strict=True) if h is None]
        return [results[i] for i in range(len(messages))]

    def _alone(self, message: _Message) -> Outcome:
        """One message in its own transaction, again if it raced with another one's insert."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                (handled,) = self._transaction([message])
                assert handled is not None
                return handled
            except IntegrityError as error:
                if attempt == MAX_ATTEMPTS:
                    return error
                address = mask(message.inbound.address)
                log.info("retrying a turn for %s after a concurrent insert", address)
            except Exception as error:
                return error
        raise AssertionError("unreachable")

    def _prepare(self, inbound: InboundMessage, inline: bool, now: datetime) -> _Message:
        inbound = plain_inbound(inbound)
        normalised = normalise(inbound.text, self.max_input_chars)
        return _Message(inbound, normalised, inline, now)

    def _transaction(self, messages: list[_Message]) -> list[Handled | None]:
        """One commit for `messages`; None for those left for the next transaction."""
        with TurnSession(self.engine, expire_on_commit=False) as db, db.begin():
            writes = PendingWrites(db).attach()
            try:
                answered = self._batch(db, writes, messages)
                writes.flush()
            finally:
                writes.detach()
        if any(isinstance(a, _Answered) and a.erased for a in answered):
            self._after_erasure()
        return [a.handled() if isinstance(a, _Answered) else a for a in answered]

    def _after_erasure(self) -> None:
        """Nothing of an erased person stays in this process's memory (answers drawn for
        them, their turns, their number read) nor in SQLite's log of earlier pages."""
        self.turns.clear()
        forget_drawn()
        parse_phone.cache_clear()
        empty_log(self.engine)

    def _batch(
        self, db: Session, writes: PendingWrites, messages: list[_Message]
    ) -> list[_Answered | Handled | None]:
        """The rows of every sender locked by one SELECT (those writing for the first time
        created first), their messages stored by one INSERT, then their turns. Someone who
        erased their data and writes again before their address was let go takes the ORM
        path."""
        out: list[_Answered | Handled | None] = [None] * len(messages)
        first = _one_per_sender(messages)
        found = known(db, (messages[i].sender for i in first))
        newcomers = [messages[i] for i in first if messages[i].sender not in found]
        if newcomers:
            create_newcomers(db, [m.inbound for m in newcomers], newcomers[0].now)
            found.update(known(db, (m.sender for m in newcomers)))
        usual: list[int] = []
        people: set[int | None] = set()
        for i in first:
            entry = found.get(messages[i].sender)
            if entry is None:
                raise LookupError("a sender's rows were created but cannot be read back")
            if entry[1].forgotten_at is not None:
                # A new person from now on: nobody else's rows read above are touched.
                out[i] = self._erased_writes_again(db, writes, messages[i])
            elif entry[1].id not in people:  # a second address of someone: next transaction
                people.add(entry[1].id)
                usual.append(i)
        for i in usual:
            messages[i] = _as_tapped(db, messages[i], found[messages[i].sender][2].labels)
        limit = self.max_input_chars
        stored = insert_inbound(
            db, [messages[i].row(found[messages[i].sender][0].id, limit) for i in usual]
        )
        for i in usual:
            message = messages[i]
            inbound_id = stored.get((message.inbound.channel, message.inbound.dedupe_key))
            if inbound_id is None:
                out[i] = DUPLICATE
                continue
            contact, person, conversation = found[message.sender]
            out[i] = self._respond(db, writes, message, contact, person, conversation, inbound_id)
        return out

    def _erased_writes_again(
        self, db: Session, writes: PendingWrites, message: _Message
    ) -> _Answered | Handled:
        """Someone erased writing again (a new person from now on): in a savepoint, so that
        a redelivery (found only once that person exists) leaves nothing behind."""
        writes.flush()  # earlier turns' writes must not be rolled back with this savepoint
        savepoint = db.begin_nested()
        contact, person, conversation = self._start_over(db, message.inbound, message.now)
        assert contact.id is not None
        key = (message.inbound.channel, message.inbound.dedupe_key)
        inbound_id = insert_inbound(db, [message.row(contact.id, self.max_input_chars)]).get(key)
        if inbound_id is None:
            savepoint.rollback()
            return DUPLICATE
        answered = self._respond(db, writes, message, contact, person, conversation, inbound_id)
        savepoint.commit()
        return answered

    def _respond(
        self,
        db: Session,
        writes: PendingWrites,
        message: _Message,
        contact: Contact | ContactRow,
        person: TurnPerson,
        conversation: Conversation | ConversationRow,
        inbound_id: int,
    ) -> _Answered:
        """The turn of a stored message: the engine, its effects, the answer queued."""
        inbound, now = message.inbound, message.now
        assert contact.id is not None and person.id is not None
        _touch(contact, inbound, now)
        if isinstance(contact, ContactRow):
            writes.save_contact(contact_changes(contact))
        _remember_script(person, message.normalised)
        inp = engine_input(
            inbound,
            message.normalised,
            conversation.labels,
            self.max_input_chars,
            self.flows.keywords,
        )
        key = _turn_key(conversation, inp, person, inbound.channel)
        kept = self.turns.get(key) if key is not None else None
        orm: Person | None = None
        if kept is not None:
            turn, events, reply = kept.turn, kept.turn.events, kept.reply
            apply_fields(person, events, now)
            completions(person.id, events, now, writes.complete)
        else:
            turn = self._turn(db, conversation, person, inp, now, inbound.channel)
            if quiet(turn):
                events = turn.events
                apply_fields(person, events, now)
                completions(person.id, events, now, writes.complete)
                reader = reader_of(person)
            else:
                writes.flush()  # views and effects may read what the batch wrote so far
                person = orm = _orm_person(db, person)
                events, reader = self._effects(db, writes, orm, turn, now, contact)
            reply = render(events, reader, capabilities(inbound.channel))
            if key is not None and keepable(turn):
                kept = Kept(turn, reply, json.dumps(turn.state.to_json()))
                self.turns.put(key, kept)
        inline = message.inline and reply is not None and len(reply.parts) <= INLINE_MAX_PARTS
        shown = _shown(db, reply, inbound.channel, person)
        ticket = (
            writes.queue(reply_rows(contact, reply, inbound_id, now, inline, shown))
            if reply
            else None
        )
        documents = [
            enqueue_document(db, contact, document, inbound_id, now)
            for document in (documents_for(db, orm, events) if orm is not None else ())
        ]
        if person.forgotten_at is not None:
            turn = Turn(State(), turn.events)  # no draft or answer survives an erasure
            writes.flush()
            forget_contact_after(db, contact.id, (ticket.queued if ticket else []) + documents)
        if isinstance(person, PersonRow) and (changes := person_changes(person)):
            writes.save_person(changes)
        _save(conversation, turn, kept.state if kept else None, reply, now)
        if isinstance(conversation, ConversationRow):
            writes.save_conversation(conversation_changes(conversation))
        else:
            db.add(conversation)
        erased = person.forgotten_at is not None
        return _Answered(contact.id, inbound_id, shown, inline, ticket, documents, erased)

    def _start_over(
        self, db: Session, inbound: InboundMessage, now: datetime
    ) -> tuple[Contact, Person, Conversation]:
        """The erased person's contact goes to a new person, with a new conversation."""
        contact = find_contact(db, inbound.channel, inbound.address)
        assert contact is not None  # the batch's SELECT found it
        person = start_over(db, contact, inbound, now)
        assert person.id is not None
        return contact, person, _new_conversation(db, person.id)

    def _effects(
        self,
        db: Session,
        writes: PendingWrites,
        person: Person,
        turn: Turn,
        now: datetime,
        contact: Contact | ContactRow,
    ) -> tuple[tuple[Event, ...], Reader]:
        """A turn that does more than talk: its views drawn from the database, the person's
        fields set, its effects applied. The events to answer with, and who reads them."""
        events = resolve_views(db, person, turn.events, now, self.prices)
        apply_fields(person, events, now)
        reader = reader_of(person)  # before an erasure: the goodbye is in their language
        apply_effects(
            db,
            person,
            events,
            now,
            contact.channel,
            self.statement_deadline,
            contact.id,
            completed=writes.complete,
        )
        return events, reader

    def _turn(
        self,
        db: Session,
        conversation: Conversation | ConversationRow,
        person: TurnPerson,
        inp: Input,
        now: datetime,
        channel: str,
    ) -> Turn:
        assert person.id is not None
        data = self.content.collections(db, person, now)
        facts = statement_facts(db, person.id, now, self.statement_deadline)
        context = Context(
            profile=profile_of(person),
            now=now,
            channel=channel,
            flows=self.flows.flows,
            keywords=self.flows.keywords,
            data=data,
            facts=facts,
        )
        stored = conversation.state
        state = State.from_json(json.loads(stored) if isinstance(stored, str) else stored)
        try:
            return resume(state, inp, context)
        except Exception:
            # A flow bug must cost the user one apology, not a stack trace or a stuck session.
            log.exception("the engine failed for person %s; resetting the conversation", person.id)
            return Turn(State(), (SendText(texts.something_went_wrong()),))


def _turn_key(
    conversation: Conversation | ConversationRow, inp: Input, person: TurnPerson, channel: str
) -> Key | None:
    """What a kept turn is found by; None where the state is not at hand as stored text (the
    ORM's conversation of someone erased who writes again)."""
    if not isinstance(conversation, ConversationRow):
        return None
    return conversation.state, inp, profile_of(person), channel, person.zawgyi


def _as_tapped(db: Session, message: _Message, labels: list[str]) -> _Message:
    """A tapped button naming someone else is stored as its label's references, not as the
    name it showed (bot/mentions.py); the label matches it as ever."""
    label = tapped(db, message.normalised.text, labels)
    if label is None:
        return message
    return replace(message, normalised=replace(message.normalised, text=label))


def _shown(db: Session, reply: Reply | None, channel: str, person: TurnPerson) -> Reply | None:
    """The answer as its reader sees it: anyone named in it written out."""
    if reply is None:
        return None
    zawgyi = person.zawgyi and person.language == "my"
    return filled_reply(db, reply, sms=channel == "sms", zawgyi=zawgyi)


def _touch(contact: Contact | ContactRow, inbound: InboundMessage, now: datetime) -> None:
    contact.last_inbound_at = now
    contact.unreachable_at = contact.unreachable_reason = None  # they wrote: reachable again
    if inbound.display_name:
        contact.display_name = inbound.display_name


def _orm_person(db: Session, person: TurnPerson) -> Person:
    """The person as an ORM object, for effects and views written with the ORM, with what
    the turn changed so far (already locked: the batch's SELECT took the row)."""
    if isinstance(person, Person):
        return person
    loaded = db.get(Person, person.id)
    if loaded is None:
        raise LookupError("a person read by this transaction is gone")
    for name, value in (person_changes(person) or {}).items():
        if name != "b_id":
            setattr(loaded, name, value)
    return loaded


def _remember_script(person: TurnPerson, normalised: Normalised) -> None:
    """A Zawgyi writer gets Zawgyi back; one who clearly writes Unicode Burmese gets Unicode."""
    if normalised.was_zawgyi:
        person.zawgyi = True
    elif person.zawgyi and is_unicode_burmese(normalised.text):
        person.zawgyi = False


def _new_conversation(db: Session, person_id: int) -> Conversation:
    conversation = Conversation(person_id=person_id)
    db.add(conversation)
    db.flush()
    return conversation


def _save(
    conversation: Conversation | ConversationRow,
    turn: Turn,
    stored: str | None,
    reply: Reply | None,
    now: datetime,
) -> None:
    """`stored`: the new state as JSON text, if the turn was kept with it."""
    if isinstance(conversation, ConversationRow):
        conversation.state = stored or json.dumps(turn.state.to_json())
    else:
        conversation.state = turn.state.to_json()
    conversation.flow = turn.state.flow
    conversation.flow_version = turn.state.version
    conversation.step = turn.state.step
    conversation.labels = list(reply.labels) if reply else []
    conversation.revision += 1
    conversation.updated_at = now


def _one_per_sender(messages: Sequence[_Message]) -> list[int]:
    """Indexes of each sender's first message in the batch; the others wait for the next."""
    first: dict[Sender, int] = {}
    for i, message in enumerate(messages):
        first.setdefault(message.sender, i)
    return list(first.values())


def _retry_alone(error: Exception) -> bool:
    if isinstance(error, IntegrityError) or not isinstance(error, DBAPIError):
        return True
    return getattr(error.orig, "sqlstate", None) in _RETRY_ALONE_SQLSTATES

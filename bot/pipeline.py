"""Inbound message -> normalise -> engine -> one transaction -> outbox rows.

Every adapter (console, Telegram, Twilio) calls `Pipeline.handle`. It stores the inbound
message, the new conversation state, the person's changes and the answer in one commit; a
redelivered message (same channel and provider id) is recognised and answered nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.channels.base import InboundMessage, capabilities
from bot.engine import texts
from bot.engine.events import SendText
from bot.engine.keywords import fold
from bot.engine.runner import Turn, resume
from bot.engine.state import Context, Input, InputKind, Item, State
from bot.flowfiles import FlowSet
from bot.phones import mask
from bot.render import Reply, render
from bot.storage.content import ContentCache
from bot.storage.documents import documents_for
from bot.storage.effects import apply_effects
from bot.storage.models import Contact, Conversation, Person, utcnow
from bot.storage.outbox import enqueue_document, enqueue_reply
from bot.storage.people import (
    apply_fields,
    create_contact,
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
    insert_inbound,
    known,
    save_contact,
    save_conversation,
)
from bot.storage.views import resolve_views
from bot.text import Normalised, is_unicode_burmese, normalise, plain_field

log = logging.getLogger(__name__)

# A brand-new contact's first message can race with itself (two webhooks at once).
MAX_ATTEMPTS = 3
# An answer longer than this many provider messages goes through the outbox instead.
INLINE_MAX_PARTS = 1


@dataclass(frozen=True)
class Handled:
    duplicate: bool
    contact_id: int | None = None
    inbound_id: int | None = None
    outbound_ids: tuple[int, ...] = ()
    reply: Reply | None = None
    inline: bool = False  # the answer goes back in the HTTP response, already marked sent

    @property
    def queued_ids(self) -> tuple[int, ...]:
        """Rows the dispatcher must send."""
        return () if self.inline else self.outbound_ids


class _Duplicate(Exception):
    pass


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

    def handle(self, inbound: InboundMessage, inline: bool = False) -> Handled:
        """Store the message and its answer. With `inline`, a short answer (at most
        INLINE_MAX_PARTS parts) is recorded as sent: the caller returns it in its response."""
        inbound = _plain(inbound)
        normalised = normalise(inbound.text, self.max_input_chars)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with Session(self.engine, expire_on_commit=False) as db, db.begin():
                    return self._handle(db, inbound, normalised, self.clock(), inline)
            except _Duplicate:
                return Handled(duplicate=True)
            except IntegrityError:
                if attempt == MAX_ATTEMPTS:
                    raise
                log.info("retrying a turn for %s after a concurrent insert", mask(inbound.address))
        raise AssertionError("unreachable")

    def _handle(
        self,
        db: Session,
        inbound: InboundMessage,
        normalised: Normalised,
        now: datetime,
        inline: bool,
    ) -> Handled:
        found = known(db, inbound.channel, inbound.address)
        contact: Contact | ContactRow
        conversation: Conversation | ConversationRow
        if found is not None and found[1].forgotten_at is None:
            contact, person, conversation = found  # the usual case: Core statements
        else:
            contact, person, conversation = self._first_or_unusual(db, inbound, now)
        assert contact.id is not None and person.id is not None
        # The insert is the duplicate check: a redelivered message finds its own row there.
        inbound_id = insert_inbound(
            db,
            {
                "contact_id": contact.id,
                "channel": inbound.channel,
                "dedupe_key": inbound.dedupe_key,
                "text": normalised.text[: self.max_input_chars * 2],
                "media_url": inbound.media_url,
                "received_at": now,
            },
        )
        if inbound_id is None:
            raise _Duplicate
        _touch(contact, inbound, now)
        if isinstance(contact, ContactRow):
            save_contact(db, contact)  # now: an erasure later in this turn has the last word
        _remember_script(person, normalised)
        inp = _input(inbound, normalised, conversation, self.max_input_chars)
        data = self.content.collections(db, person, now)
        facts = statement_facts(db, person.id, now, self.statement_deadline)
        turn = self._turn(conversation, person, inp, now, inbound.channel, data, facts)
        events = resolve_views(db, person, turn.events, now, self.prices)
        apply_fields(person, events, now)
        reader = reader_of(person)  # before an erasure: the goodbye is in their language
        apply_effects(db, person, events, now, inbound.channel, self.statement_deadline, contact.id)
        reply = render(events, reader, capabilities(inbound.channel))
        inline = inline and reply is not None and len(reply.parts) <= INLINE_MAX_PARTS
        rows = enqueue_reply(db, contact, reply, inbound_id, now, inline) if reply else []
        for document in documents_for(db, person, events):
            rows.append(enqueue_document(db, contact, document, inbound_id, now))
        if person.forgotten_at is not None:
            turn = Turn(State(), turn.events)  # no draft or answer survives an erasure
            forget_contact_after(db, contact.id, rows)
        _save(conversation, turn, reply, now)
        if isinstance(conversation, ConversationRow):
            save_conversation(db, conversation)
        else:
            db.add(conversation)
        db.add(person)
        db.flush()
        return Handled(
            duplicate=False,
            contact_id=contact.id,
            inbound_id=inbound_id,
            outbound_ids=tuple(r.id for r in rows),
            reply=reply,
            inline=inline,
        )

    def _first_or_unusual(
        self, db: Session, inbound: InboundMessage, now: datetime
    ) -> tuple[Contact, Person, Conversation]:
        """A first message, someone without a conversation yet, or someone who erased their
        data and wrote again before their address was let go: the ORM path."""
        contact = find_contact(db, inbound.channel, inbound.address) or create_contact(
            db, inbound, now
        )
        person = db.get(Person, contact.person_id, with_for_update=True)
        assert person is not None
        if person.forgotten_at is not None:
            person = start_over(db, contact, inbound, now)
        assert person.id is not None
        contact.person_id = person.id
        db.add(contact)
        return contact, person, _conversation(db, person.id)

    def _turn(
        self,
        conversation: Conversation | ConversationRow,
        person: Person,
        inp: Input,
        now: datetime,
        channel: str,
        data: Mapping[str, Sequence[Item]],
        facts: Mapping[str, Any],
    ) -> Turn:
        context = Context(
            profile=profile_of(person),
            now=now,
            channel=channel,
            flows=self.flows.flows,
            keywords=self.flows.keywords,
            data=data,
            facts=facts,
        )
        state = State.from_json(conversation.state)
        try:
            return resume(state, inp, context)
        except Exception:
            # A flow bug must cost the user one apology, not a stack trace or a stuck session.
            log.exception("the engine failed for person %s; resetting the conversation", person.id)
            return Turn(State(), (SendText(texts.something_went_wrong()),))


def _plain(inbound: InboundMessage) -> InboundMessage:
    """Whatever a provider sends, no control character reaches the database (the text itself
    is cleaned by `normalise`)."""
    return replace(
        inbound,
        address=plain_field(inbound.address) or "",
        dedupe_key=plain_field(inbound.dedupe_key) or "",
        phone=plain_field(inbound.phone),
        media_url=plain_field(inbound.media_url),
        display_name=plain_field(inbound.display_name),
        language_hint=plain_field(inbound.language_hint),
    )


def _touch(contact: Contact | ContactRow, inbound: InboundMessage, now: datetime) -> None:
    contact.last_inbound_at = now
    contact.unreachable_at = contact.unreachable_reason = None  # they wrote: reachable again
    if inbound.display_name:
        contact.display_name = inbound.display_name


def _remember_script(person: Person, normalised: Normalised) -> None:
    """A Zawgyi writer gets Zawgyi back; one who clearly writes Unicode Burmese gets Unicode."""
    if normalised.was_zawgyi:
        person.zawgyi = True
    elif person.zawgyi and is_unicode_burmese(normalised.text):
        person.zawgyi = False


def _conversation(db: Session, person_id: int) -> Conversation:
    found = db.get(Conversation, person_id, with_for_update=True)
    if found is not None:
        return found
    conversation = Conversation(person_id=person_id)
    db.add(conversation)
    db.flush()
    return conversation


def _input(
    inbound: InboundMessage,
    normalised: Normalised,
    conversation: Conversation | ConversationRow,
    limit: int,
) -> Input:
    kind: InputKind
    if inbound.edited:
        kind = "edited"
    elif normalised.too_long:
        kind = "too_long"
    elif normalised.text:
        kind = "text"
    elif inbound.media_url:
        kind = "media"
    else:
        kind = "empty"
    number = normalised.number
    tapped = False
    if number is None and kind == "text":
        number = _label_number(normalised.text, conversation.labels)
        tapped = number is not None
    return Input(
        text=normalised.text,
        kind=kind,
        number=number,
        tapped=tapped,
        length=normalised.length,
        limit=limit,
    )


def _label_number(text: str, labels: list[str]) -> int | None:
    """A tapped Telegram button, or a typed label, counts as the option's number."""
    folded = fold(text)
    return next((i for i, label in enumerate(labels, 1) if fold(label) == folded), None)


def _save(
    conversation: Conversation | ConversationRow, turn: Turn, reply: Reply | None, now: datetime
) -> None:
    conversation.state = turn.state.to_json()
    conversation.flow = turn.state.flow
    conversation.flow_version = turn.state.version
    conversation.step = turn.state.step
    conversation.labels = list(reply.labels) if reply else []
    conversation.revision += 1
    conversation.updated_at = now

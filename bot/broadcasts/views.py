"""What a champion sees before and after a broadcast: an exact preview, a delivery report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, col, func, select

from bot.broadcasts.audience import Audience, reach
from bot.channels.twilio.window import in_window
from bot.engine.messages import Amount, CountryName, Literal, LocalTime, Msg, lines, msg, plural_msg
from bot.sms import segments
from bot.storage.models import Broadcast, Contact, InboundMessage, OutboundMessage

REPORT_COUNT = 3
DELIVERED = ("delivered", "read")
WAITING = ("queued", "sending")
NOT_SENT = ("failed", "skipped", "held")


def preview(
    db: Session,
    audience: Audience,
    text: str,
    now: datetime,
    prices: Mapping[str, float],
) -> Msg:
    """The message as it will be read, exact counts per channel, what the SMS cost, and how
    many WhatsApp contacts need a template."""
    people = reach(db, audience)
    if not people:
        return msg("Nobody matches this audience: nothing would be sent.")
    channels = Counter(p.channel for p in people)
    parts = segments(text).count
    texted = [p for p in people if p.channel == "sms"]
    shown: list[Msg | Literal] = [
        msg("Your message:"),
        Literal(text),
        plural_msg(
            "Preview: %(n)s person in %(country)s will get it.",
            "Preview: %(n)s people in %(country)s will get it.",
            len(people),
            country=CountryName(audience.country) if audience.country else msg("all countries"),
        ),
        msg(
            "SMS: %(sms)s (each %(segments)s SMS long, %(total)s SMS in all). "
            "WhatsApp: %(whatsapp)s. Telegram: %(telegram)s.",
            sms=channels["sms"],
            segments=parts,
            total=parts * channels["sms"],
            whatsapp=channels["whatsapp"],
            telegram=channels["telegram"],
        ),
    ]
    if texted and all(p.country in prices for p in texted):
        cost = sum(prices[p.country or ""] for p in texted) * parts
        shown.append(msg("Estimated SMS cost: US$ %(cost)s.", cost=Amount(cost)))
    elif texted:
        shown.append(msg("SMS cost: unknown, some countries have no price set."))
    outside = _outside_window(db, [p.contact_id for p in people if p.channel == "whatsapp"], now)
    if outside:
        shown.append(
            plural_msg(
                "%(n)s WhatsApp contact has not written for 24 hours: a template or SMS is used.",
                "%(n)s WhatsApp contacts have not written for 24 hours: a template or SMS is used.",
                outside,
            )
        )
    return lines(*shown)


def _outside_window(db: Session, contact_ids: list[int], now: datetime) -> int:
    if not contact_ids:
        return 0
    seen = db.exec(select(Contact.last_inbound_at).where(col(Contact.id).in_(contact_ids))).all()
    return sum(1 for last in seen if not in_window(last, now))


def report(db: Session, person_id: int | None) -> Msg:
    """The last broadcasts (the person's own; everyone's for None): how far each got, why some
    were not sent, and how many replies came back since."""
    query = select(Broadcast).order_by(col(Broadcast.created_at).desc()).limit(REPORT_COUNT)
    if person_id is not None:
        query = query.where(Broadcast.created_by == person_id)
    broadcasts = db.exec(query).all()
    if not broadcasts:
        return msg("No broadcast has been sent yet.")
    return lines(*(_one(db, b) for b in broadcasts))


def _one(db: Session, broadcast: Broadcast) -> Msg:
    when = LocalTime(broadcast.created_at, style="short")
    if broadcast.status == "pending":
        return msg("%(when)s: getting ready to send.", when=when)
    rows = db.exec(
        select(OutboundMessage.status, OutboundMessage.error, func.count())
        .where(OutboundMessage.broadcast_id == broadcast.id)
        .group_by(col(OutboundMessage.status), col(OutboundMessage.error))
    ).all()
    statuses: Counter[str] = Counter()
    why: Counter[str] = Counter()
    for status, error, count in rows:
        statuses[status] += count
        if status in NOT_SENT:
            why[_why(status, error)] += count
    line = msg(
        "%(when)s, to %(people)s: %(waiting)s waiting, %(sent)s sent, %(delivered)s delivered, "
        "%(failed)s not sent. Replies: %(replies)s.",
        when=when,
        people=broadcast.recipients,
        waiting=sum(statuses[s] for s in WAITING),
        sent=statuses["sent"],
        delivered=sum(statuses[s] for s in DELIVERED),
        failed=sum(statuses[s] for s in NOT_SENT),
        replies=_replies(db, broadcast),
    )
    if not why:
        return line
    # A bare frame, nothing to translate: "stopped messages: 3".
    reasons = [
        Msg("%(reason)s: %(n)s", (("n", n), ("reason", REASONS[r]))) for r, n in why.most_common()
    ]
    return lines(line, *reasons)


# Why a row was not sent, in words a champion can act on.
REASONS = {
    "stopped": msg("stopped messages"),
    "unreachable": msg("number blocked or not reachable"),
    "template": msg("waiting for an approved WhatsApp template"),
    "error": msg("error at the provider"),
}


def _why(status: str, error: str | None) -> str:
    text = (error or "").lower()
    if status == "held":
        return "template"
    if "opted out" in text or "stop" in text or "data erased" in text:
        return "stopped"
    if "unreachable" in text or "blocked" in text or "403" in text or "invalid" in text:
        return "unreachable"
    return "error"


def _replies(db: Session, broadcast: Broadcast) -> int:
    """Messages from its recipients since it went out."""
    reached = (
        select(Contact.person_id)
        .join(OutboundMessage, col(OutboundMessage.contact_id) == col(Contact.id))
        .where(OutboundMessage.broadcast_id == broadcast.id)
    )
    count = db.exec(
        select(func.count())
        .select_from(InboundMessage)
        .join(Contact, col(Contact.id) == col(InboundMessage.contact_id))
        .where(
            col(Contact.person_id).in_(reached),
            col(InboundMessage.received_at) >= broadcast.created_at,
        )
    ).one()
    return int(count)

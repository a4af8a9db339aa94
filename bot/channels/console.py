"""The console phone: chat with the bot in a terminal as a smallholder would on their phone.

Messages go through the same pipeline, outbox and dispatcher as a real channel; only the last
step differs: the "provider" prints to the terminal, drawn the way the chosen channel shows it.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterable
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from bot.channels.base import Envelope, InboundMessage, SendResult
from bot.dispatcher import Dispatcher
from bot.pipeline import Pipeline
from bot.sms import segments

# Lines that stand for something a phone sends that is not text.
MEDIA_LINES = {"::photo": "photo", "::voice": "voice note", "::file": "document"}


class ConsoleSender:
    """Prints each outgoing message: plainly when scripted, as a phone bubble in a terminal."""

    def __init__(self, channel: str, out: TextIO, pretty: bool) -> None:
        self.channel = channel
        self.out = out
        self.console = Console(file=out, highlight=False) if pretty else None
        self.count = 0

    async def send(self, envelope: Envelope) -> SendResult:
        self.count += 1
        buttons = envelope.payload.get("buttons") or []
        document = envelope.payload.get("document")
        attached = [f"[file: {document['filename']}]"] if document else []
        if self.console is None:
            lines = [*attached, envelope.text, *(f"[ {b} ]" for b in buttons), ""]
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()
        else:
            body = self._body("\n".join([*attached, envelope.text]), buttons)
            self.console.print(Panel(body, title=self._title(envelope)))
        return SendResult("sent", provider_id=f"console-{envelope.id}")

    def _title(self, envelope: Envelope) -> str:
        if self.channel != "sms":
            return self.channel.capitalize()
        parts = segments(envelope.text)
        plural = "" if parts.count == 1 else "s"
        return f"SMS · {parts.count} segment{plural} ({parts.encoding})"

    @staticmethod
    def _body(text: str, buttons: list[str]) -> str:
        keyboard = "\n".join(f"[reverse] {escape(b)} [/reverse]" for b in buttons)
        return f"{escape(text)}\n\n{keyboard}" if keyboard else escape(text)


class ConsolePhone:
    def __init__(
        self,
        pipeline: Pipeline,
        dispatcher: Dispatcher,
        channel: str,
        phone: str,
    ) -> None:
        self.pipeline = pipeline
        self.dispatcher = dispatcher
        self.channel = channel
        self.phone = phone
        # A Telegram chat id is a number; the console derives one from the phone number.
        self.address = (
            "".join(ch for ch in phone if ch.isdigit()) if channel == "telegram" else phone
        )

    def say(self, line: str) -> None:
        media = MEDIA_LINES.get(line.strip())
        inbound = InboundMessage(
            channel=self.channel,
            address=self.address,
            dedupe_key=f"console-{uuid.uuid4()}",
            text="" if media else line,
            phone=self.phone,
            media_url=f"console://{media}" if media else None,
        )
        handled = self.pipeline.handle(inbound)
        if handled.contact_id is not None:
            asyncio.run(self.dispatcher.dispatch_once(contact_ids=[handled.contact_id]))

    def run(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.say(line.rstrip("\n"))


def interactive_lines(prompt: str = "you> ") -> Iterable[str]:
    while True:
        try:
            yield input(prompt)
        except EOFError:
            print(file=sys.stderr)
            return

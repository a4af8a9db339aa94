"""Logging setup: no token and no full phone number may reach a log line."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

# Libraries that log whole request URLs or headers at INFO: the Telegram token is part of
# every Bot API URL, and Twilio's client logs numbers and bodies.
CHATTY = ("httpx", "httpcore", "twilio.http_client", "twilio.async_http_client", "aiohttp.access")


class RedactSecrets(logging.Filter):
    """Defence in depth: replace known secret values wherever they appear in a record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "[secret]")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class RedactLinkSignatures(logging.Filter):
    """uvicorn's access log writes each request's path with its query: the signature of a
    file link (`sig=`) would let whoever reads the log fetch the file until it expires."""

    SIGNATURE = re.compile(r"\b(sig=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.SIGNATURE.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = self.SIGNATURE.sub(r"\1[redacted]", record.msg)
        return True


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Log to stderr (unless a host such as a test runner already handles logs), redacted."""
    root = logging.getLogger()
    if not root.handlers:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(stream)
        root.setLevel(level)
    redact = RedactSecrets(secrets)
    for handler in root.handlers:
        handler.addFilter(redact)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactLinkSignatures) for f in access.filters):
        access.addFilter(RedactLinkSignatures())

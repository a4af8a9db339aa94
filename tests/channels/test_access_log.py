"""The web process as the Procfile starts it: its access log never holds a file link's
signature (whoever reads the log could otherwise fetch the file)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bot.signing import link_query
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.storage.models import utcnow
from tests.channels.test_media import _document_row
from tests.channels.twilio_helpers import ACCOUNT_SID, AUTH_TOKEN, PUBLIC

SECRET_KEY = "a-signing-key-for-links-in-tests"


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout} s")
        time.sleep(0.05)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    """uvicorn with the Procfile's options on a socket we bound (no port race), its log."""
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    row_id = _document_row(engine)
    engine.dispose()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    log = tmp_path / "web.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SECRET_KEY": SECRET_KEY,
        "LOG_LEVEL": "INFO",
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    command = [sys.executable, "-m", "uvicorn", "bot.web:app", "--fd", str(listener.fileno())]
    command += ["--proxy-headers", "--forwarded-allow-ips=*"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=out, stderr=out, pass_fds=[listener.fileno()]
        )
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", log, row_id
    finally:
        process.terminate()
        process.wait(timeout=30)
        listener.close()


def test_the_access_log_shows_the_file_request_without_its_signature(
    served: tuple[str, Path, int],
) -> None:
    base, log, row_id = served

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    _wait(healthy, "the web process to answer /healthz")
    query = link_query(SECRET_KEY.encode(), str(row_id), utcnow())
    signature = query.rsplit("sig=", 1)[1]
    assert httpx.get(f"{base}/media/{row_id}?{query}", timeout=10).status_code == 200
    _wait(lambda: f"GET /media/{row_id}" in log.read_text(), "the access log line")
    written = log.read_text()
    assert signature not in written
    assert "sig=[redacted]" in written

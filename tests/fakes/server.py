"""Serve any ASGI app with uvicorn on 127.0.0.1 in a background thread.

    with serve(app) as base_url:   # e.g. "http://127.0.0.1:54321"
        httpx.get(f"{base_url}/health")

The port is chosen by the OS (bound before uvicorn starts, so there is no race), the context
manager returns only once the server accepts connections, and leaving it stops the server and
joins its thread.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 10.0
# Upper bound on waiting for in-flight requests (e.g. a deliberately slow fake answer) at exit.
GRACEFUL_SHUTDOWN_SECONDS = 2


def _bound_socket() -> socket.socket:
    # proto must be IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets
    # whose proto says TCP, and with the default proto=0 every response stalls ~40 ms (Nagle
    # vs. delayed ACK, as uvicorn writes headers and body separately).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((HOST, 0))
    return sock


def _make_server(app: Any) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_config=None,  # leave the process-wide logging configuration alone
        access_log=False,
        ws="none",  # no websocket stack: nothing extra imported, no stray warnings
        lifespan="auto",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return uvicorn.Server(config)


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread, port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the ASGI server thread exited during startup")
        if server.started and _accepts_connections(port):
            return
        time.sleep(0.01)
    raise RuntimeError(f"the ASGI server did not start within {STARTUP_TIMEOUT} s")


def _stop(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(timeout=GRACEFUL_SHUTDOWN_SECONDS + 5)
    if thread.is_alive():
        server.force_exit = True
        thread.join(timeout=5)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` on a free loopback port; yield its base URL (no trailing slash)."""
    sock = _bound_socket()
    port: int = sock.getsockname()[1]
    server = _make_server(app)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"asgi-{port}", daemon=True
    )
    thread.start()
    try:
        _wait_until_started(server, thread, port)
        yield f"http://{HOST}:{port}"
    finally:
        _stop(server, thread)
        sock.close()

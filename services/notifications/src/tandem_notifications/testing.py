"""Test and bench helpers: a real SMTP sink (aiosmtpd, a dev dependency) and a webhook receiver."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from tandem_chassis.auth import mint_dev_token

from tandem_notifications.domain.signing import SIGNATURE_HEADER, verify


@dataclass
class Received:
    raw: bytes
    at: float

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802 (aiosmtpd's hook name)
        if self.sink.refusing:
            return "451 4.3.0 try again later"
        with self.sink.lock:
            self.sink.messages.append(Received(bytes(envelope.content), time.time()))
        return "250 OK"


class SmtpSink:
    """An aiosmtpd server in a thread; keeps every raw message it accepted."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.refusing = False
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.snapshot() if address in str(r.message["To"])]


@dataclass
class WebhookCall:
    body: bytes
    headers: dict[str, str]
    verified: bool


@dataclass
class WebhookReceiver:
    """A local HTTP server that checks ``X-Tandem-Signature`` and answers ``status``."""

    port: int
    secret: str
    status: int = 200
    calls: list[WebhookCall] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                verified = verify(
                    receiver.secret, body, self.headers.get(SIGNATURE_HEADER, ""), now=int(time.time())
                )
                receiver.calls.append(WebhookCall(body, dict(self.headers.items()), verified))
                self.send_response(receiver.status if verified else 401)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def texts(self) -> list[str]:
        return [json.loads(call.body)["text"] for call in self.calls]


DEV_SECRET = "test-secret-for-dev-mode-only-0123456789"


def token(sub: str, *roles: str) -> dict[str, str]:
    """Bearer headers of a dev-mode token (the root conftest's JWT secret)."""
    return {
        "Authorization": f"Bearer {mint_dev_token(DEV_SECRET, sub=sub, roles=list(roles) or ['employee'])}"
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout_s: float = 60.0, what: str = "condition"
) -> Any:
    """Poll ``check`` until it returns something truthy, within a bounded wait."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout_s}s")
        await asyncio.sleep(0.2)

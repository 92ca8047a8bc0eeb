"""Test and bench helpers: a real SMTP sink (aiosmtpd, a dev dependency), an index of what it
accepted, and a webhook receiver.

Not shipped with the service: the notifications tests import it relatively (``..support``),
the cross-service tests and benchmarks as ``services.notifications.tests.support`` from the
repository root. Polling and free ports come from :mod:`tandem_chassis.testing`.
"""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from tandem_chassis.auth import mint_dev_token
from tandem_notifications.domain.signing import SIGNATURE_HEADER, verify

__all__ = ["DEV_SECRET", "Mailbox", "Received", "SmtpSink", "WebhookCall", "WebhookReceiver", "token"]


@dataclass
class Received:
    raw: bytes
    at: float

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        if self.sink.refusing:
            return "451 4.3.0 try again later"
        with self.sink.lock:
            self.sink.messages.append(Received(bytes(envelope.content or b""), time.time()))
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
class Mailbox:
    """What the SMTP sink accepted, indexed as it arrives (headers only, each message parsed once):
    raw messages per delivery id, and each delivery's kind and recipient."""

    sink: SmtpSink
    raw: Counter[str] = field(default_factory=Counter)
    sent: dict[str, tuple[str, str]] = field(default_factory=dict)
    _seen: int = 0

    def refresh(self) -> Mailbox:
        fresh = self.sink.snapshot()[self._seen :]
        self._seen += len(fresh)
        parser = BytesHeaderParser(policy=email.policy.default)  # long headers come folded
        for received in fresh:
            headers = parser.parsebytes(received.raw)
            delivery = str(headers["X-Tandem-Delivery-Id"]).strip()
            self.raw[delivery] += 1
            self.sent[delivery] = (
                str(headers["X-Tandem-Notification-Kind"]).strip(),
                str(headers["To"]).strip(),
            )
        return self

    @property
    def total(self) -> int:
        return sum(self.raw.values())

    def twice(self) -> dict[str, int]:
        return {delivery: n for delivery, n in self.raw.items() if n > 1}

    def kinds(self) -> Counter[str]:
        """Distinct emails per notification kind."""
        return Counter(kind for kind, _ in self.sent.values())


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

"""uvicorn, set up so that slow and idle clients cannot hold a process (used by ``serve()``).

uvicorn bounds idle keep-alive connections, concurrent connections (503 beyond) and the size of
request headers, but not the time a client takes to send its request line and headers: a client
that connects and sends nothing, or a byte a second, held its connection forever. The protocol
below answers such a client 408 and closes the connection once the header timeout has passed.
The body timeout is the HTTP edge middleware's (``tandem_chassis.http_edge``).

When a response refuses a body the client is still sending (413, 408, 401), closing the socket
at once makes the kernel reset the connection (unread data), and the client loses the refusal
along with it. So the protocol closes as nginx does ("lingering close"): it ends its side after
the response, discards whatever the client still sends, and closes for good on the client's end
of stream or after :data:`LINGER_S`. Nothing discarded is kept in memory.
"""

import asyncio
from typing import Any, ClassVar, Final, cast

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from tandem_chassis.metrics import HTTP_REFUSED
from tandem_chassis.settings import ServiceSettings

__all__ = ["LINGER_S", "HeaderTimeoutH11Protocol", "uvicorn_options"]

LINGER_S: Final = 5.0  # how long a refused body is discarded before the connection is closed

_TOO_SLOW = b"the request headers did not arrive in time"
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
    b"content-length: " + str(len(_TOO_SLOW)).encode() + b"\r\n\r\n" + _TOO_SLOW
)


class _LingeringTransport:
    """The connection's transport; its ``close()`` lingers while the client is sending a body."""

    def __init__(self, transport: asyncio.Transport, protocol: "HeaderTimeoutH11Protocol") -> None:
        self._transport, self._protocol = transport, protocol
        self.lingering = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self.lingering or self._transport.is_closing()

    def close(self) -> None:
        if self.lingering or self._transport.is_closing():
            return
        sending = self._protocol.conn.their_state is h11.SEND_BODY
        if sending and not self._protocol.lost and self._transport.can_write_eof():
            self.lingering = True
            self._transport.write_eof()  # after the response bytes: the client reads them, then EOF
            self._transport.resume_reading()
            self._protocol.loop.call_later(LINGER_S, self._transport.close)
            return
        self._transport.close()


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's line and headers, counted from
    the connection (or the first byte of a request on a kept-alive connection)."""

    header_timeout_s: ClassVar[float] = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self.lost = False

    @classmethod
    def with_timeout(cls, header_timeout_s: float) -> type["HeaderTimeoutH11Protocol"]:
        return type(cls.__name__, (cls,), {"header_timeout_s": header_timeout_s})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._lingering = _LingeringTransport(transport, self)
        self.transport = cast(asyncio.Transport, self._lingering)
        self._watch_headers()

    def data_received(self, data: bytes) -> None:
        if self._lingering.lingering:
            return  # the rest of a refused body: dropped
        super().data_received(data)
        self._watch_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def _awaiting_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE and not self.transport.is_closing()

    def _watch_headers(self) -> None:
        if not self._awaiting_headers():
            self._cancel_header_deadline()
        elif self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self._awaiting_headers():
            HTTP_REFUSED.labels("408").inc()
            self.transport.write(REQUEST_TIMEOUT)
            self.transport.close()


def uvicorn_options(settings: ServiceSettings) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` that bound what clients may hold."""
    return {
        "http": HeaderTimeoutH11Protocol.with_timeout(settings.http_header_timeout_s),
        "timeout_keep_alive": settings.http_keep_alive_timeout_s,
        "limit_concurrency": settings.http_max_connections,
        "h11_max_incomplete_event_size": settings.http_max_header_bytes,
    }

"""The HTTP edge: what one request may cost a process before any route code runs.

:class:`HttpEdge` is pure ASGI middleware, installed by ``ServiceRuntime.http_app`` (and by the
console). For every request it

- refuses a ``Content-Length`` over the limit with 413 at once, and cuts a chunked body off with
  413 as soon as the bytes received pass the limit, so no body larger than the limit is ever
  held in memory (FastAPI reads and parses the whole body before it runs any dependency);
- answers 408 when the request keeps the service waiting for its body longer than the body
  timeout in total (a client sending a byte a second); the header timeout is uvicorn's side
  (``tandem_chassis.http_server``);
- refuses a request that carries a body to a protected route without a valid bearer token with
  401 before the body is read;
- counts 401s per client address and, past the limit in the window, answers the failures 429
  with ``Retry-After`` (valid tokens still get through; health and metrics stay open).

Refusals that leave a body unread close the connection. Validation errors go back bounded
(:func:`bounded_validation_errors`): the field and the rule, any echoed input cut short.
"""

import asyncio
import math
import reprlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import anyio.to_thread
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem_chassis.auth import VERIFIED_BEARER, AuthError, authenticate, bearer_token
from tandem_chassis.metrics import HTTP_REFUSED
from tandem_chassis.settings import ServiceSettings

__all__ = [
    "MIB",
    "PUBLIC_PATHS",
    "AuthFailures",
    "EdgePolicy",
    "HttpEdge",
    "Refusal",
    "bounded_validation_errors",
    "json_refusal",
    "short",
]

MIB: Final = 1024 * 1024
# Routes anyone may call: probes, metrics, the API documents. Everything else needs a token.
PUBLIC_PATHS: Final = ("/health/", "/metrics", "/docs", "/redoc", "/openapi.json")
ECHO_CHARS: Final = 64  # how much of a refused value a 422 shows
MAX_ERRORS: Final = 20  # validation errors listed in one 422

# Renders a refusal (status, detail, headers) as a response: services may use their own schema.
Refusal = Callable[[int, str, dict[str, str]], Response]


def json_refusal(status: int, detail: str, headers: dict[str, str]) -> Response:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


@dataclass(frozen=True)
class EdgePolicy:
    """The limits of one app. ``larger_bodies`` names the routes, as ``(method, path template)``,
    that need more than ``max_body_bytes``; ``refusals`` renders refusals by path prefix."""

    max_body_bytes: int
    body_timeout_s: float
    authenticate: bool = True
    public_paths: tuple[str, ...] = PUBLIC_PATHS
    larger_bodies: Mapping[tuple[str, str], int] = field(default_factory=dict)
    refusals: Mapping[str, Refusal] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: ServiceSettings, **overrides: Any) -> "EdgePolicy":
        return cls(
            max_body_bytes=settings.http_max_body_bytes,
            body_timeout_s=settings.http_body_timeout_s,
            **overrides,
        )

    def __post_init__(self) -> None:
        compiled = [
            (method.upper(), compile_path(template)[0], limit)
            for (method, template), limit in self.larger_bodies.items()
        ]
        object.__setattr__(self, "_larger", compiled)

    def body_limit(self, method: str, path: str) -> int:
        for wanted, pattern, limit in self._larger:  # type: ignore[attr-defined]
            if wanted == method and pattern.match(path):
                return int(limit)
        return self.max_body_bytes

    def is_public(self, path: str) -> bool:
        return path.startswith(self.public_paths)

    def refusal_for(self, path: str) -> Refusal:
        prefixes = [prefix for prefix in self.refusals if path.startswith(prefix)]
        return self.refusals[max(prefixes, key=len)] if prefixes else json_refusal


class AuthFailures:
    """Failed authentications per client address in a moving window (the ``limits`` library)."""

    def __init__(self, limit: int, window_s: int) -> None:
        self._item = RateLimitItemPerSecond(limit, window_s)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> "AuthFailures | None":
        if not settings.http_limit_auth_failures:
            return None
        return cls(settings.http_auth_failure_limit, settings.http_auth_failure_window_s)

    def exhausted(self, client: str) -> bool:
        return not self._limiter.test(self._item, client)

    def record(self, client: str) -> bool:
        """Count one failure; False when the client was already over the limit."""
        return self._limiter.hit(self._item, client)

    def retry_after_s(self, client: str) -> int:
        reset_at = self._limiter.get_window_stats(self._item, client).reset_time
        return max(1, math.ceil(reset_at - time.time()))


class _RefusedError(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


class HttpEdge:
    """ASGI middleware enforcing an :class:`EdgePolicy` (see the module docstring)."""

    def __init__(self, app: ASGIApp, policy: EdgePolicy, failures: AuthFailures | None = None) -> None:
        self.app, self.policy, self.failures = app, policy, failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await _Exchange(self, scope, receive, send).run()


class _Exchange:
    """One request passing the edge: its body budget, its time budget, its credentials."""

    def __init__(self, edge: HttpEdge, scope: Scope, receive: Receive, send: Send) -> None:
        self.edge, self.scope, self._receive, self._send = edge, scope, receive, send
        self.headers = Headers(scope=scope)
        self.client = scope["client"][0] if scope.get("client") else "unknown"
        self.limit = edge.policy.body_limit(scope["method"], scope["path"])
        self.has_body = "transfer-encoding" in self.headers or self.headers.get("content-length", "0") != "0"
        self.body_done = not self.has_body
        self.received = 0
        self.waited_s = 0.0
        self.refusal: _RefusedError | None = None
        self.response_started = False

    async def run(self) -> None:
        try:
            self._check_declared_size()
            await self._check_credentials()
        except _RefusedError as refusal:
            await self._refuse(refusal)
            return
        try:
            await self.edge.app(self.scope, self.receive, self.send)
        except Exception:
            # What the app made of our refusal (FastAPI turns errors from receive into a 400).
            if self.refusal is None or self.response_started:
                raise
        if self.refusal is not None and not self.response_started:
            await self._refuse(self.refusal)

    def _check_declared_size(self) -> None:
        declared = self.headers.get("content-length")
        # 19 digits and more are over any limit (and int() refuses 4,300 digits or more).
        if declared is not None and declared.isdigit() and (len(declared) > 18 or int(declared) > self.limit):
            raise _RefusedError(413, f"the request body is over the limit of {self.limit} bytes")

    async def _check_credentials(self) -> None:
        policy, failures = self.edge.policy, self.edge.failures
        if not policy.authenticate or policy.is_public(self.scope["path"]):
            return
        blocked = failures is not None and failures.exhausted(self.client)
        if not (self.has_body or blocked):
            return  # nothing to protect: the route's own dependency checks the token
        token = bearer_token(self.headers.get("authorization"))
        verifier = self.scope["app"].state.jwt_verifier
        try:
            # In a thread: a JWKS verifier may fetch keys over the network.
            principal = await anyio.to_thread.run_sync(authenticate, verifier, token)
        except AuthError as error:
            raise self._failed_authentication(str(error)) from None
        self.scope.setdefault("state", {})[VERIFIED_BEARER] = (token, principal)

    def _failed_authentication(self, detail: str) -> _RefusedError:
        failures = self.edge.failures
        if failures is not None and not failures.record(self.client):
            retry_after = failures.retry_after_s(self.client)
            return _RefusedError(
                429,
                f"too many failed authentications from this address; retry in {retry_after} s",
                {"Retry-After": str(retry_after)},
            )
        return _RefusedError(401, detail, {"WWW-Authenticate": "Bearer"})

    async def receive(self) -> Message:
        if self.refusal is not None:
            raise self.refusal
        if self.body_done:  # after the body: waiting for a disconnect is not the client's fault
            return await self._receive()
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(max(self.edge.policy.body_timeout_s - self.waited_s, 0)):
                message = await self._receive()
        except TimeoutError:
            self.refusal = _RefusedError(408, "the request body did not arrive in time")
            raise self.refusal from None
        finally:
            self.waited_s += loop.time() - started
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.body_done = not message.get("more_body", False)
            if self.received > self.limit:
                self.refusal = _RefusedError(413, f"the request body is over the limit of {self.limit} bytes")
                raise self.refusal
        return message

    async def send(self, message: Message) -> None:
        if self.refusal is not None:
            return  # the app's answer to a refusal it did not see coming: ours replaces it
        if message["type"] == "http.response.start":
            failures = self.edge.failures
            if message["status"] == 401 and failures is not None:
                refusal = self._failed_authentication("")
                if refusal.status == 429:
                    self.refusal = refusal
                    return
            if not self.body_done:  # the rest of the body is never read: do not reuse the connection
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            self.response_started = True
        await self._send(message)

    async def _refuse(self, refusal: _RefusedError) -> None:
        HTTP_REFUSED.labels(str(refusal.status)).inc()
        headers = dict(refusal.headers)
        if not self.body_done:
            headers["Connection"] = "close"
        response = self.edge.policy.refusal_for(self.scope["path"])(refusal.status, refusal.detail, headers)
        self.response_started = True
        await response(self.scope, self._receive, self._send)


# --- validation errors, bounded -----------------------------------------------------------------

_shape = reprlib.Repr()
_shape.maxstring = _shape.maxother = 20
_shape.maxlist = _shape.maxtuple = _shape.maxdict = _shape.maxset = 4
_shape.maxlevel = 2


def short(value: Any, chars: int = ECHO_CHARS) -> Any:
    """``value`` as it may be echoed to a client: strings cut to a prefix, containers described
    in a bounded repr, numbers that strict JSON cannot carry as strings."""
    if isinstance(value, str):
        return value if len(value) <= chars else value[:chars] + f"… ({len(value)} characters)"
    if isinstance(value, bytes | bytearray):
        return short(bytes(value[: chars * 4]).decode("utf-8", "replace"), chars)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, int):
        return value if abs(value) < 2**63 else short(_shape.repr(value), chars)
    return short(_shape.repr(value), chars)


def _short_ctx(ctx: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(key): short(value if isinstance(value, int | float | str) else str(value))
        for key, value in ctx.items()
    }


def bounded_validation_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI errors as a 422 may show them: the field (``loc``), the rule (``type``,
    ``msg``, ``ctx``) and at most a short prefix of the input; the first :data:`MAX_ERRORS`."""
    bounded = []
    for error in errors[:MAX_ERRORS]:
        item: dict[str, Any] = {
            "type": short(str(error.get("type", ""))),
            "loc": [part if isinstance(part, int) else short(str(part)) for part in error.get("loc", ())],
            "msg": short(str(error.get("msg", "")), 300),
        }
        if "input" in error:
            item["input"] = short(error["input"])
        if error.get("ctx"):
            item["ctx"] = _short_ctx(error["ctx"])
        bounded.append(item)
    if len(errors) > MAX_ERRORS:
        bounded.append(
            {
                "type": "too_many_errors",
                "loc": [],
                "msg": f"{len(errors) - MAX_ERRORS} more validation errors are not listed",
            }
        )
    return bounded

"""The HTTP edge as every service gets it from ``ServiceRuntime.http_app``, in process (ASGI).

The app is built, never started: no broker or store is touched. The hostile suite
(``tests/hostile/test_http_edge.py``) attacks a real service process over TCP.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field
from starlette.types import Message
from tandem_chassis import consumer as consumer_module
from tandem_chassis.auth import CurrentPrincipal, mint_dev_token
from tandem_chassis.consumer import _Consumer
from tandem_chassis.http_edge import MIB, AuthFailures, EdgePolicy, HttpEdge, bounded_validation_errors
from tandem_chassis.http_server import HeaderTimeoutH11Protocol, uvicorn_options
from tandem_chassis.runtime import ServiceRuntime
from tandem_chassis.settings import ServiceSettings

pytestmark = pytest.mark.unit
SECRET = "a-dev-secret-of-reasonable-length-0123"


class Note(BaseModel):
    text: Annotated[str, Field(max_length=100)]
    tags: list[Annotated[str, Field(max_length=5)]] = []


def build(calls: list[str], **settings: Any) -> FastAPI:
    router = APIRouter()

    @router.post("/v1/notes")
    async def create(note: Note, principal: CurrentPrincipal) -> dict[str, str]:
        calls.append(principal.sub)
        return {"by": principal.sub}

    @router.get("/v1/notes")
    async def read(principal: CurrentPrincipal) -> dict[str, str]:
        return {"by": principal.sub}

    @router.post("/v1/imports")
    async def bulk(note: Note, principal: CurrentPrincipal) -> dict[str, int]:
        calls.append(principal.sub)
        return {"tags": len(note.tags)}

    runtime = ServiceRuntime(ServiceSettings(env="dev", jwt_secret=SECRET, **settings))
    return runtime.http_app([router], title="edge", larger_bodies={("POST", "/v1/imports"): 3 * MIB})


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge")


def bearer(sub: str = "e-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_dev_token(SECRET, sub=sub, roles=['employee'])}"}


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    yield b'{"text": "'
    for _ in range(total // size):
        yield b"x" * size
    yield b'"}'


async def test_a_declared_body_over_the_limit_is_refused_413_before_the_route_runs():
    calls: list[str] = []
    async with client(build(calls)) as http:
        answer = await http.post(
            "/v1/notes", content=b"{}", headers=bearer() | {"Content-Length": str(2 * MIB)}
        )

    assert answer.status_code == 413
    assert answer.json() == {"detail": f"the request body is over the limit of {MIB} bytes"}
    assert answer.headers["connection"] == "close"
    assert calls == []


async def test_a_content_length_of_thousands_of_digits_is_over_the_limit_not_a_500():
    calls: list[str] = []
    async with client(build(calls)) as http:
        answer = await http.post(
            "/v1/notes", content=b"{}", headers=bearer() | {"Content-Length": "9" * 5000}
        )

    assert answer.status_code == 413
    assert answer.headers["connection"] == "close"
    assert calls == []


async def test_a_chunked_body_is_cut_off_at_the_limit_and_a_named_route_takes_more():
    calls: list[str] = []
    async with client(build(calls)) as http:
        refused = await http.post("/v1/notes", content=chunks(2 * MIB), headers=bearer())
        larger = await http.post("/v1/imports", content=chunks(2 * MIB), headers=bearer())

    assert refused.status_code == 413, refused.text
    assert larger.status_code == 422, "2 MiB reach the validation of the route named larger"
    assert calls == []


async def test_a_body_without_a_valid_token_is_refused_401_without_being_read():
    app = build([])
    received: list[Message] = []

    async def receive() -> Message:
        received.append({})
        return {"type": "http.request", "body": b'{"text": "hi"}', "more_body": False}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    for authorization in (None, b"Bearer not-a-jwt", b"Basic dXNlcjpwYXNz"):
        headers = [(b"content-length", b"14"), (b"content-type", b"application/json")]
        if authorization:
            headers.append((b"authorization", authorization))
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": "/v1/notes", "raw_path": b"/v1/notes", "root_path": "",
            "query_string": b"", "headers": headers, "client": ("10.0.0.1", 1), "server": ("edge", 80),
        }  # fmt: skip
        await app(scope, receive, send)

    statuses = [message["status"] for message in sent if message["type"] == "http.response.start"]
    assert statuses == [401, 401, 401]
    assert received == [], "the body was read"


async def test_public_routes_need_no_token_even_with_a_body():
    async with client(build([])) as http:
        health = await http.post("/health/live", content=b"{}")
        docs = await http.get("/openapi.json")

    assert health.status_code == 405  # the route's own answer, not 401
    assert docs.status_code == 200


async def test_repeated_failures_from_one_address_get_429_and_valid_tokens_still_pass():
    calls: list[str] = []
    async with client(build(calls, http_auth_failure_limit=3)) as http:
        failures = [
            await http.post("/v1/notes", json={"text": "x"}),  # refused by the edge
            await http.get("/v1/notes"),  # refused by the route's dependency, counted by the edge
            await http.get("/v1/notes", headers={"Authorization": "Bearer forged"}),
        ]
        limited = [
            await http.get("/v1/notes"),
            await http.post("/v1/notes", json={"text": "x"}, headers={"Authorization": "Bearer x"}),
        ]
        valid = await http.post("/v1/notes", json={"text": "x"}, headers=bearer())
        health = await http.get("/health/live")

    assert [answer.status_code for answer in failures] == [401, 401, 401]
    assert [answer.status_code for answer in limited] == [429, 429]
    assert all(1 <= int(answer.headers["Retry-After"]) <= 60 for answer in limited)
    assert valid.status_code == 200 and calls == ["e-1"]
    assert health.status_code == 200


async def test_the_rate_limit_can_be_turned_off_behind_a_gateway():
    async with client(build([], http_limit_auth_failures=False, http_auth_failure_limit=1)) as http:
        answers = [await http.get("/v1/notes") for _ in range(5)]

    assert {answer.status_code for answer in answers} == {401}


async def test_a_body_that_keeps_the_service_waiting_is_answered_408():
    async def never_done(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass

    edge = HttpEdge(never_done, EdgePolicy(max_body_bytes=MIB, body_timeout_s=0.2, authenticate=False))

    async def trickle() -> Message:
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b"x", "more_body": True}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/x", "headers": [(b"content-length", b"100")]}
    await asyncio.wait_for(edge(scope, trickle, send), 5)

    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]


async def test_a_422_names_the_field_and_the_rule_and_echoes_only_a_prefix():
    async with client(build([])) as http:
        long_text = await http.post("/v1/notes", json={"text": "y" * 500_000}, headers=bearer())
        many = await http.post("/v1/notes", json={"text": "ok", "tags": ["z" * 9] * 500}, headers=bearer())
        not_finite = await http.post(
            "/v1/notes", content=b'{"text": NaN}', headers=bearer() | {"Content-Type": "application/json"}
        )

    assert long_text.status_code == 422
    (error,) = long_text.json()["detail"]
    assert (error["loc"], error["type"]) == (["body", "text"], "string_too_long")
    assert error["input"].startswith("y" * 64) and len(error["input"]) < 100
    assert len(long_text.content) < 1000
    assert many.status_code == 422 and len(many.json()["detail"]) == 21
    assert many.json()["detail"][-1]["type"] == "too_many_errors"
    assert not_finite.status_code == 422 and json.loads(not_finite.content)["detail"][0]["input"] == "nan"


def test_bounded_errors_describe_containers_without_rendering_them_whole():
    errors = [{"type": "model_type", "loc": ("body",), "msg": "m" * 1000, "input": {"k": ["v" * 10**6] * 10}}]

    (error,) = bounded_validation_errors(errors)

    assert len(error["input"]) < 200 and len(error["msg"]) < 400


def test_serve_bounds_what_clients_may_hold():
    settings = ServiceSettings(
        http_header_timeout_s=4,
        http_keep_alive_timeout_s=7,
        http_max_connections=50,
        http_max_header_bytes=8192,
    )

    options = uvicorn_options(settings)

    assert issubclass(options["http"], HeaderTimeoutH11Protocol)
    assert options["http"].header_timeout_s == 4
    assert (options["timeout_keep_alive"], options["limit_concurrency"]) == (7, 50)
    assert options["h11_max_incomplete_event_size"] == 8192


def test_auth_failures_count_per_address():
    failures = AuthFailures(limit=2, window_s=60)

    assert failures.record("a") and failures.record("a")
    assert not failures.record("a") and failures.exhausted("a")
    assert not failures.exhausted("b")
    assert 1 <= failures.retry_after_s("a") <= 60


class FakeBroker:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    async def publish(self, value: bytes, **where: Any) -> None:
        self.published.append({"value": value, **where})


async def test_an_oversized_record_is_dead_lettered_without_being_decoded(monkeypatch):
    def no_decoding(*args: Any) -> None:
        raise AssertionError("an oversized value was decoded")

    monkeypatch.setattr(consumer_module, "decode", no_decoding)
    broker = FakeBroker()
    consumer = _Consumer(
        broker,  # type: ignore[arg-type]
        group_id="g",
        handler=None,  # type: ignore[arg-type]
        settings=ServiceSettings(consumer_max_event_bytes=1000),
    )
    value = b"{" + b" " * 5000 + b"}"
    record = ConsumerRecord("hr.employees", 0, 7, 0, 0, b"k", value, None, 1, len(value), [("ce_id", b"1")])

    assert await consumer.decode(record) is None
    (dead,) = broker.published
    assert dead["topic"] == "hr.employees.dlq" and dead["value"] == value
    assert dead["headers"]["dlq-error-type"] == "EventTooLarge"
    assert "5002 bytes" in dead["headers"]["dlq-error-message"]

"""The HTTP edge refuses what could take a service down, on a real service process.

The profiles service runs as its own OS process on the real broker and store (``ServiceProcess``),
and is attacked the way anyone who can reach its port could: a 150 MB body (with and without a
token) that must be refused before it is read, a chunked body without ``Content-Length``, a client
sending one byte a second, repeated bad tokens, and an oversized event on its Kafka topic.
The resident memory of the service process is sampled with psutil while it is attacked.
"""

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psutil
import pytest
from tandem_chassis.auth import mint_dev_token
from tandem_chassis.testing import ServiceProcess, as_record, eventually, publish_raw, read_topic
from tandem_contracts import EmployeeJoined, new_event, topics

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
HUGE = 150 * MIB
MEMORY_BUDGET = 20 * MIB


@contextlib.asynccontextmanager
async def profiles_process(
    isolated_settings: dict[str, str], log_dir: Path, **env: str
) -> AsyncIterator[ServiceProcess]:
    service = ServiceProcess("profiles", isolated_settings | env, log_dir)
    service.start()
    try:
        await service.wait_ready()
        yield service
    finally:
        service.stop()


def token(isolated_settings: dict[str, str], sub: str = "e-1", roles: tuple[str, ...] = ("employee",)) -> str:
    return mint_dev_token(isolated_settings["TANDEM_JWT_SECRET"], sub=sub, roles=list(roles))


class PeakMemory:
    """The highest resident memory of a process while the block runs, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.before = self.peak = self.process.memory_info().rss
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> "PeakMemory":
        self._sampler.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._sampler.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.before


async def huge_json(total: int) -> AsyncIterator[bytes]:
    """A ``{"bio": "xxx…"}`` body of ``total`` bytes, made on the fly in 1 MiB chunks."""
    head, tail = b'{"bio": "', b'"}'
    yield head
    left = total - len(head) - len(tail)
    chunk = b"x" * MIB
    while left > 0:
        yield chunk[: min(left, MIB)]
        left -= MIB
    yield tail


async def send_huge(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    return await client.patch(
        url,
        content=huge_json(HUGE),
        headers=headers | {"Content-Length": str(HUGE), "Content-Type": "application/json"},
    )


async def test_a_150_mb_body_is_refused_with_413_before_it_is_read(isolated_settings, tmp_path):
    async with (
        profiles_process(isolated_settings, tmp_path) as service,
        httpx.AsyncClient(base_url=service.url, timeout=120) as client,
    ):
        bearer = {"Authorization": f"Bearer {token(isolated_settings)}"}
        warm = await client.patch("/v1/profiles/e-1", json={"bio": "warm-up"}, headers=bearer)
        assert warm.status_code == 404, warm.text  # no such profile yet: the code paths are loaded
        assert service.process is not None
        figures = {}
        for who, headers in (("no token", {}), ("valid token", bearer)):
            with PeakMemory(service.process.pid) as memory:
                answer = await send_huge(client, "/v1/profiles/e-1", headers)
            figures[who] = (answer.status_code, memory.before / MIB, memory.peak / MIB)
            print(
                f"\n150 MB PATCH with {who}: {answer.status_code}, service RSS "
                f"{memory.before / MIB:.1f} MiB -> peak {memory.peak / MIB:.1f} MiB "
                f"(+{memory.growth / MIB:.1f} MiB); answer {len(answer.content)} bytes"
            )
            assert answer.status_code == 413, (who, answer.text[:300])
            assert len(answer.content) < 1000, "the refusal must not echo the body"
            assert memory.growth < MEMORY_BUDGET, f"{who}: RSS grew by {memory.growth / MIB:.1f} MiB"
        # The service is still there and answers.
        assert (await client.get("/health/live")).status_code == 200, figures


async def test_a_chunked_body_without_content_length_is_cut_off_at_the_limit(isolated_settings, tmp_path):
    async with (
        profiles_process(isolated_settings, tmp_path) as service,
        httpx.AsyncClient(base_url=service.url, timeout=60) as client,
    ):
        assert service.process is not None
        sent = 0

        async def chunked() -> AsyncIterator[bytes]:
            nonlocal sent
            async for chunk in huge_json(64 * MIB):
                sent += len(chunk)
                yield chunk

        bearer = {"Authorization": f"Bearer {token(isolated_settings)}"}
        with PeakMemory(service.process.pid) as memory:
            answer = await client.patch("/v1/profiles/e-1", content=chunked(), headers=bearer)

        assert "content-length" not in answer.request.headers
        assert answer.request.headers["transfer-encoding"] == "chunked"
        assert answer.status_code == 413, answer.text[:300]
        assert memory.growth < MEMORY_BUDGET, f"RSS grew by {memory.growth / MIB:.1f} MiB"
        # A body under the limit still gets through to validation.
        small = await client.patch("/v1/profiles/e-1", json={"bio": "x" * 3000}, headers=bearer)
        assert small.status_code == 422, small.text
        echoed = json.dumps(small.json())
        assert "string_too_long" in echoed and "x" * 100 not in echoed, "a 422 echoes only a short prefix"


def trickle(port: int, data: bytes, interval_s: float = 1.0, give_up_after: int = 60) -> tuple[int, bytes]:
    """Send ``data`` one byte every ``interval_s``; returns how many bytes went out before the
    server answered or closed, and what it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.setblocking(False)
        for sent, byte in enumerate(data[:give_up_after]):
            try:
                sock.send(bytes([byte]))
            except OSError:  # reset by the server
                return sent, b""
            ready = _wait_readable(sock, interval_s)
            if ready:
                return sent + 1, _read_all(sock)
        return len(data), b""


def _wait_readable(sock: socket.socket, timeout_s: float) -> bool:
    import select

    readable, _, _ = select.select([sock], [], [], timeout_s)
    return bool(readable)


def _read_all(sock: socket.socket) -> bytes:
    sock.setblocking(True)
    sock.settimeout(5)
    received = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


async def test_a_client_sending_a_byte_a_second_is_cut_off_while_others_are_served(
    isolated_settings, tmp_path
):
    timeouts = {"TANDEM_HTTP_HEADER_TIMEOUT_S": "3", "TANDEM_HTTP_BODY_TIMEOUT_S": "3"}
    async with (
        profiles_process(isolated_settings, tmp_path, **timeouts) as service,
        httpx.AsyncClient(base_url=service.url, timeout=10) as client,
    ):
        slow_headers = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 100 + b"\r\n\r\n"
        body = b'{"bio": "' + b"y" * 100 + b'"}'
        slow_body = (
            f"PATCH /v1/profiles/e-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token(isolated_settings)}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        loop = asyncio.get_running_loop()
        headers_client = loop.run_in_executor(None, trickle, service.port, slow_headers)
        body_client = loop.run_in_executor(None, lambda: _trickle_body(service.port, slow_body, body))
        served = 0
        while not (headers_client.done() and body_client.done()):
            answer = await client.get("/health/live")
            assert answer.status_code == 200
            served += 1
            await asyncio.sleep(0.2)
        (header_bytes, header_answer), (body_bytes, body_answer) = await headers_client, await body_client

        assert header_bytes < len(slow_headers), "the slow request headers were not cut off"
        assert header_answer.startswith(b"HTTP/1.1 408"), header_answer[:200]
        assert body_bytes < len(body), "the slow request body was not cut off"
        assert body_answer.startswith(b"HTTP/1.1 408"), body_answer[:200]
        assert served >= 3, "other clients were not served meanwhile"


def _trickle_body(port: int, head: bytes, body: bytes) -> tuple[int, bytes]:
    """Send the request line and headers at once, then the body a byte a second."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        for sent, byte in enumerate(body):
            try:
                sock.send(bytes([byte]))
            except OSError:
                return sent, b""
            if _wait_readable(sock, 1.0):
                return sent + 1, _read_all(sock)
        return len(body), _read_all(sock)


async def test_repeated_bad_tokens_are_answered_429_with_retry_after(isolated_settings, tmp_path):
    limits = {"TANDEM_HTTP_AUTH_FAILURE_LIMIT": "5", "TANDEM_HTTP_AUTH_FAILURE_WINDOW_S": "60"}
    async with (
        profiles_process(isolated_settings, tmp_path, **limits) as service,
        httpx.AsyncClient(base_url=service.url, timeout=10) as client,
    ):
        forged = {"Authorization": "Bearer not-a-jwt"}
        answers = []
        for attempt in range(5):
            if attempt % 2:
                answers.append(await client.get("/v1/profiles/e-1", headers=forged))
            else:
                answers.append(await client.patch("/v1/profiles/e-1", json={"bio": "x"}))
        assert [a.status_code for a in answers] == [401] * 5, [a.text for a in answers]

        limited = await client.patch("/v1/profiles/e-1", json={"bio": "x"}, headers=forged)
        also_limited = await client.get("/v1/profiles/e-1")

        assert limited.status_code == 429, limited.text
        assert also_limited.status_code == 429, also_limited.text
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        # A valid token from the same address is still served; health stays open.
        bearer = {"Authorization": f"Bearer {token(isolated_settings)}"}
        assert (await client.get("/v1/profiles/e-1", headers=bearer)).status_code == 404
        assert (await client.get("/health/live")).status_code == 200


async def test_an_oversized_event_is_dead_lettered_undecoded_and_the_events_behind_it_land(
    isolated_settings, tmp_path
):
    async with (
        profiles_process(isolated_settings, tmp_path) as service,
        httpx.AsyncClient(base_url=service.url, timeout=10) as client,
    ):
        bootstrap = isolated_settings["TANDEM_KAFKA_BOOTSTRAP_SERVERS"]
        topic = isolated_settings["TANDEM_KAFKA_TOPIC_PREFIX"] + topics.HR_EMPLOYEES
        first, oversized, last = (
            new_event(
                EmployeeJoined(employee_id=f"e-{n}", email=f"e-{n}@example.com", display_name=f"E {n}"),
                source="/tests",
            )
            for n in ("1", "big", "2")
        )
        _, value, big_headers = as_record(oversized)
        padded = json.loads(value) | {"padding": "z" * (600 * 1024)}  # an unknown field: still valid
        # One key for all three, so one partition, in this order: valid, oversized, valid.
        records = [
            (b"same", as_record(first)[1], as_record(first)[2]),
            (b"same", json.dumps(padded).encode(), big_headers),
            (b"same", as_record(last)[1], as_record(last)[2]),
        ]
        await publish_raw(bootstrap, topic, records)

        dead = await read_topic(bootstrap, topics.dlq(topic), until=1)
        reasons = {name: (value or b"").decode() for name, value in dead[0].headers}
        assert reasons["dlq-error-type"] == "EventTooLarge", reasons
        assert "bytes" in reasons["dlq-error-message"]
        assert reasons["ce_id"] == oversized.id
        assert len(dead[0].value) > 600 * 1024, "the dead letter keeps the original value"

        bearer = {"Authorization": f"Bearer {token(isolated_settings, 'hr', ('hr_integration',))}"}

        async def stored() -> bool:
            answers = [await client.get(f"/v1/profiles/e-{n}", headers=bearer) for n in (1, 2)]
            return all(a.status_code == 200 for a in answers)

        await eventually(stored, "the valid events around the oversized one", timeout_s=60)
        missing = await client.get("/v1/profiles/e-big", headers=bearer)
        assert missing.status_code == 404


@pytest.mark.unit
async def test_the_edge_refuses_scim_requests_in_the_scim_error_schema():
    from tandem_profiles.bootstrap import build_app
    from tandem_profiles.config import Settings

    app = build_app(Settings(env="dev", jwt_secret="a-dev-secret-of-reasonable-length-0123"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://profiles") as client:
        too_large = await client.post(
            "/scim/v2/Users", content=b"{}", headers={"Content-Length": str(2 * MIB)}
        )
        anonymous = await client.post("/scim/v2/Users", json={"userName": "a@example.com"})

    for answer, status in ((too_large, 413), (anonymous, 401)):
        assert answer.status_code == status
        assert answer.headers["content-type"].startswith("application/scim+json")
        assert answer.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert answer.json()["status"] == str(status)
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"

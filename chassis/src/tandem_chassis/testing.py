"""Helpers for tests and tools that talk to a real broker: publish raw records, read topics."""

import asyncio
import inspect
import os
import random
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from tandem_contracts import CloudEvent, EventData, encode, new_event

__all__ = [
    "Platform",
    "ServiceProcess",
    "delete_topics",
    "eventually",
    "free_port",
    "publish_event",
    "publish_raw",
    "read_topic",
]


async def publish_raw(
    bootstrap_servers: str,
    topic: str,
    records: Sequence[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]],
) -> None:
    """Publish (key, value, headers) records in order, waiting for every acknowledgement."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value=value, key=key, headers=headers)
            for key, value, headers in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def as_record(event: CloudEvent) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    record = encode(event)
    return record.key, record.value, list(record.headers.items())


async def publish_event(
    bootstrap_servers: str, topic: str, *data: EventData, source: str = "/tests"
) -> list[CloudEvent]:
    events = [new_event(one, source=source) for one in data]
    await publish_raw(bootstrap_servers, topic, [as_record(event) for event in events])
    return events


async def read_topic(
    bootstrap_servers: str,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord]], bool] | int,
    timeout_s: float = 30.0,
) -> list[ConsumerRecord]:
    """Read ``topic`` from the beginning until ``until`` holds (or that many records), or time out."""
    done = (lambda records: len(records) >= until) if isinstance(until, int) else until
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=f"reader-{uuid.uuid4().hex[:6]}",
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    try:
        while not done(records):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"{topic}: only {len(records)} record(s) after {timeout_s}s")
            batch = await consumer.getmany(timeout_ms=int(min(remaining, 0.5) * 1000))
            for part in batch.values():
                records.extend(part)
    finally:
        await consumer.stop()
    return records


async def delete_topics(bootstrap_servers: str, prefix: str) -> list[str]:
    """Delete every topic whose name starts with ``prefix`` (one test's or bench run's); the names.

    A broker keeps files open for every partition it holds: a suite that leaves its topics behind
    runs the broker out of file descriptors after some thousands of them.
    """
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        names = [name for name in await admin.list_topics() if name.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
        return names
    finally:
        await admin.close()


async def eventually(
    check: Callable[[], Any], what: str = "condition", timeout_s: float = 60.0, interval_s: float = 0.2
) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy, and return that.

    A check may also say why it is not there yet by failing an ``assert``: it is polled again,
    and the last such message is in the ``AssertionError`` naming ``what`` that is raised when
    the check still fails after ``timeout_s``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    why: AssertionError | None = None
    while True:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
        except AssertionError as not_yet:
            result, why = None, not_yet
        if result:
            return result
        if loop.time() > deadline:
            detail = f": {why}" if why is not None and str(why) else ""
            raise AssertionError(f"{what}: not reached within {timeout_s}s{detail}") from why
        await asyncio.sleep(interval_s)


def free_port() -> int:
    """A loopback port free now, in 20000-26999 when that is below the kernel's ephemeral range.

    A port the kernel hands out for ``bind(0)`` is also one it may give any outgoing connection
    (Kafka's, the store's) before the server that was meant to get it binds it; ports below the
    ephemeral range are never taken that way.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    high = min(low, 27000)  # MongoDB's 27017 and the local stack's ports stay clear
    candidates = random.sample(range(20000, high), min(200, high - 20000)) if high > 21000 else []
    for port in [*candidates, 0]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free loopback port")


class ServiceProcess:
    """One service (``python -m tandem_<name>``) as a separate OS process, as production runs it."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, *, replica: int = 1) -> None:
        self.name = name
        self.replica = replica
        self.port = free_port()
        own = {"TANDEM_HTTP_PORT": str(self.port)}
        if "TANDEM_DB_SUFFIX" in env:  # a test's own database (the console has none)
            own["TANDEM_MONGODB_DATABASE"] = f"tandem_{name}_{env['TANDEM_DB_SUFFIX']}"
        self.env = os.environ | env | own
        self.log_path = log_dir / (f"{name}.log" if replica == 1 else f"{name}-{replica}.log")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"tandem_{self.name}"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, as a crash would."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def wait_ready(self, timeout_s: float = 90.0) -> None:
        import httpx

        deadline = asyncio.get_running_loop().time() + timeout_s
        async with httpx.AsyncClient() as client:
            while asyncio.get_running_loop().time() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    break
                try:
                    if (await client.get(f"{self.url}/health/ready", timeout=5)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.3)
        tail = self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""
        raise TimeoutError(f"{self.name} did not become ready:\n{tail}")


class Platform:
    """The four services as processes; with ``replicas`` > 1, that many of each, in one
    consumer group and on one database per service, each replica on its own HTTP port."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, replicas: int = 1) -> None:
        self.env = env
        self.replicas = {
            name: [ServiceProcess(name, env, log_dir, replica=n) for n in range(1, replicas + 1)]
            for name in ("profiles", "matching", "notifications", "relationships")
        }
        self.services = {name: group[0] for name, group in self.replicas.items()}

    def __getitem__(self, name: str) -> ServiceProcess:
        """The service's first replica (its only one by default)."""
        return self.services[name]

    def all(self) -> list[ServiceProcess]:
        return [process for group in self.replicas.values() for process in group]

    def topic(self, name: str) -> str:
        return self.env["TANDEM_KAFKA_TOPIC_PREFIX"] + name

    def database(self, service: str) -> str:
        return self.services[service].env["TANDEM_MONGODB_DATABASE"]

    @property
    def bootstrap(self) -> str:
        return self.env["TANDEM_KAFKA_BOOTSTRAP_SERVERS"]

    async def start(self) -> None:
        for service in self.all():
            service.start()
        for service in self.all():
            await service.wait_ready()

    def stop(self) -> None:
        for service in self.all():
            service.stop()

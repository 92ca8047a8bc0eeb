"""Shared test fixtures: real infrastructure, isolated per test where it matters.

Kafka and MongoDB come, in this order, from ``TANDEM_KAFKA_BOOTSTRAP_SERVERS`` and
``TANDEM_MONGODB_URI`` when both are set; else from testcontainers when a Docker engine
answers; else from the local stack (``deploy/local/stack.py start``). Infrastructure that cannot
be had fails the tests loudly; nothing is skipped.
"""

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from tandem_chassis.kafka import ensure_topics
from tandem_chassis.settings import ServiceSettings

ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Infrastructure:
    kafka_bootstrap_servers: str
    mongodb_uri: str
    origin: str


def _docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    kafka = os.environ.get("TANDEM_KAFKA_BOOTSTRAP_SERVERS")
    mongo = os.environ.get("TANDEM_MONGODB_URI")
    if kafka and mongo:
        yield Infrastructure(kafka, mongo, "environment")
        return
    if _docker_engine_answers():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.mongodb import MongoDbContainer

        with KafkaContainer().with_kraft() as k, MongoDbContainer("mongo:7") as m:
            yield Infrastructure(k.get_bootstrap_server(), m.get_connection_url(), "testcontainers")
        return
    started = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "local" / "stack.py"), "start"],
        capture_output=True,
        text=True,
    )
    if started.returncode != 0:
        pytest.fail(
            "no Kafka/MongoDB: the environment names none, no Docker engine answers, and the "
            f"local stack did not start:\n{started.stdout}\n{started.stderr}",
            pytrace=False,
        )
    yield Infrastructure("127.0.0.1:9092", "mongodb://127.0.0.1:27017", "local stack")


@pytest.fixture(scope="session")
async def reachable_infrastructure(infrastructure: Infrastructure) -> Infrastructure:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        infrastructure.mongodb_uri, serverSelectionTimeoutMS=15_000
    )
    try:
        await client.admin.command("ping")
    except Exception as error:
        pytest.fail(f"MongoDB at {infrastructure.mongodb_uri} is unreachable: {error}", pytrace=False)
    finally:
        await client.close()
    try:
        await asyncio.wait_for(
            ensure_topics(infrastructure.kafka_bootstrap_servers, names=(), with_dlq=False), 60
        )
    except Exception as error:
        pytest.fail(f"Kafka at {infrastructure.kafka_bootstrap_servers} is unreachable: {error}", pytrace=False)
    return infrastructure


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def isolated_settings(reachable_infrastructure: Infrastructure) -> dict[str, str]:
    """``TANDEM_*`` values giving a test its own topics, consumer groups and databases."""
    run = unique("t")
    return {
        "TANDEM_KAFKA_BOOTSTRAP_SERVERS": reachable_infrastructure.kafka_bootstrap_servers,
        "TANDEM_MONGODB_URI": reachable_infrastructure.mongodb_uri,
        "TANDEM_KAFKA_TOPIC_PREFIX": f"{run}.",
        "TANDEM_KAFKA_GROUP_PREFIX": f"{run}.",
        "TANDEM_KAFKA_TOPIC_PARTITIONS": "3",
        "TANDEM_DB_SUFFIX": run,
        "TANDEM_ENV": "dev",
        "TANDEM_JWT_SECRET": "test-secret-for-dev-mode-only-0123456789",
        "TANDEM_OUTBOX_POLL_INTERVAL_S": "0.2",
        "TANDEM_CONSUMER_BACKOFF_INITIAL_S": "0.05",
        "TANDEM_CONSUMER_BACKOFF_MAX_S": "0.5",
        "TANDEM_CONSUMER_MAX_ATTEMPTS": "3",
    }


@pytest.fixture
def service_settings(isolated_settings: dict[str, str]):  # type: ignore[no-untyped-def]
    """Build a service's settings for this test: ``service_settings(SettingsClass, "profiles")``."""

    def build(cls: type[ServiceSettings] = ServiceSettings, service: str = "test", **overrides: object) -> ServiceSettings:
        values = {
            key.removeprefix("TANDEM_").lower(): value
            for key, value in isolated_settings.items()
            if key != "TANDEM_DB_SUFFIX"
        }
        values["mongodb_database"] = f"tandem_{service}_{isolated_settings['TANDEM_DB_SUFFIX']}"
        values["service_name"] = service
        return cls(**(values | overrides))  # type: ignore[arg-type]

    return build


@pytest.fixture
async def mongo_client(reachable_infrastructure: Infrastructure) -> AsyncIterator[AsyncMongoClient[dict[str, object]]]:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(reachable_infrastructure.mongodb_uri, tz_aware=True)
    yield client
    await client.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceProcess:
    """One service as a separate OS process, as production runs it."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = os.environ | env | {
            "TANDEM_HTTP_PORT": str(self.port),
            "TANDEM_MONGODB_DATABASE": f"tandem_{name}_{env['TANDEM_DB_SUFFIX']}",
        }
        self.log_path = log_dir / f"{name}.log"
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
        pytest.fail(f"{self.name} did not become ready:\n{tail}", pytrace=False)


class Platform:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.services = {name: ServiceProcess(name, env, log_dir) for name in ("profiles", "matching", "notifications")}

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    def topic(self, name: str) -> str:
        return self.env["TANDEM_KAFKA_TOPIC_PREFIX"] + name

    def database(self, service: str) -> str:
        return self.services[service].env["TANDEM_MONGODB_DATABASE"]

    @property
    def bootstrap(self) -> str:
        return self.env["TANDEM_KAFKA_BOOTSTRAP_SERVERS"]

    async def start(self) -> None:
        for service in self.services.values():
            service.start()
        for service in self.services.values():
            await service.wait_ready()

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()


@pytest.fixture
async def platform(isolated_settings: dict[str, str], tmp_path: Path) -> AsyncIterator[Platform]:
    """The three services as processes on the real broker and store, isolated for this test."""
    running = Platform(isolated_settings, tmp_path)
    try:
        await running.start()
        yield running
    finally:
        running.stop()

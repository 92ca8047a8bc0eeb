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
import threading
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient
from tandem_chassis.kafka import ensure_topics
from tandem_chassis.settings import ServiceSettings
from tandem_chassis.testing import Platform, delete_topics

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
    kafka_port = os.environ.get("TANDEM_LOCAL_KAFKA_PORT", "9092")  # as stack.py reads them
    mongo_port = os.environ.get("TANDEM_LOCAL_MONGO_PORT", "27017")
    yield Infrastructure(f"127.0.0.1:{kafka_port}", f"mongodb://127.0.0.1:{mongo_port}", "local stack")


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
        pytest.fail(
            f"Kafka at {infrastructure.kafka_bootstrap_servers} is unreachable: {error}", pytrace=False
        )
    return infrastructure


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _delete_topics_of(bootstrap_servers: str, prefix: str) -> None:
    """Delete a finished test's topics, on a loop of its own (teardown runs outside the tests')."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(asyncio.wait_for(delete_topics(bootstrap_servers, prefix), 30))
        except Exception as error:  # the broker may be one the test stopped; say so, go on
            failures.append(error)

    thread = threading.Thread(target=run, name="delete-test-topics")
    thread.start()
    thread.join()
    for error in failures:
        warnings.warn(f"could not delete the topics {prefix}*: {error!r}", stacklevel=1)


@pytest.fixture
def isolated_settings(reachable_infrastructure: Infrastructure) -> Iterator[dict[str, str]]:
    """``TANDEM_*`` values giving a test its own topics, consumer groups and databases.

    The test's topics are deleted after it (databases are small; thousands of topics are not).
    """
    run = unique("t")
    yield {
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
    _delete_topics_of(reachable_infrastructure.kafka_bootstrap_servers, f"{run}.")


@pytest.fixture
def service_settings(isolated_settings: dict[str, str]):  # type: ignore[no-untyped-def]
    """Build a service's settings for this test: ``service_settings(SettingsClass, "profiles")``."""

    def build(
        cls: type[ServiceSettings] = ServiceSettings, service: str = "test", **overrides: object
    ) -> ServiceSettings:
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
async def mongo_client(
    reachable_infrastructure: Infrastructure,
) -> AsyncIterator[AsyncMongoClient[dict[str, object]]]:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        reachable_infrastructure.mongodb_uri, tz_aware=True
    )
    yield client
    await client.close()


@pytest.fixture
async def platform(isolated_settings: dict[str, str], tmp_path: Path) -> AsyncIterator[Platform]:
    """The four services as processes on the real broker and store, isolated for this test."""
    running = Platform(isolated_settings, tmp_path)
    try:
        await running.start()
        yield running
    finally:
        running.stop()

"""Plain aiokafka clients for the CLI, configured like the services (TLS/SASL from TANDEM_*)."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError
from tandem_chassis.kafka import client_options
from tandem_chassis.settings import ServiceSettings

from tandem_cli.errors import CliError

__all__ = [
    "admin_client",
    "consumer",
    "kafka_options",
    "offset_range",
    "partitions_by_topic",
    "partitions_of",
    "producer",
]


def kafka_options(bootstrap_servers: str) -> dict[str, Any]:
    """aiokafka options: these servers plus the security settings of the environment."""
    # env="dev": the CLI needs no JWT keys to talk to Kafka, even when TANDEM_ENV=prod.
    settings = ServiceSettings(kafka_bootstrap_servers=bootstrap_servers, env="dev")
    options: dict[str, Any] = client_options(settings) | {"request_timeout_ms": 15_000}
    return options


def _unreachable(bootstrap_servers: str, error: Exception) -> CliError:
    return CliError(
        f"Kafka at {bootstrap_servers} is not reachable ({type(error).__name__}: {error}): "
        "run `make run` first"
    )


@asynccontextmanager
async def _started(
    bootstrap_servers: str,
    start: Callable[[], Awaitable[Any]],
    stop: Callable[[], Awaitable[Any]],
) -> AsyncIterator[None]:
    """Start a Kafka client, turning "no broker" into a clear CLI error; always stop it."""
    try:
        await start()
    except (KafkaConnectionError, KafkaError, OSError) as error:
        await stop()
        raise _unreachable(bootstrap_servers, error) from error
    try:
        yield
    finally:
        await stop()


@asynccontextmanager
async def admin_client(bootstrap_servers: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap_servers))
    async with _started(bootstrap_servers, admin.start, admin.close):
        yield admin


@asynccontextmanager
async def consumer(bootstrap_servers: str, *, group_id: str | None = None) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer with no subscription: assign partitions yourself; never auto-commits."""
    client = AIOKafkaConsumer(
        **kafka_options(bootstrap_servers),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=f"tandem-cli-{uuid.uuid4().hex[:6]}",
    )
    async with _started(bootstrap_servers, client.start, client.stop):
        yield client


@asynccontextmanager
async def producer(bootstrap_servers: str) -> AsyncIterator[AIOKafkaProducer]:
    """A producer that waits for all replicas and never duplicates on retry, as the services'."""
    client = AIOKafkaProducer(
        **kafka_options(bootstrap_servers),
        acks="all",
        enable_idempotence=True,
        client_id=f"tandem-cli-{uuid.uuid4().hex[:6]}",
    )
    async with _started(bootstrap_servers, client.start, client.stop):
        yield client


async def partitions_by_topic(client: AIOKafkaConsumer) -> dict[str, list[TopicPartition]]:
    """Every topic's partitions, from fresh metadata."""
    # consumer.topics() fetches fresh metadata but does not keep it, so partitions_for_topic()
    # would answer from the stale cache: read the fetched metadata itself.
    cluster = await client._client.fetch_all_metadata()
    return {
        topic: [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]
        for topic in cluster.topics()
    }


async def partitions_of(client: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions; empty when the topic does not exist."""
    return (await partitions_by_topic(client)).get(topic, [])


async def offset_range(
    client: AIOKafkaConsumer, partitions: list[TopicPartition]
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """(beginning, end) offsets of ``partitions``."""
    if not partitions:
        return {}, {}
    return await client.beginning_offsets(partitions), await client.end_offsets(partitions)

"""The Kafka broker factory and topic set-up."""

import asyncio
import contextlib
import ssl
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from tandem_contracts import topics

from tandem_chassis.settings import ServiceSettings

__all__ = ["MAX_DEAD_LETTER_BYTES", "MAX_MESSAGE_BYTES", "build_broker", "client_options", "ensure_topics"]

# ``max.message.bytes`` of every topic, stated wherever topics are made (here, compose's broker,
# the local stack's broker, the Strimzi KafkaTopics). A dead letter is its original record plus
# the dlq-* headers, so dead-letter topics take twice as much: a refused record always fits.
MAX_MESSAGE_BYTES = 1024 * 1024
MAX_DEAD_LETTER_BYTES = 2 * MAX_MESSAGE_BYTES


def _ssl_context(settings: ServiceSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_ssl_certfile:
        context.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile)
    return context


def _security(settings: ServiceSettings) -> BaseSecurity | None:
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    use_ssl = protocol.endswith("SSL")
    context = _ssl_context(settings) if use_ssl else None
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    sasl = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}[
        settings.kafka_sasl_mechanism
    ]
    return sasl(
        username=settings.kafka_sasl_username or "",
        password=password,
        ssl_context=context,
        use_ssl=use_ssl,
    )


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for plain clients (admin, bare consumers) from settings."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol.endswith("SSL"):
        options["ssl_context"] = _ssl_context(settings)
    if settings.kafka_security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        )
    return options


def build_broker(settings: ServiceSettings) -> KafkaBroker:
    """A FastStream broker whose producer waits for all replicas and never duplicates on retry."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"tandem-{settings.service_name}",
        acks="all",
        enable_idempotence=True,
        security=_security(settings),
        allow_auto_create_topics=False,
        max_request_size=MAX_DEAD_LETTER_BYTES,  # the size a dead letter may have
        graceful_timeout=30.0,
        logger=None,
    )


async def ensure_topics(
    bootstrap_servers: str | None = None,
    names: tuple[str, ...] = topics.ALL_TOPICS,
    *,
    settings: ServiceSettings | None = None,
    partitions: int | None = None,
    with_dlq: bool = True,
    timeout_s: float = 60.0,
) -> list[str]:
    """Create the topics (and their ``.dlq`` twins) that do not exist yet; returns the new ones."""
    settings = settings or ServiceSettings()
    options = client_options(settings)
    if bootstrap_servers:
        options["bootstrap_servers"] = bootstrap_servers
    wanted = [settings.topic(name) for name in names]
    if with_dlq:
        wanted += [topics.dlq(name) for name in wanted]
    admin = AIOKafkaAdminClient(**options)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if missing:
            new = [
                NewTopic(
                    name,
                    num_partitions=partitions or settings.kafka_topic_partitions,
                    replication_factor=settings.kafka_replication_factor,
                    topic_configs={"max.message.bytes": str(_max_message_bytes(name))},
                )
                for name in missing
            ]
            with contextlib.suppress(TopicAlreadyExistsError):  # created meanwhile by another service
                await admin.create_topics(new)
        return missing
    finally:
        await admin.close()


def _max_message_bytes(topic: str) -> int:
    return MAX_DEAD_LETTER_BYTES if topic.endswith(topics.dlq("")) else MAX_MESSAGE_BYTES

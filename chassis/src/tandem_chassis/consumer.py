"""Reliable consumption: commit after success, retry transient failures, dead-letter the rest.

Every subscriber is registered with ``AckPolicy.NACK_ON_ERROR``: the offset is committed only
after the handler returned. Permanent errors (undecodable value, unknown type, invalid data,
:class:`PermanentError`) go to ``<topic>.dlq`` at once and the partition moves on. Other errors
are retried with exponential backoff and jitter; infrastructure errors (store or broker
unreachable) are never dead-lettered: after the retries the message is nacked, so Kafka
redelivers it, and nothing is lost. Any other error that outlives its retries is dead-lettered.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from tandem_chassis.logging import get_logger
from tandem_chassis.metrics import (
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    HANDLER_RETRIES,
    HANDLER_SECONDS,
)
from tandem_chassis.settings import ServiceSettings
from tandem_contracts import (
    CloudEvent,
    EventData,
    MalformedEventError,
    UnknownEventTypeError,
    decode,
    parse_data,
    topics,
)

__all__ = ["DLQ_HEADERS", "Delivery", "EventHandler", "PermanentError", "subscribe"]

log = get_logger(__name__)


class PermanentError(Exception):
    """A handler's verdict that this event can never succeed: dead-letter it."""


PERMANENT_ERRORS = (MalformedEventError, UnknownEventTypeError, ValidationError, PermanentError)
INFRASTRUCTURE_ERRORS = (ConnectionFailure, KafkaError, ConnectionError, TimeoutError)
DLQ_HEADERS = (
    "dlq-original-topic",
    "dlq-original-partition",
    "dlq-original-offset",
    "dlq-consumer-group",
    "dlq-error-type",
    "dlq-error-message",
    "dlq-failed-at",
)


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where an event came from."""

    topic: str
    partition: int
    offset: int
    key: str | None
    group_id: str


EventHandler = Callable[[CloudEvent, EventData, Delivery], Awaitable[None]]


async def dead_letter(
    broker: KafkaBroker, record: ConsumerRecord, *, group_id: str, error: BaseException
) -> None:
    """Copy ``record`` to ``<topic>.dlq`` with headers saying where it came from and why."""
    original = {name: (raw or b"").decode("utf-8", "replace") for name, raw in record.headers}
    reason = str(error).replace("\n", " ")[:2000]
    headers = original | {
        "dlq-original-topic": record.topic,
        "dlq-original-partition": str(record.partition),
        "dlq-original-offset": str(record.offset),
        "dlq-consumer-group": group_id,
        "dlq-error-type": type(error).__name__,
        "dlq-error-message": reason,
        "dlq-failed-at": datetime.now(UTC).isoformat(),
    }
    await broker.publish(
        record.value or b"", topic=topics.dlq(record.topic), key=record.key, headers=headers
    )
    EVENTS_DEAD_LETTERED.labels(record.topic, type(error).__name__).inc()
    log.warning(
        "event dead-lettered",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        error_type=type(error).__name__,
        error=reason[:300],
    )


def subscribe(
    broker: KafkaBroker,
    *,
    topic: str,
    group_id: str,
    handler: EventHandler,
    settings: ServiceSettings,
) -> None:
    """Register ``handler`` for ``topic`` in consumer group ``group_id`` with the rules above."""

    async def on_message(body: bytes, message: KafkaMessage) -> None:
        record: ConsumerRecord = message.raw_message
        delivery = Delivery(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key.decode("utf-8", "replace") if record.key else None,
            group_id=group_id,
        )
        try:
            event = decode(record.value, record.headers)
            data = parse_data(event, topic=_contract_topic(record.topic, settings))
        except PERMANENT_ERRORS as error:
            await dead_letter(broker, record, group_id=group_id, error=error)
            return
        started = time.perf_counter()
        retrying = AsyncRetrying(
            stop=stop_after_attempt(settings.consumer_max_attempts),
            wait=wait_exponential_jitter(
                multiplier=settings.consumer_backoff_initial_s,
                max=settings.consumer_backoff_max_s,
                jitter=settings.consumer_backoff_initial_s,
            ),
            retry=retry_if_not_exception_type(PERMANENT_ERRORS),
            before_sleep=lambda state: HANDLER_RETRIES.labels(record.topic).inc(),
            reraise=False,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await handler(event, data, delivery)
        except PERMANENT_ERRORS as error:
            await dead_letter(broker, record, group_id=group_id, error=error)
            return
        except RetryError as exhausted:
            error = exhausted.last_attempt.exception() or exhausted
            if isinstance(error, INFRASTRUCTURE_ERRORS):
                log.warning("handler failed on infrastructure; redelivering", topic=record.topic, offset=record.offset, error=str(error)[:300])
                raise error from None
            await dead_letter(broker, record, group_id=group_id, error=error)
            return
        HANDLER_SECONDS.labels(record.topic).observe(time.perf_counter() - started)
        EVENTS_CONSUMED.labels(record.topic, event.type).inc()

    broker.subscriber(
        topic,
        group_id=group_id,
        decoder=_raw_body,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        max_poll_interval_ms=600_000,
    )(on_message)


async def _raw_body(message: StreamMessage[ConsumerRecord]) -> bytes:
    """Hand the raw value to our codec: decoding is ours, so its errors can be dead-lettered."""
    return message.body


def _contract_topic(topic: str, settings: ServiceSettings) -> str:
    """The contract's topic name for a (possibly prefixed) physical topic."""
    return topic.removeprefix(settings.kafka_topic_prefix)

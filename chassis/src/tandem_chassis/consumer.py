"""Reliable consumption: commit after success, retry transient failures, dead-letter the rest.

Every subscriber is registered with ``AckPolicy.NACK_ON_ERROR``: the offset is committed only
after the handler returned. Permanent errors (a value over ``consumer_max_event_bytes``, which
is never decoded, undecodable value, unknown type, invalid data,
:class:`PermanentError`) go to ``<topic>.dlq`` at once and the partition moves on. Other errors
are retried with exponential backoff and jitter; infrastructure errors (store or broker
unreachable) are never dead-lettered: after the retries the message is nacked, so Kafka
redelivers it, and nothing is lost. Any other error that outlives its retries is dead-lettered.
"""

import dataclasses
import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from pydantic import ValidationError
from pymongo.errors import ConnectionFailure
from tandem_contracts import (
    CloudEvent,
    EventData,
    MalformedEventError,
    UnknownEventTypeError,
    decode,
    parse_data,
    topics,
)
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception,
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

__all__ = [
    "DLQ_HEADERS",
    "BatchHandler",
    "BatchItem",
    "Delivery",
    "EventHandler",
    "EventTooLarge",
    "Outcome",
    "PermanentError",
    "is_retryable",
    "settle",
    "subscribe",
]

log = get_logger(__name__)


class PermanentError(Exception):
    """A handler's verdict that this event can never succeed: dead-letter it."""


class EventTooLarge(PermanentError):  # noqa: N818 (the dead-letter header names what is wrong)
    """A record value over ``consumer_max_event_bytes``: refused before it is decoded."""


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


class Outcome(enum.Enum):
    """What becomes of a record whose handler failed for good."""

    DEAD_LETTER = "dead_letter"  # copied to <topic>.dlq; the offset is committed
    REDELIVER = "redeliver"  # nacked: Kafka hands it over again, nothing is lost


def is_retryable(error: BaseException) -> bool:
    """Whether a failed handler run is worth running again (permanent errors never are)."""
    return not isinstance(error, PERMANENT_ERRORS)


def settle(error: BaseException) -> Outcome:
    """The fate of a record whose handler raised ``error`` at once (permanent) or after its retries.

    An outage of the store or the broker is not the record's fault: it is redelivered.
    """
    if not is_retryable(error) or not isinstance(error, INFRASTRUCTURE_ERRORS):
        return Outcome.DEAD_LETTER
    return Outcome.REDELIVER


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
    await broker.publish(record.value or b"", topic=topics.dlq(record.topic), key=record.key, headers=headers)
    EVENTS_DEAD_LETTERED.labels(record.topic, type(error).__name__).inc()
    log.warning(
        "event dead-lettered",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        error_type=type(error).__name__,
        error=reason[:300],
    )


BatchItem = tuple[CloudEvent, EventData, Delivery]
BatchHandler = Callable[[list[BatchItem]], Awaitable[None]]


class _Consumer:
    """The reliability rules for one subscription, shared by the single and batch paths."""

    def __init__(
        self, broker: KafkaBroker, *, group_id: str, handler: EventHandler, settings: ServiceSettings
    ) -> None:
        self.broker = broker
        self.group_id = group_id
        self.handler = handler
        self.settings = settings

    def _retrying(self, topic: str) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.settings.consumer_max_attempts),
            wait=wait_exponential_jitter(
                multiplier=self.settings.consumer_backoff_initial_s,
                max=self.settings.consumer_backoff_max_s,
                jitter=self.settings.consumer_backoff_initial_s,
            ),
            retry=retry_if_exception(is_retryable),
            before_sleep=lambda state: HANDLER_RETRIES.labels(topic).inc(),
            reraise=False,
        )

    async def decode(self, record: ConsumerRecord) -> BatchItem | None:
        """The record's event, or ``None`` once it is dead-lettered."""
        delivery = Delivery(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key.decode("utf-8", "replace") if record.key else None,
            group_id=self.group_id,
        )
        size = len(record.value or b"")
        if size > self.settings.consumer_max_event_bytes:
            # Parsing a huge value is where the memory goes; no Tandem event comes near the limit.
            too_large = EventTooLarge(
                f"the value has {size} bytes, over the limit of {self.settings.consumer_max_event_bytes}"
            )
            await dead_letter(self.broker, record, group_id=self.group_id, error=too_large)
            return None
        try:
            event = decode(record.value, record.headers)
            data = parse_data(event, topic=_contract_topic(record.topic, self.settings))
        except Exception as error:  # decoding is pure: whatever it raises, the record is at fault
            # Raising here would nack the record and redeliver it forever, stalling the partition.
            await dead_letter(self.broker, record, group_id=self.group_id, error=error)
            return None
        return event, data, delivery

    async def _run(self, topic: str, call: Callable[[], Awaitable[None]]) -> BaseException | None:
        """Run ``call`` with retries; the error that outlived them, if any."""
        try:
            async for attempt in self._retrying(topic):
                with attempt:
                    await call()
        except PERMANENT_ERRORS as error:
            return error
        except RetryError as exhausted:
            failure = exhausted.last_attempt.exception() or exhausted
            if settle(failure) is Outcome.REDELIVER:
                log.warning(
                    "handler failed on infrastructure; redelivering", topic=topic, error=str(failure)[:300]
                )
                raise failure from None
            return failure
        return None

    async def handle(self, record: ConsumerRecord, item: BatchItem) -> None:
        event, data, delivery = item
        started = time.perf_counter()
        error = await self._run(record.topic, lambda: self.handler(event, data, delivery))
        if error is not None:
            await dead_letter(self.broker, record, group_id=self.group_id, error=error)
            return
        HANDLER_SECONDS.labels(record.topic).observe(time.perf_counter() - started)
        EVENTS_CONSUMED.labels(record.topic, event.type).inc()

    async def on_message(self, body: bytes, message: KafkaMessage) -> None:
        record: ConsumerRecord = message.raw_message
        item = await self.decode(record)
        if item is not None:
            await self.handle(record, item)

    async def on_batch(self, body: list[bytes], message: KafkaMessage, batch: BatchHandler) -> None:
        records: tuple[ConsumerRecord, ...] = message.raw_message
        decoded = [(record, await self.decode(record)) for record in records]
        valid = [(record, item) for record, item in decoded if item is not None]
        if not valid:
            return
        topic = valid[0][0].topic
        started = time.perf_counter()
        error = await self._run(topic, lambda: batch([item for _, item in valid]))
        if error is None:
            HANDLER_SECONDS.labels(topic).observe(time.perf_counter() - started)
            for _, (event, _, _) in valid:
                EVENTS_CONSUMED.labels(topic, event.type).inc()
            return
        # One bad event must not sink the batch: handle them one by one to find it.
        log.warning("batch failed; handling its events one by one", topic=topic, exc_info=error)
        for record, item in valid:
            await self.handle(record, item)


def subscribe(
    broker: KafkaBroker,
    *,
    topic: str,
    group_id: str,
    handler: EventHandler,
    settings: ServiceSettings,
    batch_handler: BatchHandler | None = None,
    max_records: int = 500,
) -> None:
    """Register ``handler`` for ``topic`` in consumer group ``group_id`` with the rules above.

    With ``batch_handler``, records are taken in batches of up to ``max_records`` and handed
    over together (decoded and validated; bad ones are already dead-lettered); a batch that
    fails for good is handled again event by event with ``handler``, so one poison event
    goes to the dead-letter topic and the rest are processed.
    """
    consumer = _Consumer(broker, group_id=group_id, handler=handler, settings=settings)
    options: dict[str, Any] = {
        "group_id": group_id,
        "decoder": _raw_body,
        "parser": _tolerant_parser,
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "auto_offset_reset": "earliest",
        "max_poll_interval_ms": 600_000,
    }
    if batch_handler is None:
        broker.subscriber(topic, **options)(consumer.on_message)
        return

    async def on_batch(body: list[bytes], message: KafkaMessage) -> None:
        await consumer.on_batch(body, message, batch_handler)

    broker.subscriber(topic, batch=True, max_records=max_records, batch_timeout_ms=100, **options)(on_batch)


def _readable(value: bytes | None) -> bool:
    if value is None:
        return False
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _readable_headers(record: ConsumerRecord) -> ConsumerRecord:
    """``record`` with every header value valid UTF-8 (bad bytes replaced, null made empty)."""
    if all(_readable(value) for _, value in record.headers):
        return record
    headers = tuple(
        (name, (value or b"").decode("utf-8", "replace").encode()) for name, value in record.headers
    )
    return dataclasses.replace(record, headers=headers)


async def _tolerant_parser(
    message: ConsumerRecord | tuple[ConsumerRecord, ...], original: Callable[[Any], Awaitable[Any]]
) -> Any:
    """FastStream's parser decodes every header as UTF-8 before any handler runs, so one header
    that is not UTF-8 (or null) failed the whole poll, and the records in it were skipped
    unseen, valid ones too. It parses a readable copy; the handler still gets the original
    record, which our codec dead-letters."""
    if isinstance(message, tuple):
        parsed = await original(tuple(_readable_headers(record) for record in message))
    else:
        parsed = await original(_readable_headers(message))
    parsed.raw_message = message
    return parsed


async def _raw_body(message: StreamMessage[ConsumerRecord]) -> bytes:
    """Hand the raw value to our codec: decoding is ours, so its errors can be dead-lettered."""
    return message.body


def _contract_topic(topic: str, settings: ServiceSettings) -> str:
    """The contract's topic name for a (possibly prefixed) physical topic."""
    return topic.removeprefix(settings.kafka_topic_prefix)

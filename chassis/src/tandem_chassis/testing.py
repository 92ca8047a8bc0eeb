"""Helpers for tests and tools that talk to a real broker: publish raw records, read topics."""

import asyncio
import uuid
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from tandem_contracts import CloudEvent, EventData, encode, new_event

__all__ = ["publish_event", "publish_raw", "read_topic"]


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

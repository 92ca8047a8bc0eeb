"""Reliable publishing without multi-document transactions.

An aggregate document carries its own outbox: the state change and the events it causes are
written in one single-document update, guarded by the document's ``version`` (optimistic
concurrency). The relay publishes pending events in order with ``acks=all`` and an idempotent
producer, then records how far it got (``outbox_sent``). A crash between publishing and
recording re-publishes, never loses: consumers drop what they have seen (event id, version).
Only ``$set``, ``$max`` and equality filters are used, so FerretDB 1.24 behaves like MongoDB.
"""

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from tandem_chassis.logging import get_logger
from tandem_chassis.metrics import EVENTS_PUBLISHED
from tandem_contracts import CloudEvent, EventData, encode, new_event
from tandem_contracts.registry import type_of

__all__ = ["AggregateStore", "OutboxRelay", "upsert_if_newer"]

log = get_logger(__name__)
Document = dict[str, Any]
SEEN_EVENTS_KEPT = 64
_BOOKKEEPING = ("version", "outbox", "outbox_seq", "outbox_sent", "outbox_pending", "seen_events")


class AggregateStore:
    """Reads and writes aggregates whose events are published through their own outbox."""

    def __init__(
        self,
        collection: AsyncCollection[Document],
        *,
        source: str,
        topic_prefix: str = "",
        on_write: asyncio.Event | None = None,
    ) -> None:
        self.collection = collection
        self.source = source
        self.topic_prefix = topic_prefix
        self._on_write = on_write

    async def create_indexes(self) -> None:
        await self.collection.create_index([("outbox_pending", ASCENDING)])

    async def get(self, aggregate_id: str) -> Document | None:
        return await self.collection.find_one({"_id": aggregate_id})

    @staticmethod
    def state_of(document: Document) -> Document:
        """The aggregate's own fields, without the outbox bookkeeping."""
        return {k: v for k, v in document.items() if k not in _BOOKKEEPING}

    @staticmethod
    def has_seen(document: Document | None, event_id: str | None) -> bool:
        return bool(document and event_id and event_id in document.get("seen_events", ()))

    def _entries(self, events: Sequence[EventData], first_seq: int, at: datetime) -> list[Document]:
        entries = []
        for offset, data in enumerate(events):
            registered = type_of(data)
            event = new_event(data, source=self.source, time=at)
            entries.append(
                {
                    "seq": first_seq + offset,
                    "topic": self.topic_prefix + registered.topic,
                    "key": str(getattr(data, registered.key_field)),
                    "event": event.model_dump(mode="json"),
                }
            )
        return entries

    async def create(
        self,
        aggregate_id: str,
        state: Document,
        events: Sequence[EventData] = (),
        *,
        caused_by: str | None = None,
    ) -> bool:
        """Insert a new aggregate at version 1; False if it already exists."""
        document = {
            **state,
            "_id": aggregate_id,
            "version": 1,
            "outbox": self._entries(events, 1, datetime.now(UTC)),
            "outbox_seq": len(events),
            "outbox_sent": 0,
            "outbox_pending": bool(events),
            "seen_events": [caused_by] if caused_by else [],
        }
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError:
            return False
        self._notify(events)
        return True

    async def update(
        self,
        current: Document,
        changes: Document,
        events: Sequence[EventData] = (),
        *,
        caused_by: str | None = None,
        unset: Sequence[str] = (),
    ) -> bool:
        """Apply ``changes`` if nobody wrote since ``current`` was read; False on a conflict."""
        sent = current.get("outbox_sent", 0)
        kept = [entry for entry in current.get("outbox", []) if entry["seq"] > sent]
        first_seq = current.get("outbox_seq", 0) + 1
        seen = list(current.get("seen_events", []))
        if caused_by:
            seen = [*seen, caused_by][-SEEN_EVENTS_KEPT:]
        update: Document = {
            "$set": {
                **changes,
                "version": current["version"] + 1,
                "outbox": kept + self._entries(events, first_seq, datetime.now(UTC)),
                "outbox_seq": first_seq + len(events) - 1,
                "outbox_pending": bool(kept or events),
                "seen_events": seen,
            }
        }
        if unset:
            update["$unset"] = dict.fromkeys(unset, "")
        result = await self.collection.update_one(
            {"_id": current["_id"], "version": current["version"]}, update
        )
        if result.matched_count == 0:
            return False
        self._notify(events)
        return True

    def _notify(self, events: Sequence[EventData]) -> None:
        if events and self._on_write is not None:
            self._on_write.set()


class OutboxRelay:
    """Publishes pending outbox entries of the given collections, in order per aggregate."""

    def __init__(
        self,
        broker: KafkaBroker,
        collections: Sequence[AsyncCollection[Document]],
        *,
        poll_interval_s: float = 0.5,
        batch_size: int = 500,
    ) -> None:
        self.broker = broker
        self.collections = list(collections)
        self.poll_interval_s = poll_interval_s
        self.batch_size = batch_size
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def drain_once(self) -> int:
        """Publish what is pending now; returns the number of events published."""
        published = 0
        for collection in self.collections:
            cursor = collection.find(
                {"outbox_pending": True},
                {"outbox": 1, "outbox_sent": 1, "version": 1},
                limit=self.batch_size,
            )
            documents = await cursor.to_list()
            if not documents:
                continue
            futures = []
            marks = []
            for document in documents:
                sent = document.get("outbox_sent", 0)
                pending = sorted(
                    (e for e in document.get("outbox", []) if e["seq"] > sent),
                    key=lambda e: e["seq"],
                )
                for entry in pending:
                    futures.append(await self._send(entry))
                marks.append((document, max((e["seq"] for e in pending), default=sent)))
            await asyncio.gather(*futures)
            published += len(futures)
            for document, last_seq in marks:
                await self._mark_sent(collection, document, last_seq)
        return published

    async def _send(self, entry: Document) -> "asyncio.Future[Any]":
        event = CloudEvent.model_validate(entry["event"])
        record = encode(event, key=entry["key"])
        headers = {name: value.decode() for name, value in record.headers.items()}
        future: asyncio.Future[Any] = await self.broker.publish(
            record.value, topic=entry["topic"], key=record.key, headers=headers, no_confirm=True
        )
        EVENTS_PUBLISHED.labels(entry["topic"], event.type).inc()
        return future

    @staticmethod
    async def _mark_sent(
        collection: AsyncCollection[Document], document: Document, last_seq: int
    ) -> None:
        done = await collection.update_one(
            {"_id": document["_id"], "version": document["version"]},
            {"$set": {"outbox_pending": False, "outbox_sent": last_seq}},
        )
        if done.matched_count == 0:
            # Written since we read it: record progress, leave it pending for the next pass.
            await collection.update_one(
                {"_id": document["_id"], "outbox_sent": {"$lt": last_seq}},
                {"$set": {"outbox_sent": last_seq}},
            )

    async def run(self) -> None:
        while True:
            try:
                published = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the relay must outlive a broker or store outage
                log.warning("outbox relay pass failed; retrying", error=str(error)[:300])
                published = 0
                await asyncio.sleep(self.poll_interval_s)
            if published:
                continue
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.poll_interval_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.drain_once(), 10)


async def upsert_if_newer(
    collection: AsyncCollection[Document], key: str, version: int, fields: Document
) -> bool:
    """Store a snapshot unless an equal or newer version is there; True if it was stored."""
    try:
        result = await collection.update_one(
            {"_id": key, "version": {"$lt": version}},
            {"$set": {**fields, "version": version}},
            upsert=True,
        )
    except DuplicateKeyError:
        return False  # the stored version is equal or newer: a stale or repeated event
    return result.upserted_id is not None or result.modified_count > 0

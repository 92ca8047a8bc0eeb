"""Reliable publishing without multi-document transactions.

A write of an aggregate first stores the events it causes as outbox documents in
``<collection>_outbox``, keyed by (aggregate id, sequence number), and then updates the
aggregate in one single-document write guarded by its ``version`` (optimistic concurrency),
which also advances the aggregate's ``outbox_seq``. An outbox entry counts only once its
aggregate's ``outbox_seq`` covers it. A write that lost the race withdraws its entries; one that
never happened (a crash in between) leaves them, and the next write of the same sequence number
replaces them once they are ``IN_FLIGHT`` old. A writer never overwrites another's entry that
may be in flight or committed: with several replicas writing one aggregate, the loser used to
replace the winner's entry (its event went out for the winner's write) or re-stage an entry the
relay had already published (a phantom event). The relay publishes committed entries in order
with ``acks=all`` and an idempotent producer, then deletes them; one relay per collection at a
time (``relay_lease``). A crash between publishing and deleting re-publishes, never loses:
consumers drop what they have seen (event id, version).

The relay never writes to aggregate documents.
"""

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo import ASCENDING, InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError
from tandem_contracts import CloudEvent, EventData, encode, new_event
from tandem_contracts.registry import type_of

from tandem_chassis.logging import get_logger
from tandem_chassis.metrics import EVENTS_PUBLISHED
from tandem_chassis.relay_lease import RelayLease

__all__ = ["AggregateStore", "AggregateWrite", "OutboxRelay", "outbox_of", "upsert_if_newer"]

log = get_logger(__name__)
Document = dict[str, Any]
SEEN_EVENTS_KEPT = 64
ORPHAN_AFTER = timedelta(minutes=5)
UNFLAGGED_GRACE = timedelta(seconds=5)
IN_FLIGHT = timedelta(seconds=10)  # a staged entry younger than this may be a concurrent writer's
_BOOKKEEPING = ("version", "outbox_seq", "seen_events")


def outbox_of(collection: AsyncCollection[Document]) -> AsyncCollection[Document]:
    """The outbox collection of an aggregate collection."""
    return collection.database[f"{collection.name}_outbox"]


def commits_of(collection: AsyncCollection[Document]) -> AsyncCollection[Document]:
    """Where writers record which outbox entries their landed writes committed."""
    return collection.database[f"{collection.name}_outbox_commits"]


def _entry_id(aggregate_id: str, seq: int) -> str:
    return f"{aggregate_id}\x1f{seq:012d}"


@dataclass(frozen=True, slots=True)
class AggregateWrite:
    """One aggregate's new state and the events it causes (``current`` None: a new aggregate)."""

    aggregate_id: str
    current: Document | None
    state: Document
    events: Sequence[EventData] = ()
    caused_by: Sequence[str] = ()


class AggregateStore:
    """Reads and writes aggregates whose events are published through an outbox."""

    def __init__(
        self,
        collection: AsyncCollection[Document],
        *,
        source: str,
        topic_prefix: str = "",
        on_write: asyncio.Event | None = None,
    ) -> None:
        self.collection = collection
        self.outbox = outbox_of(collection)
        self.commits = commits_of(collection)
        self.source = source
        self.topic_prefix = topic_prefix
        self._on_write = on_write

    async def create_indexes(self) -> None:
        await self.outbox.create_index([("created_at", ASCENDING)])

    async def get(self, aggregate_id: str) -> Document | None:
        return await self.collection.find_one({"_id": aggregate_id})

    @staticmethod
    def state_of(document: Document) -> Document:
        """The aggregate's own fields, without the outbox bookkeeping."""
        return {k: v for k, v in document.items() if k not in _BOOKKEEPING}

    @staticmethod
    def has_seen(document: Document | None, event_id: str | None) -> bool:
        return bool(document and event_id and event_id in document.get("seen_events", ()))

    def _entries(self, aggregate_id: str, events: Sequence[EventData], first_seq: int) -> list[Document]:
        at = datetime.now(UTC)
        entries = []
        for offset, data in enumerate(events):
            registered = type_of(data)
            event = new_event(data, source=self.source, time=at)
            seq = first_seq + offset
            entries.append(
                {
                    "_id": _entry_id(aggregate_id, seq),
                    "aggregate_id": aggregate_id,
                    "seq": seq,
                    "topic": self.topic_prefix + registered.topic,
                    "key": str(getattr(data, registered.key_field)),
                    "event": event.model_dump(mode="json"),
                    "created_at": at,
                }
            )
        return entries

    async def _stage(self, entries: list[Document]) -> bool:
        """Store not-yet-committed entries; False when another writer's entry holds a place.

        A place (aggregate, seq) may hold a leftover of a write that never landed (older than
        ``IN_FLIGHT`` and beyond the aggregate's ``outbox_seq``), which is replaced. Any other entry
        there is a concurrent writer's, in flight or committed: overwriting it would publish this
        writer's event for the other's landed write, so this write counts as a lost race.
        """
        for entry in entries:
            try:
                await self.outbox.insert_one(entry)
                continue
            except DuplicateKeyError:
                pass
            existing = await self.outbox.find_one({"_id": entry["_id"]})
            aggregate = await self.get(entry["aggregate_id"])
            landed_seq = aggregate.get("outbox_seq", 0) if aggregate else 0
            if existing is None or existing["seq"] <= landed_seq:
                return False  # that place's write landed: this one read a stale version
            if _as_utc(existing["created_at"]) > datetime.now(UTC) - IN_FLIGHT:
                return False
            replaced = await self.outbox.replace_one(
                {"_id": entry["_id"], "created_at": existing["created_at"]}, entry
            )
            if replaced.matched_count == 0:
                return False
        return True

    async def _withdraw(self, entries: list[Document]) -> None:
        """Remove the entries of a write that lost its race (only ever this writer's: see _stage)."""
        if entries:
            await self.outbox.delete_many(
                {
                    "_id": {"$in": [entry["_id"] for entry in entries]},
                    "event.id": {"$in": [entry["event"]["id"] for entry in entries]},
                }
            )

    async def create(
        self,
        aggregate_id: str,
        state: Document,
        events: Sequence[EventData] = (),
        *,
        caused_by: str | None = None,
    ) -> bool:
        """Insert a new aggregate at version 1; False if it already exists."""
        entries = self._entries(aggregate_id, events, 1)
        if not await self._stage(entries):
            await self._withdraw(entries)
            return False
        document = {
            **state,
            "_id": aggregate_id,
            "version": 1,
            "outbox_seq": len(events),
            "seen_events": [caused_by] if caused_by else [],
        }
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError:
            await self._withdraw(entries)
            return False
        await self._committed(aggregate_id, 1, len(events))
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
        first_seq = current.get("outbox_seq", 0) + 1
        entries = self._entries(current["_id"], events, first_seq)
        if not await self._stage(entries):
            await self._withdraw(entries)
            return False
        update: Document = {"$set": self._next(current, changes, events, [caused_by] if caused_by else [])}
        if unset:
            update["$unset"] = dict.fromkeys(unset, "")
        result = await self.collection.update_one(
            {"_id": current["_id"], "version": current["version"]}, update
        )
        if result.matched_count == 0:
            await self._withdraw(entries)
            return False
        await self._committed(current["_id"], first_seq, len(events))
        self._notify(events)
        return True

    async def _committed(self, aggregate_id: str, first_seq: int, count: int) -> None:
        if count:
            await self._record_commit(
                [_entry_id(aggregate_id, seq) for seq in range(first_seq, first_seq + count)]
            )

    async def _record_commit(self, entry_ids: list[str]) -> None:
        """Tell the relay these entries' writes landed: one small insert, however many entries.

        A crash before this is covered by the relay checking the aggregate's ``outbox_seq``.
        """
        if entry_ids:
            await self.commits.insert_one({"entries": entry_ids, "created_at": datetime.now(UTC)})

    @staticmethod
    def _next(
        current: Document, changes: Document, events: Sequence[EventData], caused_by: Sequence[str]
    ) -> Document:
        """The fields a version-guarded write of ``current`` sets."""
        seen = [*current.get("seen_events", []), *caused_by][-SEEN_EVENTS_KEPT:]
        return {
            **changes,
            "version": current["version"] + 1,
            "outbox_seq": current.get("outbox_seq", 0) + len(events),
            "seen_events": seen,
        }

    async def get_many(self, aggregate_ids: Sequence[str]) -> dict[str, Document]:
        cursor = self.collection.find({"_id": {"$in": list(aggregate_ids)}})
        return {document["_id"]: document async for document in cursor}

    async def write_many(self, writes: Sequence[AggregateWrite]) -> list[bool]:
        """Many aggregates' writes in two bulk operations; per write, whether it landed.

        Same rules as :meth:`create` and :meth:`update`, for throughput (batch consumers).
        It relies on the single writer per aggregate (one consumer per partition, serialised
        in-process) to tell its own landed writes from lost races by the resulting version.
        """
        entries = [
            entry
            for write in writes
            for entry in self._entries(
                write.aggregate_id, write.events, (write.current or {}).get("outbox_seq", 0) + 1
            )
        ]
        if entries:
            # Inserted in one go; a leftover of a write that never landed is replaced.
            try:
                await self.outbox.insert_many(entries, ordered=False)
            except BulkWriteError as error:
                for failure in error.details.get("writeErrors", []):
                    entry = entries[failure["index"]]
                    await self.outbox.replace_one({"_id": entry["_id"]}, entry, upsert=True)
        operations: list[InsertOne[Document] | UpdateOne] = []
        for write in writes:
            if write.current is None:
                operations.append(
                    InsertOne(
                        {
                            **write.state,
                            "_id": write.aggregate_id,
                            "version": 1,
                            "outbox_seq": len(write.events),
                            "seen_events": list(write.caused_by)[-SEEN_EVENTS_KEPT:],
                        }
                    )
                )
            else:
                fields = self._next(write.current, write.state, write.events, write.caused_by)
                operations.append(
                    UpdateOne(
                        {"_id": write.aggregate_id, "version": write.current["version"]}, {"$set": fields}
                    )
                )
        if not operations:
            return []
        result: Mapping[str, Any]
        try:
            result = (await self.collection.bulk_write(operations, ordered=False)).bulk_api_result
        except BulkWriteError as error:
            result = error.details
        if result.get("nInserted", 0) + result.get("nMatched", 0) == len(writes):
            landed = [True] * len(writes)
        else:  # some lost a race: tell them apart by the version they left behind
            stored = await self.get_many([write.aggregate_id for write in writes])
            landed = [
                stored.get(w.aggregate_id, {}).get("version")
                == (w.current["version"] + 1 if w.current else 1)
                for w in writes
            ]
        committed = [
            _entry_id(write.aggregate_id, seq)
            for write, ok in zip(writes, landed, strict=True)
            if ok
            for seq in range(
                (write.current or {}).get("outbox_seq", 0) + 1,
                (write.current or {}).get("outbox_seq", 0) + 1 + len(write.events),
            )
        ]
        await self._record_commit(committed)
        self._notify(
            [event for write, ok in zip(writes, landed, strict=True) if ok for event in write.events]
        )
        return landed

    def _notify(self, events: Sequence[EventData]) -> None:
        if events and self._on_write is not None:
            self._on_write.set()


class OutboxRelay:
    """Publishes committed outbox entries of the given aggregate collections, in order."""

    def __init__(
        self,
        broker: KafkaBroker,
        collections: Sequence[AsyncCollection[Document]],
        *,
        poll_interval_s: float = 0.5,
        batch_size: int = 1000,
        wake: asyncio.Event | None = None,
    ) -> None:
        self.broker = broker
        self.collections = list(collections)
        self.poll_interval_s = poll_interval_s
        self.batch_size = batch_size
        self.wake = wake or asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # One relay per collection across replicas (see relay_lease): this relay's leases.
        self.leases = [RelayLease(collection) for collection in self.collections]

    async def drain_once(self) -> int:
        """Publish what is committed now; returns the number of events published."""
        published = 0
        for collection, lease in zip(self.collections, self.leases, strict=True):
            outbox = outbox_of(collection)
            entries = await outbox.find({}).sort("_id", ASCENDING).limit(self.batch_size).to_list()
            if not entries or not await lease.hold():
                continue
            commits = await commits_of(collection).find({}).to_list()
            committed = {entry_id for commit in commits for entry_id in commit["entries"]}
            ready, orphans = await self._sort_out(collection, entries, committed)
            futures = [await self._send(entry) for entry in ready]
            await asyncio.gather(*futures)
            done = [entry["_id"] for entry in ready] + orphans
            if done:
                await outbox.delete_many({"_id": {"$in": done}})
            # A commit record is spent once none of its entries is left to publish.
            finished = set(done)
            left = {e["_id"] for e in entries} - finished
            complete = len(entries) < self.batch_size
            spent = [
                c["_id"]
                for c in commits
                if all(eid not in left and (complete or eid in finished) for eid in c["entries"])
            ]
            if spent:
                await commits_of(collection).delete_many({"_id": {"$in": spent}})
            published += len(ready)
        return published

    @staticmethod
    async def _sort_out(
        collection: AsyncCollection[Document], entries: list[Document], committed: set[str]
    ) -> tuple[list[Document], list[str]]:
        """Entries to publish now (in order) and leftovers of writes that never landed.

        Entries named by a commit record are committed. Another one is either in flight (its write is
        under way), a leftover, or committed by a writer that crashed before flagging it: once
        it is a few seconds old, its aggregate's ``outbox_seq`` tells.
        """
        now = datetime.now(UTC)
        settled_before = now - UNFLAGGED_GRACE
        unclear = {
            e["aggregate_id"]
            for e in entries
            if e["_id"] not in committed and _as_utc(e["created_at"]) < settled_before
        }
        outbox_seq = {}
        for aggregate_id in unclear:
            document = await collection.find_one({"_id": aggregate_id}, {"outbox_seq": 1})
            outbox_seq[aggregate_id] = document.get("outbox_seq", 0) if document else 0
        ready, orphans, blocked = [], [], set()
        for entry in entries:
            aggregate_id = entry["aggregate_id"]
            if aggregate_id in blocked:
                continue  # keep each aggregate's events in order
            if entry["_id"] in committed or entry["seq"] <= outbox_seq.get(aggregate_id, -1):
                ready.append(entry)
            elif _as_utc(entry["created_at"]) < now - ORPHAN_AFTER:
                orphans.append(entry["_id"])
            else:
                blocked.add(aggregate_id)
        return ready, orphans

    async def _send(self, entry: Document) -> "asyncio.Future[Any]":
        event = CloudEvent.model_validate(entry["event"])
        record = encode(event, key=entry["key"])
        headers = {name: value.decode() for name, value in record.headers.items()}
        future: asyncio.Future[Any] = await self.broker.publish(
            record.value, topic=entry["topic"], key=record.key, headers=headers, no_confirm=True
        )
        EVENTS_PUBLISHED.labels(entry["topic"], event.type).inc()
        return future

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
        for lease in self.leases:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(lease.release(), 5)


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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

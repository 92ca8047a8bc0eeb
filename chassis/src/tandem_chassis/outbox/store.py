"""The aggregate store: an aggregate's state and the events it causes, in two writes.

A write first *stages* its events as outbox documents in ``<collection>_outbox``, keyed by
(aggregate id, sequence number), then updates the aggregate in one single-document write
guarded by its ``version``, which also advances the aggregate's ``outbox_seq``. When that write
landed, the writer inserts one *commit record* into ``<collection>_outbox_commits`` naming the
entries it committed. Entries of a write that lost the race or never happened are never named
and the next write of the same sequence number replaces them; a writer that crashed between its
write and its commit record is covered by the relay reading ``outbox_seq`` (see
:mod:`~tandem_chassis.outbox.policy`).
"""

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError
from tandem_contracts import EventData, new_event
from tandem_contracts.registry import type_of

from tandem_chassis.mongo import insert_new

__all__ = [
    "AggregateStore",
    "AggregateWrite",
    "Document",
    "Upsert",
    "commits_of",
    "entry_id",
    "outbox_of",
    "stored_versions",
    "upsert_if_newer",
    "upsert_many_if_newer",
    "write_newer",
]

Document = dict[str, Any]
SEEN_EVENTS_KEPT = 64
IN_FLIGHT = timedelta(seconds=10)  # a staged entry younger than this may be a concurrent writer's


def outbox_of(collection: AsyncCollection[Document]) -> AsyncCollection[Document]:
    """The outbox collection of an aggregate collection."""
    return collection.database[f"{collection.name}_outbox"]


def commits_of(collection: AsyncCollection[Document]) -> AsyncCollection[Document]:
    """Where writers record which outbox entries their landed writes committed."""
    return collection.database[f"{collection.name}_outbox_commits"]


def entry_id(aggregate_id: str, seq: int) -> str:
    """An entry's ``_id``: sorting by it orders entries by aggregate, then sequence."""
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
                    "_id": entry_id(aggregate_id, seq),
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
        update: Document = {"$set": _next_fields(current, changes, events, [caused_by] if caused_by else [])}
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
                [entry_id(aggregate_id, seq) for seq in range(first_seq, first_seq + count)]
            )

    async def _record_commit(self, entry_ids: list[str]) -> None:
        """Tell the relay these entries' writes landed: one small insert, however many entries.

        A crash before this is covered by the relay checking the aggregate's ``outbox_seq``.
        """
        if entry_ids:
            await self.commits.insert_one({"entries": entry_ids, "created_at": datetime.now(UTC)})

    async def get_many(self, aggregate_ids: Sequence[str]) -> dict[str, Document]:
        cursor = self.collection.find({"_id": {"$in": list(aggregate_ids)}})
        return {document["_id"]: document async for document in cursor}

    async def write_many(self, writes: Sequence[AggregateWrite]) -> list[bool]:
        """Many aggregates' writes in two bulk operations; per write, whether it landed.

        Same rules as :meth:`create` and :meth:`update`, for throughput (batch consumers).
        It relies on the single writer per aggregate (one consumer per partition, serialised
        in-process) to tell its own landed writes from lost races by the resulting version.
        """
        await self._stage_many(
            [
                entry
                for write in writes
                for entry in self._entries(write.aggregate_id, write.events, _first_seq(write))
            ]
        )
        if not writes:
            return []
        operations = [_operation(write) for write in writes]
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
        done = [write for write, ok in zip(writes, landed, strict=True) if ok]
        await self._record_commit(
            [
                entry_id(write.aggregate_id, _first_seq(write) + offset)
                for write in done
                for offset in range(len(write.events))
            ]
        )
        self._notify([event for write in done for event in write.events])
        return landed

    async def _stage_many(self, entries: list[Document]) -> None:
        """Insert entries in one go; a leftover of a write that never landed is replaced."""
        if not entries:
            return
        try:
            await self.outbox.insert_many(entries, ordered=False)
        except BulkWriteError as error:
            for failure in error.details.get("writeErrors", []):
                entry = entries[failure["index"]]
                await self.outbox.replace_one({"_id": entry["_id"]}, entry, upsert=True)

    def _notify(self, events: Sequence[EventData]) -> None:
        if events and self._on_write is not None:
            self._on_write.set()


def _next_fields(
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


def _first_seq(write: AggregateWrite) -> int:
    """The sequence number of the write's first event."""
    return int((write.current or {}).get("outbox_seq", 0)) + 1


def _operation(write: AggregateWrite) -> InsertOne[Document] | UpdateOne:
    """The bulk-write operation of one write: insert at version 1, or a version-guarded update."""
    if write.current is None:
        return InsertOne(
            {
                **write.state,
                "_id": write.aggregate_id,
                "version": 1,
                "outbox_seq": len(write.events),
                "seen_events": list(write.caused_by)[-SEEN_EVENTS_KEPT:],
            }
        )
    fields = _next_fields(write.current, write.state, write.events, write.caused_by)
    return UpdateOne({"_id": write.aggregate_id, "version": write.current["version"]}, {"$set": fields})


async def upsert_if_newer(
    collection: AsyncCollection[Document], key: str, version: int, fields: Document
) -> bool:
    """Store a snapshot unless an equal or newer version is there; True if it was stored."""
    return await _store(collection, Upsert(key, version, fields))


@dataclass(frozen=True)
class Upsert:
    """One snapshot for :func:`upsert_many_if_newer`: ``fields`` to set, ``unset`` to drop."""

    key: str
    version: int
    fields: Document
    unset: tuple[str, ...] = ()

    def document(self) -> Document:
        """The snapshot as a new document (nothing to unset)."""
        return {**self.fields, "_id": self.key, "version": self.version}

    def update(self) -> Document:
        update: Document = {"$set": {**self.fields, "version": self.version}}
        if self.unset:
            update["$unset"] = dict.fromkeys(self.unset, "")
        return update


async def upsert_many_if_newer(
    collection: AsyncCollection[Document], snapshots: Sequence[Upsert]
) -> set[str]:
    """:func:`upsert_if_newer` for a batch: one read of the stored versions (by ``_id``), then
    :func:`write_newer` of the newest snapshot per key that is newer than the stored one. The keys
    stored."""
    newest: dict[str, Upsert] = {}
    for snapshot in snapshots:
        known = newest.get(snapshot.key)
        if known is None or snapshot.version > known.version:
            newest[snapshot.key] = snapshot
    if not newest:
        return set()
    stored = await stored_versions(collection, list(newest))
    return await write_newer(
        collection, [s for s in newest.values() if stored.get(s.key, 0) < s.version], stored
    )


async def stored_versions(collection: AsyncCollection[Document], keys: Sequence[str]) -> dict[str, int]:
    """The stored ``version`` of each of ``keys`` that is stored (one ``_id $in`` read)."""
    return {
        d["_id"]: d.get("version", 0)
        async for d in collection.find({"_id": {"$in": list(keys)}}, {"version": 1})
    }


async def write_newer(
    collection: AsyncCollection[Document], snapshots: Sequence[Upsert], stored: Mapping[str, int]
) -> set[str]:
    """Store ``snapshots`` (one per key, each newer than ``stored`` said): one insert of the keys
    not stored yet, one bulk write of version-guarded upserts of the others and of the keys another
    writer inserted since the read. An insert costs the local store a tenth of an upsert, and a
    projection mostly hears of new keys. The keys stored."""
    new = [s for s in snapshots if s.key not in stored]
    skipped = await insert_new(collection, [s.document() for s in new])
    inserted = {s.key for i, s in enumerate(new) if i not in skipped}
    fresh = [s for s in snapshots if s.key in stored] + [new[i] for i in sorted(skipped)]
    if not fresh:
        return inserted
    writes = [
        UpdateOne({"_id": s.key, "version": {"$lt": s.version}}, s.update(), upsert=True) for s in fresh
    ]
    try:
        await collection.bulk_write(writes, ordered=False)
    # A newer version landed since the read (a duplicate key on the upsert). FerretDB then answers
    # without nModified, which pymongo reports as a KeyError: redo them one by one.
    except (BulkWriteError, KeyError):
        for snapshot in fresh:  # the unordered bulk write may have stored some: idempotent
            await _store(collection, snapshot)
        now = await stored_versions(collection, [s.key for s in fresh])
        return inserted | {s.key for s in fresh if now.get(s.key) == s.version}
    return inserted | {s.key for s in fresh}


async def _store(collection: AsyncCollection[Document], snapshot: Upsert) -> bool:
    try:
        result = await collection.update_one(
            {"_id": snapshot.key, "version": {"$lt": snapshot.version}}, snapshot.update(), upsert=True
        )
    except DuplicateKeyError:
        return False  # the stored version is equal or newer: a stale or repeated event
    return result.upserted_id is not None or result.modified_count > 0


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

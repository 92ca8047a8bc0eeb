"""Outcomes of dispatcher passes (collection ``dispatch_batches``): aggregates with an outbox.

One document per pass records which deliveries were delivered, failed or rescheduled, and
carries their ``notification.delivered`` / ``notification.failed`` events in its outbox: the
fact and its events are one single-document write. Applying it to the deliveries comes after
and is repeated after a crash (``unapplied``), so the two never disagree for long.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from tandem_chassis import AggregateStore
from tandem_chassis.outbox import AggregateWrite
from tandem_contracts import EventData

__all__ = ["OutcomeLog"]

Document = dict[str, Any]


class OutcomeLog:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    async def create_indexes(self) -> None:
        await self.store.create_indexes()
        await self.store.collection.create_index([("applied", ASCENDING)])

    async def record(self, batch_id: str, outcome: Document, events: Sequence[EventData]) -> None:
        # write_many stages the outbox entries with one insert_many (create inserts them one by one)
        await self.store.write_many([AggregateWrite(batch_id, None, {**outcome, "applied": False}, events)])

    async def unapplied(self) -> list[Document]:
        return await self.store.collection.find({"applied": False}).to_list()

    async def applied(self, batch_id: str, *, at: datetime) -> None:
        await self.store.collection.update_one(
            {"_id": batch_id}, {"$set": {"applied": True, "applied_at": at}}
        )

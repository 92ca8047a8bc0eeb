"""Programs (aggregates with an outbox for ``tandem.programs``) and their rounds."""

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from tandem_chassis import AggregateStore
from tandem_contracts import ProgramCreated, RoundCompleted

__all__ = ["ProgramRepository", "RoundRepository"]

Document = dict[str, Any]


class ProgramRepository:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store
        self.collection = store.collection

    async def create_indexes(self) -> None:
        await self.store.create_indexes()
        await self.collection.create_index([("created_at", ASCENDING)])

    async def get(self, program_id: str) -> Document | None:
        return await self.store.get(program_id)

    async def create(self, program_id: str, state: Document, event: ProgramCreated) -> bool:
        return await self.store.create(program_id, state, [event])

    async def save(
        self,
        current: Document,
        changes: Document,
        *,
        completed: RoundCompleted | None = None,
        caused_by: str | None = None,
    ) -> bool:
        events = [completed] if completed is not None else []
        return await self.store.update(current, changes, events, caused_by=caused_by)

    async def list(self, *, limit: int) -> list[Document]:
        cursor = self.collection.find({}).sort("created_at", DESCENDING).limit(limit)
        return await cursor.to_list()


class RoundRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("program_id", ASCENDING), ("started_at", ASCENDING)])

    async def put(self, round_id: str, state: Document) -> None:
        await self.collection.replace_one({"_id": round_id}, {**state, "_id": round_id}, upsert=True)

    async def get(self, round_id: str) -> Document | None:
        return await self.collection.find_one({"_id": round_id})

    async def claim_lease(self, program_id: str, holder: str, *, now: datetime, lease: timedelta) -> bool:
        """Take the program's round lease, shared by every replica through the store; False while
        another holder has it and it has not run out (a crashed holder's lease does, in time)."""
        key, until = f"lease:{program_id}", now + lease
        try:
            await self.collection.insert_one({"_id": key, "holder": holder, "until": until})
            return True
        except DuplicateKeyError:
            taken = await self.collection.update_one(
                {"_id": key, "until": {"$lt": now}}, {"$set": {"holder": holder, "until": until}}
            )
            return taken.modified_count == 1

    async def release_lease(self, program_id: str, holder: str) -> None:
        await self.collection.delete_one({"_id": f"lease:{program_id}", "holder": holder})

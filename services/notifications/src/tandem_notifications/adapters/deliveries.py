"""Deliveries (collection ``deliveries``): one document per (event, recipient, channel).

FerretDB 1.24 on SQLite scans a collection for every update or delete, so state transitions
are batched (``update_many`` over a batch of ids) instead of one update per delivery.
"""

import base64
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from tandem_notifications.domain.delivery import CANCELLED, PENDING

__all__ = ["DeliveryRepository", "InboxPage"]

Document = dict[str, Any]
DUPLICATE_KEY = 11000
PERSONAL_FIELDS = ("to", "subject", "text", "html", "body")


class InboxPage:
    def __init__(self, items: list[Document], next_cursor: str | None, unread: int) -> None:
        self.items, self.next_cursor, self.unread = items, next_cursor, unread


class DeliveryRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("status", ASCENDING), ("channel", ASCENDING), ("next_attempt_at", ASCENDING)])
        await self.collection.create_index([("recipient_id", ASCENDING), ("channel", ASCENDING), ("inbox_key", DESCENDING)])

    async def add(self, documents: Sequence[Document]) -> int:
        """Insert new deliveries; ones that exist already (a redelivered event) are left alone."""
        if not documents:
            return 0
        try:
            result = await self.collection.insert_many(list(documents), ordered=False)
        except BulkWriteError as error:
            others = [e for e in error.details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY]
            if others:
                raise
            return int(error.details.get("nInserted", 0))
        return len(result.inserted_ids)

    async def due(self, channel: str, *, now: datetime, limit: int) -> list[Document]:
        cursor = self.collection.find(
            {"status": PENDING, "channel": channel, "next_attempt_at": {"$lte": now}}, limit=limit
        )
        return await cursor.to_list()

    async def claim(self, documents: Sequence[Document], *, token: str, lease_until: datetime, now: datetime) -> list[Document]:
        """Lease due deliveries to this dispatcher pass (one write for the whole batch)."""
        ids = [document["_id"] for document in documents]
        await self.collection.update_many(
            {"_id": {"$in": ids}, "status": PENDING, "next_attempt_at": {"$lte": now}},
            {"$set": {"next_attempt_at": lease_until, "lease": token}, "$inc": {"attempts": 1}},
        )
        return await self.collection.find({"_id": {"$in": ids}, "lease": token, "status": PENDING}).to_list()

    async def mark(self, ids: Iterable[str], status: str, *, at: datetime, error: str | None = None) -> None:
        ids = list(ids)
        if not ids:
            return
        changes: Document = {"status": status, "finished_at": at}
        if error is not None:
            changes["last_error"] = error
        await self.collection.update_many({"_id": {"$in": ids}, "status": PENDING}, {"$set": changes})

    async def reschedule(self, ids: Iterable[str], *, at: datetime, error: str) -> None:
        ids = list(ids)
        if ids:
            await self.collection.update_many(
                {"_id": {"$in": ids}, "status": PENDING},
                {"$set": {"next_attempt_at": at, "last_error": error}},
            )

    async def get(self, delivery_id: str) -> Document | None:
        return await self.collection.find_one({"_id": delivery_id})

    async def find(self, query: Document) -> list[Document]:
        return await self.collection.find(query).to_list()

    # --- the in-app inbox ---

    async def inbox(self, recipient_id: str, *, limit: int, cursor: str | None) -> InboxPage:
        query: Document = {"recipient_id": recipient_id, "channel": "inapp", "status": {"$ne": CANCELLED}}
        if cursor:
            query["inbox_key"] = {"$lt": base64.urlsafe_b64decode(cursor.encode()).decode()}
        found = await self.collection.find(query).sort("inbox_key", DESCENDING).limit(limit + 1).to_list()
        page = found[:limit]
        more = len(found) > limit
        next_cursor = base64.urlsafe_b64encode(page[-1]["inbox_key"].encode()).decode() if more and page else None
        unread = await self.collection.count_documents(
            {"recipient_id": recipient_id, "channel": "inapp", "read": False, "status": {"$ne": CANCELLED}}
        )
        return InboxPage(page, next_cursor, unread)

    async def mark_read(self, delivery_id: str, *, at: datetime) -> None:
        await self.collection.update_one({"_id": delivery_id, "read": False}, {"$set": {"read": True, "read_at": at}})

    # --- leavers ---

    async def cancel_pending(self, recipient_id: str, *, at: datetime) -> None:
        await self.collection.update_many(
            {"recipient_id": recipient_id, "status": PENDING},
            {"$set": {"status": CANCELLED, "finished_at": at, "last_error": "recipient inactive"}},
        )

    async def erase(self, recipient_id: str, *, at: datetime) -> int:
        """Delete the inbox and the personal content of every other delivery to the recipient."""
        await self.cancel_pending(recipient_id, at=at)
        deleted = await self.collection.delete_many({"recipient_id": recipient_id, "channel": "inapp"})
        await self.collection.update_many(
            {"recipient_id": recipient_id},
            {"$unset": dict.fromkeys(PERSONAL_FIELDS, ""), "$set": {"erased": True}},
        )
        return deleted.deleted_count


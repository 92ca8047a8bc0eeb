"""Webhook subscriptions (collection ``webhooks``), cached briefly for the event handlers."""

import time
import uuid
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

__all__ = ["WebhookRepository"]

Document = dict[str, Any]


class WebhookRepository:
    def __init__(self, collection: AsyncCollection[Document], *, cache_s: float = 5.0) -> None:
        self.collection = collection
        self.cache_s = cache_s
        self._cached: list[Document] | None = None
        self._cached_at = 0.0

    async def add(
        self, *, url: str, secret: str, event_types: list[str], created_by: str, at: datetime
    ) -> Document:
        document = {
            "_id": f"wh-{uuid.uuid4().hex[:16]}",
            "url": url,
            "secret": secret,
            "event_types": sorted(set(event_types)),
            "created_by": created_by,
            "created_at": at,
            "active": True,
        }
        await self.collection.insert_one(document)
        self._cached = None
        return document

    async def remove(self, webhook_id: str) -> bool:
        result = await self.collection.update_one(
            {"_id": webhook_id, "active": True}, {"$set": {"active": False}}
        )
        self._cached = None
        return result.matched_count == 1

    async def get(self, webhook_id: str) -> Document | None:
        return await self.collection.find_one({"_id": webhook_id})

    async def active(self) -> list[Document]:
        if self._cached is None or time.monotonic() - self._cached_at > self.cache_s:
            self._cached = await self.collection.find({"active": True}).to_list()
            self._cached_at = time.monotonic()
        return self._cached

    async def subscribed_to(self, event_type: str) -> list[Document]:
        return [hook for hook in await self.active() if event_type in hook["event_types"]]

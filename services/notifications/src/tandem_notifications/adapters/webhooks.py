"""Webhook subscriptions (collection ``webhooks``), cached briefly for the event handlers."""

import dataclasses
import time

from pymongo.asynchronous.collection import AsyncCollection

from tandem_notifications.adapters.mongo import DatabaseOf, Document
from tandem_notifications.domain.webhook import Webhook

__all__ = ["MongoWebhooks"]

COLLECTION = "webhooks"


def to_document(webhook: Webhook) -> Document:
    document = dataclasses.asdict(webhook)
    document["_id"] = document.pop("id")
    return document


def from_document(d: Document) -> Webhook:
    return Webhook(
        id=d["_id"],
        url=d["url"],
        secret=d["secret"],
        event_types=list(d["event_types"]),
        created_by=d["created_by"],
        created_at=d["created_at"],
        active=d.get("active", False),
    )


class MongoWebhooks:
    def __init__(self, database: DatabaseOf, *, cache_s: float = 5.0) -> None:
        self._database = database
        self.cache_s = cache_s
        self._cached: list[Webhook] | None = None
        self._cached_at = 0.0

    @property
    def collection(self) -> AsyncCollection[Document]:
        return self._database()[COLLECTION]

    async def add(self, webhook: Webhook) -> None:
        await self.collection.insert_one(to_document(webhook))
        self._cached = None

    async def remove(self, webhook_id: str) -> bool:
        result = await self.collection.update_one(
            {"_id": webhook_id, "active": True}, {"$set": {"active": False}}
        )
        self._cached = None
        return result.matched_count == 1

    async def get(self, webhook_id: str) -> Webhook | None:
        found = await self.collection.find_one({"_id": webhook_id})
        return from_document(found) if found else None

    async def active(self) -> list[Webhook]:
        if self._cached is None or time.monotonic() - self._cached_at > self.cache_s:
            found = await self.collection.find({"active": True}).to_list()
            self._cached = [from_document(document) for document in found]
            self._cached_at = time.monotonic()
        return self._cached

    async def subscribed_to(self, event_type: str) -> list[Webhook]:
        return [hook for hook in await self.active() if hook.wants(event_type)]

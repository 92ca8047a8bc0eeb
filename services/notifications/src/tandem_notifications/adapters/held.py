"""Held notices (collection ``held_notices``): notifications for someone not projected yet.

Topics are ordered only within themselves, so a mentorship event can arrive before the profile
event that introduces its mentor (a consumer catching up after a restart reads both topics at
once). Such a notification waits here, one document per (event, recipient, variant), until the
recipient's profile is projected; it is then recorded like any other, or dropped if the person
turns out to have left. ``_id`` is deterministic, so a redelivered event holds nothing twice.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from tandem_notifications.adapters.deliveries import insert_new

__all__ = ["HeldNotices"]

Document = dict[str, Any]


class HeldNotices:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("recipient_id", ASCENDING)])

    async def hold(self, documents: Sequence[Document]) -> None:
        await insert_new(self.collection, list(documents))

    async def of(self, recipient_ids: Iterable[str]) -> list[Document]:
        ids = sorted(set(recipient_ids))
        if not ids:
            return []
        return await self.collection.find({"recipient_id": {"$in": ids}}).to_list()

    async def drop(self, held_ids: Iterable[str]) -> None:
        ids = list(held_ids)
        if ids:
            await self.collection.delete_many({"_id": {"$in": ids}})

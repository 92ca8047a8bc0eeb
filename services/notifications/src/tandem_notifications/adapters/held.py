"""Held notices (collection ``held_notices``): notifications for someone not projected yet.

Topics are ordered only within themselves, so a mentorship event can arrive before the profile
event that introduces its mentor (a consumer catching up after a restart reads both topics at
once). Such a notification waits here, one document per (event, recipient, variant), until the
recipient's profile is projected; it is then recorded like any other, or dropped if the person
turns out to have left. ``_id`` is deterministic, so a redelivered event holds nothing twice.
"""

from collections.abc import Iterable, Sequence

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from tandem_notifications.adapters.mongo import (
    DatabaseOf,
    Document,
    attachment_document,
    attachment_of,
    insert_new,
)
from tandem_notifications.domain.kinds import Intent
from tandem_notifications.domain.notices import HeldNotice

__all__ = ["MongoHeldNotices"]

COLLECTION = "held_notices"


def to_document(held: HeldNotice) -> Document:
    intent = held.intent
    return {
        "_id": held.id,
        "recipient_id": intent.recipient_id,
        "kind": intent.kind,
        "context": dict(intent.context),
        "counterpart_id": intent.counterpart_id,
        "variant": intent.variant,
        "channels": list(intent.channels) if intent.channels is not None else None,
        "attachment": attachment_document(intent.attachment),
        "event_id": held.event_id,
        "event_type": held.event_type,
        "event_time": held.event_time,
    }


def from_document(d: Document) -> HeldNotice:
    channels = d.get("channels")
    intent = Intent(
        d["kind"],
        d["recipient_id"],
        d["context"],
        d["counterpart_id"],
        d["variant"],
        channels=tuple(channels) if channels is not None else None,
        attachment=attachment_of(d.get("attachment")),
    )
    return HeldNotice(d["_id"], intent, d["event_id"], d["event_type"], d["event_time"])


class MongoHeldNotices:
    def __init__(self, database: DatabaseOf) -> None:
        self._database = database

    @property
    def collection(self) -> AsyncCollection[Document]:
        return self._database()[COLLECTION]

    async def create_indexes(self) -> None:
        await self.collection.create_index([("recipient_id", ASCENDING)])

    async def hold(self, notices: Sequence[HeldNotice]) -> None:
        await insert_new(self.collection, [to_document(held) for held in notices])

    async def of(self, recipient_ids: Iterable[str]) -> list[HeldNotice]:
        ids = sorted(set(recipient_ids))
        if not ids:
            return []
        found = await self.collection.find({"recipient_id": {"$in": ids}}).to_list()
        return [from_document(document) for document in found]

    async def drop(self, held_ids: Iterable[str]) -> None:
        ids = list(held_ids)
        if ids:
            await self.collection.delete_many({"_id": {"$in": ids}})

"""Deliveries (collection ``deliveries``): one document per (event, recipient, channel).

The delivery document is the truth. Finding what is due must not scan it (FerretDB scans a
collection for any filter other than ``_id``), so pending deliveries also have a small entry in
``delivery_queue`` (``_id`` = the delivery id, ``channel``, ``due``) that is removed once the
delivery is finished. The queue is only an index: a delivery is sent only after it was leased
by an ``_id``-guarded update of the delivery itself, and a queue entry whose delivery is no
longer pending is dropped. Every write after recording goes by ``_id`` (``$in`` over a batch).
"""

import base64
import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from tandem_chassis.mongo import id_chunks

from tandem_notifications.adapters.mongo import (
    DatabaseOf,
    Document,
    attachment_document,
    attachment_of,
    insert_new,
)
from tandem_notifications.domain.delivery import CANCELLED, DELIVERED, PENDING, Delivery, InboxPage

__all__ = ["MongoDeliveries"]

COLLECTION = "deliveries"
QUEUE = "delivery_queue"
_CONTENT = ("subject", "text", "to", "html", "body", "read", "inbox_key", "last_error")
PERSONAL_FIELDS = ("to", "subject", "text", "html", "body", "attachment")  # what erasure removes


def to_document(delivery: Delivery) -> Document:
    document: Document = {
        "_id": delivery.id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "event_time": delivery.event_time,
        "created_at": delivery.created_at,
        "kind": delivery.kind,
        "channel": delivery.channel,
        "recipient_id": delivery.recipient_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
    }
    for name in _CONTENT:
        value = getattr(delivery, name)
        if value is not None:
            document[name] = value
    if delivery.attachment is not None:
        document["attachment"] = attachment_document(delivery.attachment)
    return document


def from_document(document: Document) -> Delivery:
    return Delivery(
        id=document["_id"],
        event_id=document["event_id"],
        event_type=document["event_type"],
        event_time=document["event_time"],
        created_at=document["created_at"],
        kind=document["kind"],
        channel=document["channel"],
        recipient_id=document["recipient_id"],
        next_attempt_at=document["next_attempt_at"],
        status=document["status"],
        attempts=document.get("attempts", 0),
        attachment=attachment_of(document.get("attachment")),
        **{name: document.get(name) for name in _CONTENT},
    )


class MongoDeliveries:
    def __init__(self, database: DatabaseOf) -> None:
        self._database = database

    @property
    def collection(self) -> AsyncCollection[Document]:
        return self._database()[COLLECTION]

    @property
    def queue(self) -> AsyncCollection[Document]:
        return self._database()[QUEUE]

    async def create_indexes(self) -> None:
        await self.collection.create_index(
            [("recipient_id", ASCENDING), ("channel", ASCENDING), ("inbox_key", DESCENDING)]
        )
        await self.queue.create_index([("channel", ASCENDING), ("due", ASCENDING)])

    async def add(self, deliveries: Sequence[Delivery]) -> int:
        """Insert new deliveries and queue the pending ones; returns how many were new.

        A redelivered event inserts nothing; its deliveries still pending (a crash between the
        two inserts) are queued again (a queue entry already there stays as it is), finished
        ones are not.
        """
        if not deliveries:
            return 0
        documents = [to_document(delivery) for delivery in deliveries]
        existing = await insert_new(self.collection, documents)
        pending = [d for i, d in enumerate(documents) if i not in existing and d["status"] == PENDING]
        if existing:
            ids = [documents[i]["_id"] for i in existing]
            pending += await self.collection.find(
                {"_id": {"$in": ids}, "status": PENDING}, {"channel": 1, "next_attempt_at": 1, "attempts": 1}
            ).to_list()
        await insert_new(
            self.queue,
            [
                {
                    "_id": d["_id"],
                    "channel": d["channel"],
                    "due": d["next_attempt_at"],
                    "attempts": d.get("attempts", 0),
                }
                for d in pending
            ],
        )
        return len(documents) - len(existing)

    async def existing(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are recorded already (read by ``_id`` in chunks the store looks up)."""
        found: set[str] = set()
        for chunk in id_chunks(list(ids)):
            async for document in self.collection.find({"_id": {"$in": chunk}}, {"_id": 1}):
                found.add(document["_id"])
        return found

    async def due(self, channel: str, *, now: datetime, limit: int) -> list[str]:
        """Ids of deliveries of ``channel`` due at ``now`` (from the small queue)."""
        cursor = self.queue.find({"channel": channel, "due": {"$lte": now}}, {"_id": 1}, limit=limit)
        return [entry["_id"] for entry in await cursor.to_list()]

    async def claim(
        self, ids: Sequence[str], *, token: str, lease_until: datetime, now: datetime
    ) -> list[Delivery]:
        """Lease due deliveries to this dispatcher pass; the leased ones that are still pending.

        The lease and the attempt count are written to the small queue entries (one guarded
        write for the batch), not to the deliveries. Entries whose delivery is no longer
        pending (finished, cancelled, erased) are dropped.
        """
        ids = list(ids)
        if not ids:
            return []
        await self.queue.update_many(
            {"_id": {"$in": ids}, "due": {"$lte": now}},
            {"$set": {"due": lease_until, "lease": token}, "$inc": {"attempts": 1}},
        )
        leased = {
            entry["_id"]: entry["attempts"]
            for entry in await self.queue.find({"_id": {"$in": ids}, "lease": token}).to_list()
        }
        if not leased:
            return []
        found = await self.collection.find({"_id": {"$in": list(leased)}, "status": PENDING}).to_list()
        claimed = [dataclasses.replace(from_document(d), attempts=leased[d["_id"]]) for d in found]
        gone = set(leased) - {delivery.id for delivery in claimed}
        if gone:
            await self.queue.delete_many({"_id": {"$in": list(gone)}})
        return claimed

    async def renew(self, ids: Sequence[str], *, token: str, lease_until: datetime) -> None:
        """Extend a live pass's lease (entries still leased to ``token`` only)."""
        if ids:
            await self.queue.update_many(
                {"_id": {"$in": list(ids)}, "lease": token}, {"$set": {"due": lease_until}}
            )

    async def mark(
        self, attempts: Mapping[str, int], status: str, *, at: datetime, error: str | None = None
    ) -> None:
        """Finish deliveries (id -> attempts made): one write per attempt count, then dequeue."""
        if not attempts:
            return
        by_attempts: dict[int, list[str]] = defaultdict(list)
        for delivery, count in attempts.items():
            by_attempts[count].append(delivery)
        for count, ids in by_attempts.items():
            changes: Document = {"status": status, "finished_at": at, "attempts": count}
            if error is not None:
                changes["last_error"] = error
            # A delivery sent while a leaver's cancel reached it (claimed while still pending) was
            # delivered all the same: the record says what happened, not what was meant to.
            finishing = {"$in": [PENDING, CANCELLED]} if status == DELIVERED else PENDING
            await self.collection.update_many({"_id": {"$in": ids}, "status": finishing}, {"$set": changes})
        await self.queue.delete_many({"_id": {"$in": list(attempts)}})

    async def reschedule(self, ids: Iterable[str], *, at: datetime, error: str, attempts: int) -> None:
        ids = list(ids)
        if ids:
            await self.collection.update_many(
                {"_id": {"$in": ids}, "status": PENDING},
                {"$set": {"next_attempt_at": at, "last_error": error, "attempts": attempts}},
            )
            # The lease ends with the pass: a renewal still in flight must not move the retry.
            await self.queue.update_many(
                {"_id": {"$in": ids}}, {"$set": {"due": at}, "$unset": {"lease": ""}}
            )

    async def get(self, delivery_id: str) -> Delivery | None:
        found = await self.collection.find_one({"_id": delivery_id})
        return from_document(found) if found else None

    # --- the in-app inbox ---

    async def inbox(self, recipient_id: str, *, limit: int, cursor: str | None) -> InboxPage:
        query: Document = {"recipient_id": recipient_id, "channel": "inapp", "status": {"$ne": CANCELLED}}
        if cursor:
            query["inbox_key"] = {"$lt": base64.urlsafe_b64decode(cursor.encode()).decode()}
        found = await self.collection.find(query).sort("inbox_key", DESCENDING).limit(limit + 1).to_list()
        page = [from_document(document) for document in found[:limit]]
        more = len(found) > limit
        last_key = page[-1].inbox_key if more and page else None
        next_cursor = base64.urlsafe_b64encode(last_key.encode()).decode() if last_key else None
        unread = await self.collection.count_documents(
            {"recipient_id": recipient_id, "channel": "inapp", "read": False, "status": {"$ne": CANCELLED}}
        )
        return InboxPage(page, next_cursor, unread)

    async def mark_read(self, delivery_id: str, *, at: datetime) -> None:
        await self.collection.update_one(
            {"_id": delivery_id, "read": False}, {"$set": {"read": True, "read_at": at}}
        )

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
        return int(deleted.deleted_count)

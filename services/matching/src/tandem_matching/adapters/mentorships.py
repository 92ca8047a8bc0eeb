"""Mentorships in MongoDB: one aggregate document each, with its own outbox."""

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING
from tandem_chassis import AggregateStore
from tandem_contracts import (
    MentorshipAccepted,
    MentorshipDeclined,
    MentorshipEnded,
    MentorshipExpired,
    MentorshipProposed,
    MentorshipSnapshot,
)
from tandem_contracts.base import EventData

__all__ = ["CLOSED", "OPEN", "MentorshipRepository"]

Document = dict[str, Any]
OPEN = ("proposed", "accepted")
CLOSED = ("declined", "ended")  # pairs never suggested or proposed again
_EVENT_OF: dict[str, type[MentorshipSnapshot]] = {
    "proposed": MentorshipProposed,
    "accepted": MentorshipAccepted,
    "declined": MentorshipDeclined,
    "expired": MentorshipExpired,
    "ended": MentorshipEnded,
}
_FIELDS = tuple(MentorshipSnapshot.model_fields)


def snapshot_of(document: Document) -> MentorshipSnapshot:
    state = {name: document.get(name) for name in _FIELDS if document.get(name) is not None}
    return MentorshipSnapshot.model_validate(state | {"version": document["version"]})


def _event(snapshot: MentorshipSnapshot) -> EventData:
    return _EVENT_OF[snapshot.status].model_validate(snapshot.model_dump())


def _state(snapshot: MentorshipSnapshot) -> Document:
    return snapshot.model_dump(exclude={"version"})


class MentorshipRepository:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store
        self.collection = store.collection

    async def create_indexes(self) -> None:
        await self.store.create_indexes()
        await self.collection.create_index([("mentee_id", ASCENDING), ("status", ASCENDING)])
        await self.collection.create_index([("mentor_id", ASCENDING), ("status", ASCENDING)])
        await self.collection.create_index([("status", ASCENDING), ("expires_at", ASCENDING)])
        await self.collection.create_index([("program_id", ASCENDING), ("status", ASCENDING)])

    async def get(self, mentorship_id: str) -> Document | None:
        return await self.store.get(mentorship_id)

    async def create(self, snapshot: MentorshipSnapshot) -> bool:
        """Insert a new proposal with its ``mentorship.proposed`` event; False if it exists."""
        snapshot = snapshot.model_copy(update={"version": 1})
        return await self.store.create(snapshot.mentorship_id, _state(snapshot), [_event(snapshot)])

    async def save(self, current: Document, changed: MentorshipSnapshot) -> bool:
        """Write the new state and its event if nobody wrote since ``current``; False otherwise."""
        changed = changed.model_copy(update={"version": current["version"] + 1})
        return await self.store.update(current, _state(changed), [_event(changed)])

    async def forget_message(self, current: Document) -> bool:
        """Drop the personal message (no event: the published ones are immutable history)."""
        return await self.store.update(current, {"message": None})

    async def find(
        self,
        *,
        mentee_id: str | None = None,
        mentee_ids: list[str] | None = None,
        mentor_id: str | None = None,
        program_id: str | None = None,
        statuses: Iterable[str] | None = None,
        limit: int = 0,
    ) -> list[Document]:
        query: Document = {}
        if mentee_id is not None:
            query["mentee_id"] = mentee_id
        if mentee_ids is not None:
            query["mentee_id"] = {"$in": mentee_ids}
        if mentor_id is not None:
            query["mentor_id"] = mentor_id
        if program_id is not None:
            query["program_id"] = program_id
        if statuses is not None:
            query["status"] = {"$in": list(statuses)}
        cursor = self.collection.find(query).sort("_id", ASCENDING)
        if limit:
            cursor = cursor.limit(limit)
        return await cursor.to_list()

    async def of_employee(self, employee_id: str, *, status: str | None, limit: int) -> list[Document]:
        """Mentorships where the employee is mentor or mentee (two simple queries, merged)."""
        statuses = [status] if status else None
        found = await self.find(mentee_id=employee_id, statuses=statuses, limit=limit)
        found += await self.find(mentor_id=employee_id, statuses=statuses, limit=limit)
        found.sort(key=lambda d: d["_id"])
        return found[:limit] if limit else found

    async def due_to_expire(self, now: Any, *, limit: int = 500) -> list[Document]:
        cursor = self.collection.find({"status": "proposed", "expires_at": {"$lte": now}}, {"_id": 1}).limit(
            limit
        )
        return await cursor.to_list()

    async def open_counts(self) -> dict[str, tuple[int, int]]:
        """Per mentor: (open mentorships, of which proposed), counted from the aggregates."""
        pipeline = [
            {"$match": {"status": {"$in": list(OPEN)}}},
            {"$group": {"_id": {"mentor": "$mentor_id", "status": "$status"}, "n": {"$sum": 1}}},
        ]
        counts: dict[str, tuple[int, int]] = {}
        async for row in await self.collection.aggregate(pipeline):
            mentor, status, n = row["_id"]["mentor"], row["_id"]["status"], int(row["n"])
            active, pending = counts.get(mentor, (0, 0))
            counts[mentor] = (active + n, pending + (n if status == "proposed" else 0))
        return counts

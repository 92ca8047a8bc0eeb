"""Per-mentor seat counts, one small document per mentor guarded by a version CAS.

``{_id: mentor_id, version, active, pending}``: ``active`` counts proposed and accepted
mentorships (the seats taken), ``pending`` the proposed ones (the demand on the mentor).
"""

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

__all__ = ["LoadConflictError", "MentorLoadRepository"]

Document = dict[str, Any]
_ATTEMPTS = 20


class LoadConflictError(RuntimeError):
    """The load document kept changing under us (another replica writing)."""


class MentorLoadRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def get(self, mentor_id: str) -> Document | None:
        return await self.collection.find_one({"_id": mentor_id})

    async def _write(self, current: Document | None, mentor_id: str, active: int, pending: int) -> bool:
        if current is None:
            try:
                await self.collection.insert_one(
                    {"_id": mentor_id, "version": 1, "active": active, "pending": pending}
                )
            except DuplicateKeyError:
                return False
            return True
        result = await self.collection.update_one(
            {"_id": mentor_id, "version": current["version"]},
            {"$set": {"version": current["version"] + 1, "active": active, "pending": pending}},
        )
        return result.matched_count == 1

    async def reserve(self, mentor_id: str, capacity: int) -> tuple[int, int] | None:
        """Take one seat for a new proposal if fewer than ``capacity`` are taken; returns the
        new (active, pending), or None when the mentor is full."""
        for _ in range(_ATTEMPTS):
            current = await self.get(mentor_id)
            active = current["active"] if current else 0
            pending = current["pending"] if current else 0
            if active >= capacity:
                return None
            if await self._write(current, mentor_id, active + 1, pending + 1):
                return active + 1, pending + 1
        raise LoadConflictError(mentor_id)

    async def adjust(self, mentor_id: str, *, active: int = 0, pending: int = 0) -> tuple[int, int]:
        """Add the deltas (never below zero): a proposal accepted, declined, expired or ended."""
        for _ in range(_ATTEMPTS):
            current = await self.get(mentor_id)
            now_active = max(0, (current["active"] if current else 0) + active)
            now_pending = max(0, (current["pending"] if current else 0) + pending)
            if await self._write(current, mentor_id, now_active, now_pending):
                return now_active, now_pending
        raise LoadConflictError(mentor_id)

    async def set_counts(self, mentor_id: str, *, active: int, pending: int) -> None:
        for _ in range(_ATTEMPTS):
            current = await self.get(mentor_id)
            if current and (current["active"], current["pending"]) == (active, pending):
                return
            if await self._write(current, mentor_id, active, pending):
                return
        raise LoadConflictError(mentor_id)

    async def all(self) -> dict[str, tuple[int, int]]:
        """``{mentor_id: (active, pending)}`` for every mentor with a document."""
        cursor = self.collection.find({}, {"active": 1, "pending": 1})
        return {d["_id"]: (int(d["active"]), int(d["pending"])) async for d in cursor}

    async def of(self, mentor_ids: list[str]) -> dict[str, tuple[int, int]]:
        cursor = self.collection.find({"_id": {"$in": mentor_ids}}, {"active": 1, "pending": 1})
        return {d["_id"]: (int(d["active"]), int(d["pending"])) async for d in cursor}

"""Check-in schedules of mentorships (collection ``reminders``), keyed by mentorship id."""

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from tandem_chassis import upsert_if_newer

__all__ = ["ReminderRepository"]

Document = dict[str, Any]


class ReminderRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def start(
        self,
        mentorship_id: str,
        *,
        version: int,
        mentor_id: str,
        mentee_id: str,
        started_at: datetime,
        first_due: datetime,
    ) -> bool:
        return await upsert_if_newer(
            self.collection,
            mentorship_id,
            version,
            {
                "active": True,
                "mentor_id": mentor_id,
                "mentee_id": mentee_id,
                "started_at": started_at,
                "next_number": 1,
                "next_due_at": first_due,
            },
        )

    async def stop(self, mentorship_id: str, *, version: int) -> bool:
        """End the schedule; an end wins over a start of the same version (it is final)."""
        try:
            result = await self.collection.update_one(
                {"_id": mentorship_id, "version": {"$lte": version}},
                {"$set": {"active": False, "version": version}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # a newer version is stored
        return result.upserted_id is not None or result.modified_count > 0

    async def due(self, *, now: datetime, limit: int = 200) -> list[Document]:
        return await self.collection.find(
            {"active": True, "next_due_at": {"$lte": now}}, limit=limit
        ).to_list()

    async def advance(
        self, mentorship_id: str, *, sent: int, next_number: int, next_due_at: datetime
    ) -> bool:
        """Move past reminder ``sent``; False if someone else already did."""
        result = await self.collection.update_one(
            {"_id": mentorship_id, "next_number": sent},
            {"$set": {"next_number": next_number, "next_due_at": next_due_at}},
        )
        return result.matched_count == 1

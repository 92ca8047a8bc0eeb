"""Check-in schedules of mentorships (collection ``reminders``), keyed by mentorship id."""

from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from tandem_chassis import upsert_if_newer

from tandem_notifications.adapters.mongo import DatabaseOf, Document
from tandem_notifications.domain.reminders import CheckinSchedule

__all__ = ["MongoReminders"]

COLLECTION = "reminders"


def from_document(d: Document) -> CheckinSchedule:
    return CheckinSchedule(
        mentorship_id=d["_id"],
        mentor_id=d["mentor_id"],
        mentee_id=d["mentee_id"],
        started_at=d["started_at"],
        next_due_at=d["next_due_at"],
        next_number=d["next_number"],
        active=d.get("active", False),
    )


class MongoReminders:
    def __init__(self, database: DatabaseOf) -> None:
        self._database = database

    @property
    def collection(self) -> AsyncCollection[Document]:
        return self._database()[COLLECTION]

    async def start(self, schedule: CheckinSchedule, *, version: int) -> bool:
        return bool(
            await upsert_if_newer(
                self.collection,
                schedule.mentorship_id,
                version,
                {
                    "active": True,
                    "mentor_id": schedule.mentor_id,
                    "mentee_id": schedule.mentee_id,
                    "started_at": schedule.started_at,
                    "next_number": schedule.next_number,
                    "next_due_at": schedule.next_due_at,
                },
            )
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

    async def due(self, *, now: datetime, limit: int = 200) -> list[CheckinSchedule]:
        found = await self.collection.find(
            {"active": True, "next_due_at": {"$lte": now}}, limit=limit
        ).to_list()
        return [from_document(document) for document in found]

    async def advance(
        self, mentorship_id: str, *, sent: int, next_number: int, next_due_at: datetime
    ) -> bool:
        """Move past reminder ``sent``; False if someone else already did."""
        result = await self.collection.update_one(
            {"_id": mentorship_id, "next_number": sent},
            {"$set": {"next_number": next_number, "next_due_at": next_due_at}},
        )
        return result.matched_count == 1

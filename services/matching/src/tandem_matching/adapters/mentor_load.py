"""Per-mentor seat counts, one small document per mentor guarded by a version check.

``{_id: mentor_id, version, active, pending}``: ``active`` counts proposed and accepted
mentorships (the seats taken), ``pending`` the proposed ones (the demand on the mentor).
"""

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from tandem_matching.adapters import Document
from tandem_matching.domain.mentorship import MentorLoad, Seats

__all__ = ["MongoMentorLoads"]

_COUNTS = {"active": 1, "pending": 1}


def _seats(document: Document) -> Seats:
    return Seats(int(document["active"]), int(document["pending"]))


class MongoMentorLoads:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def get(self, mentor_id: str) -> MentorLoad | None:
        document = await self.collection.find_one({"_id": mentor_id})
        if document is None:
            return None
        return MentorLoad(mentor_id, _seats(document), int(document["version"]))

    async def put(self, load: MentorLoad) -> bool:
        """Store ``load`` over the version before it (insert at version 1); False if another
        write got there first."""
        counts = {"active": load.seats.active, "pending": load.seats.pending}
        if load.version == 1:
            try:
                await self.collection.insert_one({"_id": load.mentor_id, "version": 1, **counts})
            except DuplicateKeyError:
                return False
            return True
        result = await self.collection.update_one(
            {"_id": load.mentor_id, "version": load.version - 1},
            {"$set": {"version": load.version, **counts}},
        )
        return result.matched_count == 1

    async def all(self) -> dict[str, Seats]:
        """Seats of every mentor with a document."""
        return {d["_id"]: _seats(d) async for d in self.collection.find({}, _COUNTS)}

    async def of(self, mentor_ids: list[str]) -> dict[str, Seats]:
        return {
            d["_id"]: _seats(d) async for d in self.collection.find({"_id": {"$in": mentor_ids}}, _COUNTS)
        }

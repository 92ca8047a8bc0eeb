"""The people projection (from ``tandem.profiles``) and each person's calendar feed secret."""

from collections.abc import Sequence

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from tandem_relationships.adapters import Document
from tandem_relationships.domain.people import Person

__all__ = ["MongoPeople"]


def _person(document: Document) -> Person:
    return Person.model_validate({"employee_id": document["_id"], **document})


class MongoPeople:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def get(self, employee_id: str) -> Person | None:
        document = await self.collection.find_one({"_id": employee_id})
        return _person(document) if document else None

    async def many(self, employee_ids: Sequence[str]) -> dict[str, Person]:
        cursor = self.collection.find({"_id": {"$in": list(employee_ids)}})
        return {document["_id"]: _person(document) async for document in cursor}

    async def record(self, person: Person) -> bool:
        """Store the profile fields unless this or a newer version is stored; erasure also
        drops the feed secret."""
        fields = person.model_dump(exclude={"employee_id", "feed_secret"})
        update: Document = {"$set": fields}
        if person.status == "erased":
            update["$unset"] = {"feed_secret": ""}
        try:
            result = await self.collection.update_one(
                {"_id": person.employee_id, "version": {"$lt": person.version}}, update, upsert=True
            )
        except DuplicateKeyError:
            return False  # an equal or newer version is stored: a stale or repeated event
        return result.upserted_id is not None or result.modified_count > 0

    async def set_feed_secret(self, employee_id: str, secret: str) -> None:
        # Upsert: someone may read their feed before their profile reached this service.
        await self.collection.update_one(
            {"_id": employee_id},
            {"$set": {"feed_secret": secret}, "$setOnInsert": {"version": 0}},
            upsert=True,
        )

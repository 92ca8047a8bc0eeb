"""The people projection (from ``tandem.profiles``) and each person's calendar feed secret."""

from collections.abc import Iterable, Sequence

from pymongo.asynchronous.collection import AsyncCollection
from tandem_chassis import Upsert, upsert_many_if_newer

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

    async def record_many(self, persons: Iterable[Person]) -> set[str]:
        """Store each person's profile fields unless this or a newer version is stored (two store
        commands for the batch); erasure also drops the feed secret. The ids stored."""
        return await upsert_many_if_newer(
            self.collection,
            [
                Upsert(
                    person.employee_id,
                    person.version,
                    person.model_dump(exclude={"employee_id", "feed_secret", "version"}),
                    ("feed_secret",) if person.status == "erased" else (),
                )
                for person in persons
            ],
        )

    async def set_feed_secret(self, employee_id: str, secret: str) -> None:
        # Upsert: someone may read their feed before their profile reached this service.
        await self.collection.update_one(
            {"_id": employee_id},
            {"$set": {"feed_secret": secret}, "$setOnInsert": {"version": 0}},
            upsert=True,
        )

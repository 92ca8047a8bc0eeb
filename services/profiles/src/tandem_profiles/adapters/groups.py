"""SCIM groups in MongoDB: one document per group, guarded by its ``revision``."""

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from tandem_profiles.adapters import Document
from tandem_profiles.domain.groups import Group, Member
from tandem_profiles.service_layer.unit_of_work import LoadedGroup

__all__ = ["MongoGroupRepository"]


def _to_document(group: Group, revision: int) -> Document:
    return {
        "_id": group.group_id,
        "display_name": group.display_name,
        "display_name_key": group.display_name.lower(),
        "external_id": group.external_id,
        "members": [{"value": m.value, "display": m.display, "type": m.type} for m in group.members],
        "member_ids": sorted(group.member_ids),
        "created": group.created,
        "last_modified": group.last_modified,
        "revision": revision,
    }


def _loaded(document: Document) -> LoadedGroup:
    group = Group(
        group_id=document["_id"],
        display_name=document["display_name"],
        external_id=document.get("external_id"),
        members=tuple(
            Member(m["value"], m.get("display"), m.get("type")) for m in document.get("members", ())
        ),
        created=document.get("created", ""),
        last_modified=document.get("last_modified", ""),
    )
    return LoadedGroup(group=group, revision=int(document["revision"]))


class MongoGroupRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("display_name_key", ASCENDING)])
        await self.collection.create_index([("member_ids", ASCENDING)])

    async def load(self, group_id: str) -> LoadedGroup | None:
        document = await self.collection.find_one({"_id": group_id})
        return _loaded(document) if document else None

    async def create(self, group: Group) -> bool:
        try:
            await self.collection.insert_one(_to_document(group, 1))
        except DuplicateKeyError:
            return False
        return True

    async def save(self, group: Group, *, revision: int) -> bool:
        result = await self.collection.replace_one(
            {"_id": group.group_id, "revision": revision}, _to_document(group, revision + 1)
        )
        return result.matched_count == 1

    async def delete(self, group_id: str) -> None:
        await self.collection.delete_one({"_id": group_id})

    async def find_by_display_name(self, display_name: str) -> list[LoadedGroup]:
        cursor = self.collection.find({"display_name_key": display_name.lower()}).sort("_id", ASCENDING)
        return [_loaded(document) async for document in cursor]

    async def page(self, *, skip: int, limit: int) -> tuple[int, list[LoadedGroup]]:
        total = await self.collection.count_documents({})
        if limit <= 0:
            return total, []
        cursor = self.collection.find({}).sort("_id", ASCENDING).skip(skip).limit(limit)
        return total, [_loaded(document) async for document in cursor]

    async def ids_with_member(self, employee_id: str) -> list[str]:
        cursor = self.collection.find({"member_ids": employee_id}, {"_id": 1}).sort("_id", ASCENDING)
        return [document["_id"] async for document in cursor]

"""The program projection (from ``tandem.programs``): the terms relationships follow."""

from pymongo.asynchronous.collection import AsyncCollection

from tandem_relationships.adapters import Document
from tandem_relationships.domain.model import ProgramSettings

__all__ = ["MongoPrograms"]


def _program(document: Document) -> ProgramSettings:
    return ProgramSettings.model_validate({"program_id": document["_id"], **document})


class MongoPrograms:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def get(self, program_id: str) -> ProgramSettings | None:
        document = await self.collection.find_one({"_id": program_id})
        return _program(document) if document else None

    async def all(self) -> dict[str, ProgramSettings]:
        return {document["_id"]: _program(document) async for document in self.collection.find({})}

    async def record(self, program: ProgramSettings) -> None:
        fields = program.model_dump(exclude={"program_id"})
        await self.collection.update_one({"_id": program.program_id}, {"$set": fields}, upsert=True)

"""Recorded outcomes in MongoDB: one document per mentorship (a redelivery rewrites it)."""

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from tandem_matching.adapters import Document
from tandem_matching.domain.learning import RecordedOutcome

__all__ = ["MongoOutcomes"]


def _outcome(document: Document) -> RecordedOutcome:
    return RecordedOutcome(
        mentorship_id=document["_id"],
        program_id=document.get("program_id"),
        breakdown={k: float(v) for k, v in document["breakdown"].items()},
        value=float(document["value"]),
        recorded_at=document["recorded_at"],
    )


class MongoOutcomes:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("program_id", ASCENDING)])

    async def put(self, outcome: RecordedOutcome) -> None:
        document = {
            "program_id": outcome.program_id,
            "breakdown": outcome.breakdown,
            "value": outcome.value,
            "recorded_at": outcome.recorded_at,
        }
        await self.collection.replace_one({"_id": outcome.mentorship_id}, document, upsert=True)

    async def find(self, *, program_id: str | None = None) -> list[RecordedOutcome]:
        """The program's outcomes, or (no `program_id`) every outcome recorded."""
        query: Document = {} if program_id is None else {"program_id": program_id}
        cursor = self.collection.find(query).sort("_id", ASCENDING)
        return [_outcome(document) async for document in cursor]

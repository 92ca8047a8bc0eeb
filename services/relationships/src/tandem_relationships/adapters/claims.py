"""Which replica writes a relationship's due steps: the one whose claim insert wins.

Replicas plan the same due steps. Two concurrent version-checked writes of one document are not
both refused on FerretDB 1.x, and a losing writer's staged outbox entry can still be published
(the chassis outbox assumes one writer per aggregate), so the step job keeps to one writer per
stored version: before writing steps from version ``v`` of a relationship, a replica inserts
``<mentorship id>|v<v>|<attempt>``; the unique ``_id`` lets exactly one replica through. A claim
older than ``stale_after_s`` whose version was never written (its replica died) is superseded by
the next attempt, so no step is lost.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

__all__ = ["MongoStepClaims"]

KEPT = timedelta(days=2)
MAX_ATTEMPTS = 100


class MongoStepClaims:
    def __init__(self, collection: AsyncCollection[dict[str, Any]], *, stale_after_s: float) -> None:
        self.collection = collection
        self.stale_after = timedelta(seconds=stale_after_s)

    async def claim(self, mentorship_id: str, version: int) -> bool:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            key = f"{mentorship_id}|v{version}|{attempt}"
            now = datetime.now(UTC)
            try:
                await self.collection.insert_one({"_id": key, "at": now})
            except DuplicateKeyError:
                held = await self.collection.find_one({"_id": key})
                if held is None or now - _utc(held["at"]) >= self.stale_after:
                    continue  # its claimer died before writing: the next attempt may take over
                return False
            return True
        return False

    async def forget_old(self) -> None:
        await self.collection.delete_many({"at": {"$lt": datetime.now(UTC) - KEPT}})


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

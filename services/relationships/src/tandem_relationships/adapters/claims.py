"""Which replica takes a relationship's due steps now: the one whose claim insert wins.

Replicas plan the same due steps. Two concurrent version-checked writes of one document are not
both refused on FerretDB 1.x, and a losing writer's staged outbox entry can still be published
(the chassis outbox assumes one writer per aggregate), so the step job keeps to one writer per
relationship: before writing, a replica inserts ``<mentorship id>|<window>``; the unique ``_id``
lets exactly one replica per time window through. A replica that dies after its claim leaves the
steps to the next window (they are recorded as done only with the write, so none is lost).
"""

import time
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

__all__ = ["MongoStepClaims"]

KEPT_WINDOWS = 100


class MongoStepClaims:
    def __init__(self, collection: AsyncCollection[dict[str, Any]], *, window_s: float) -> None:
        self.collection = collection
        self.window_s = window_s

    def _window(self) -> int:
        return int(time.time() // self.window_s)

    async def claim(self, mentorship_id: str) -> bool:
        window = self._window()
        try:
            await self.collection.insert_one({"_id": f"{mentorship_id}|{window}", "window": window})
        except DuplicateKeyError:
            return False
        return True

    async def forget_old(self) -> None:
        await self.collection.delete_many({"window": {"$lt": self._window() - KEPT_WINDOWS}})

"""Recipients: the notifications service's projection of ``tandem.profiles``."""

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from tandem_chassis import upsert_if_newer
from tandem_contracts import ProfileSnapshot

__all__ = ["RecipientProjection"]


class RecipientProjection:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def apply(self, snapshot: ProfileSnapshot) -> bool:
        """Store ``snapshot`` unless a newer version is already stored."""
        fields = snapshot.model_dump(mode="json", exclude={"version"})
        return await upsert_if_newer(self.collection, snapshot.employee_id, snapshot.version, fields)

    async def get(self, employee_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": employee_id})

"""Recipients (collection ``recipients``): the notifications service's projection of ``tandem.profiles``.

Only what notifying needs is kept: email, display name, status and notification preferences
(from the profile, or as the employee last set them here: ``preferences_override``).
"""

from collections.abc import Iterable

from pymongo.asynchronous.collection import AsyncCollection
from tandem_chassis import Upsert, upsert_many_if_newer
from tandem_contracts import ProfileSnapshot

from tandem_notifications.adapters.mongo import DatabaseOf, Document
from tandem_notifications.domain.preferences import Preferences
from tandem_notifications.domain.recipient import Recipient

__all__ = ["MongoRecipients"]

COLLECTION = "recipients"


def from_document(document: Document) -> Recipient:
    override = document.get("preferences_override")
    return Recipient(
        employee_id=document["_id"],
        status=document.get("status") or "",
        email=document.get("email"),
        display_name=document.get("display_name"),
        preferences=Preferences.from_document(
            override if override is not None else document.get("notification_preferences")
        ),
    )


def _upsert(snapshot: ProfileSnapshot) -> Upsert:
    erased = snapshot.status == "erased"
    fields: Document = {
        "employee_id": snapshot.employee_id,
        "status": snapshot.status,
        "email": None if erased else snapshot.email,
        "display_name": None if erased else snapshot.display_name,
        "notification_preferences": (
            None if erased else snapshot.notification_preferences.model_dump(mode="json")
        ),
    }
    # erasure also forgets the preferences the employee set here
    return Upsert(snapshot.employee_id, snapshot.version, fields, ("preferences_override",) if erased else ())


class MongoRecipients:
    def __init__(self, database: DatabaseOf) -> None:
        self._database = database

    @property
    def collection(self) -> AsyncCollection[Document]:
        return self._database()[COLLECTION]

    async def apply_many(self, snapshots: Iterable[ProfileSnapshot]) -> set[str]:
        """Store each snapshot unless a newer version is already stored (two store commands for the
        batch); erasure keeps no personal data. The employees whose snapshot was stored."""
        return await upsert_many_if_newer(self.collection, [_upsert(snapshot) for snapshot in snapshots])

    async def get(self, employee_id: str) -> Recipient | None:
        found = await self.collection.find_one({"_id": employee_id})
        return from_document(found) if found else None

    async def get_many(self, employee_ids: Iterable[str]) -> dict[str, Recipient]:
        wanted = list(dict.fromkeys(employee_ids))
        if len(wanted) == 1:
            found = await self.get(wanted[0])
            return {wanted[0]: found} if found else {}
        documents = await self.collection.find({"_id": {"$in": wanted}}).to_list()
        return {document["_id"]: from_document(document) for document in documents}

    async def set_preferences(self, employee_id: str, preferences: Preferences) -> bool:
        """Store the employee's own choice; False if the employee is unknown or erased."""
        result = await self.collection.update_one(
            {"_id": employee_id, "status": {"$ne": "erased"}},
            {"$set": {"preferences_override": preferences.as_document()}},
        )
        return result.matched_count == 1

"""Profiles in MongoDB: one document per employee, with its own outbox."""

import re
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from tandem_chassis import AggregateStore
from tandem_chassis.outbox import AggregateWrite
from tandem_contracts import ProfileDeactivated, ProfileErased, ProfileRegistered, ProfileUpdated
from tandem_contracts.base import EventData

from tandem_profiles.domain.profile import Profile, ProfileChange

__all__ = ["ProfileRepository"]

Document = dict[str, Any]
_EVENTS: dict[str, type[EventData]] = {
    "registered": ProfileRegistered,
    "updated": ProfileUpdated,
    "deactivated": ProfileDeactivated,
    "erased": ProfileErased,
}


def _to_document(profile: Profile, *, retention: timedelta) -> Document:
    status = profile.status
    erase_due = None
    if status == "inactive" and profile.known:
        erase_due = datetime.fromisoformat(profile.left[0].replace("Z", "+00:00")) + retention
    return {
        "employee_id": profile.employee_id,
        "hr": profile.hr,
        "hr_stamps": {name: list(stamp) for name, stamp in profile.hr_stamps.items()},
        "mentoring": profile.mentoring,
        "joined": list(profile.joined),
        "left": list(profile.left),
        "erased": list(profile.erased),
        "last_day": profile.last_day,
        "published_version": profile.published_version,
        # query fields, derived from the above
        "known": profile.known,
        "status": status,
        "department": profile.hr.get("department"),
        "roles": profile.mentoring.get("roles", []),
        "skill_names": [skill["name"] for skill in profile.mentoring.get("skills", [])],
        "erase_due_at": erase_due,
    }


def _from_document(document: Document) -> Profile:
    return Profile(
        employee_id=document["employee_id"],
        hr=document.get("hr", {}),
        hr_stamps={name: (stamp[0], stamp[1]) for name, stamp in document.get("hr_stamps", {}).items()},
        mentoring=document["mentoring"],
        joined=tuple(document["joined"]),  # type: ignore[arg-type]
        left=tuple(document["left"]),  # type: ignore[arg-type]
        erased=tuple(document.get("erased", ["", ""])),  # type: ignore[arg-type]
        last_day=document.get("last_day"),
        published_version=document.get("published_version", 0),
    )


class ProfileRepository:
    def __init__(self, store: AggregateStore, *, retention: timedelta) -> None:
        self.store = store
        self.retention = retention

    async def create_indexes(self) -> None:
        await self.store.create_indexes()
        collection = self.store.collection
        await collection.create_index([("known", ASCENDING), ("status", ASCENDING), ("_id", ASCENDING)])
        await collection.create_index([("roles", ASCENDING)])
        await collection.create_index([("skill_names", ASCENDING)])
        await collection.create_index([("erase_due_at", ASCENDING)])
        await collection.create_index([("hr.email", ASCENDING)])

    async def load(self, employee_id: str) -> tuple[Profile | None, Document | None]:
        document = await self.store.get(employee_id)
        return (_from_document(document) if document else None), document

    async def load_many(self, employee_ids: list[str]) -> dict[str, tuple[Profile, Document]]:
        documents = await self.store.get_many(employee_ids)
        return {eid: (_from_document(doc), doc) for eid, doc in documents.items()}

    @staticmethod
    def event_of(change: ProfileChange) -> EventData | None:
        """The ``tandem.profiles`` event a change publishes, if any."""
        if change.event is None:
            return None
        return _EVENTS[change.event].model_validate(change.profile.snapshot())

    async def save_many(
        self, writes: list[tuple[Document | None, Profile, list[EventData], list[str]]]
    ) -> list[bool]:
        """Several profiles, each with the events its changes publish; per profile, whether it landed."""
        return await self.store.write_many(
            [
                AggregateWrite(
                    aggregate_id=profile.employee_id,
                    current=document,
                    state=_to_document(profile, retention=self.retention),
                    events=events,
                    caused_by=caused_by,
                )
                for document, profile, events, caused_by in writes
            ]
        )

    async def save(self, document: Document | None, change: ProfileChange, *, caused_by: str | None) -> bool:
        """Write the changed profile and its event in one document write; False on a conflict."""
        state = _to_document(change.profile, retention=self.retention)
        event = self.event_of(change)
        events = [event] if event is not None else []
        if document is None:
            return await self.store.create(change.profile.employee_id, state, events, caused_by=caused_by)
        return await self.store.update(document, state, events, caused_by=caused_by)

    async def search(
        self,
        *,
        role: str | None,
        skill: str | None,
        department: str | None,
        status: str | None,
        limit: int,
        after: str | None,
    ) -> list[Profile]:
        query: Document = {"known": True}
        if role:
            query["roles"] = role
        if skill:
            query["skill_names"] = skill
        if department:
            query["department"] = department
        if status:
            query["status"] = status
        if after:
            query["_id"] = {"$gt": after}
        cursor = self.store.collection.find(query).sort("_id", ASCENDING).limit(limit)
        return [_from_document(document) async for document in cursor]

    async def due_for_erasure(self, now: datetime, *, limit: int = 500) -> list[str]:
        cursor = self.store.collection.find(
            {"status": "inactive", "erase_due_at": {"$lte": now}}, {"_id": 1}
        ).limit(limit)
        return [document["_id"] async for document in cursor]

    async def find_by_email(self, email: str, *, limit: int = 50) -> list[Profile]:
        """Known profiles with this email, compared case-insensitively (SCIM ``userName``)."""
        exactly = {"$regex": f"^{_literal_pattern(email)}$", "$options": "i"}
        query = {"known": True, "hr.email": exactly}
        cursor = self.store.collection.find(query).sort("_id", ASCENDING).limit(limit)
        return [_from_document(document) async for document in cursor]

    async def page(
        self, *, skip: int, limit: int, hiding_left_by: str | None = None
    ) -> tuple[int, list[Profile]]:
        """Known, unerased profiles in employee-id order, and how many there are in all.

        ``hiding_left_by``: leave out inactive profiles whose leaving event id starts with it.
        """
        query: Document = {"known": True, "status": {"$ne": "erased"}}
        if hiding_left_by:
            hidden = {"$regex": f"^{_literal_pattern(hiding_left_by)}"}
            query["$nor"] = [{"status": "inactive", "left.1": hidden}]
        total = await self.store.collection.count_documents(query)
        if limit <= 0:
            return total, []
        cursor = self.store.collection.find(query).sort("_id", ASCENDING).skip(skip).limit(limit)
        return total, [_from_document(document) async for document in cursor]


def _literal_pattern(text: str) -> str:
    """``text`` as a regular expression both MongoDB (PCRE) and FerretDB (Go RE2) read literally."""
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", text)

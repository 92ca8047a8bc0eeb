"""Profiles in MongoDB: one document per employee, with its own outbox."""

import json
import re
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from tandem_chassis import AggregateStore
from tandem_chassis.outbox import AggregateWrite
from tandem_contracts import ProfileDeactivated, ProfileErased, ProfileRegistered, ProfileUpdated
from tandem_contracts.base import EventData

from tandem_profiles.adapters import Document
from tandem_profiles.domain.parts import HrRecord, Mentoring, ScimAccount
from tandem_profiles.domain.profile import Profile, ProfileChange, Stamp
from tandem_profiles.service_layer.unit_of_work import LoadedProfile, ProfileWrite

__all__ = ["MongoProfileRepository", "event_of", "literal_pattern"]

_EVENTS: dict[str, type[EventData]] = {
    "registered": ProfileRegistered,
    "updated": ProfileUpdated,
    "deactivated": ProfileDeactivated,
    "erased": ProfileErased,
}


def event_of(change: ProfileChange) -> EventData | None:
    """The ``tandem.profiles`` event a change publishes, if any."""
    if change.event is None:
        return None
    return _EVENTS[change.event].model_validate(change.profile.snapshot())


def _stamp(value: Any) -> Stamp:
    return (str(value[0]), str(value[1])) if value else ("", "")


def _to_document(profile: Profile, *, retention: timedelta) -> Document:
    status = profile.status
    erase_due = None
    if status == "inactive" and profile.known:
        erase_due = datetime.fromisoformat(profile.left[0].replace("Z", "+00:00")) + retention
    return {
        "employee_id": profile.employee_id,
        "hr": {name: value for name, value in profile.hr.to_json().items() if value is not None},
        "hr_stamps": {name: list(stamp) for name, stamp in profile.hr_stamps.items()},
        "mentoring": profile.mentoring.to_json(),
        "joined": list(profile.joined),
        "left": list(profile.left),
        "erased": list(profile.erased),
        "last_day": profile.last_day,
        "published_version": profile.published_version,
        "groups": list(profile.groups),
        # As JSON text: SCIM attribute names ("$ref", URNs) are not all valid document keys.
        "scim": {"user_name": profile.scim.user_name, "attributes": json.dumps(profile.scim.attributes)}
        if profile.scim
        else None,
        # query fields, derived from the above
        "known": profile.known,
        "status": status,
        "department": profile.hr.department,
        "roles": list(profile.mentoring.roles),
        "skill_names": profile.mentoring.skill_names,
        "erase_due_at": erase_due,
        "user_name_key": profile.scim_user_name.lower() if status != "erased" else None,
    }


def _scim_account(stored: Document | None) -> ScimAccount | None:
    if not stored:
        return None
    return ScimAccount(stored["user_name"], json.loads(stored.get("attributes") or "{}"))


def _from_document(document: Document) -> Profile:
    return Profile(
        employee_id=document["employee_id"],
        hr=HrRecord.from_json(document.get("hr", {})),
        hr_stamps={name: _stamp(stamp) for name, stamp in document.get("hr_stamps", {}).items()},
        mentoring=Mentoring.from_json(document.get("mentoring", {})),
        joined=_stamp(document.get("joined")),
        left=_stamp(document.get("left")),
        erased=_stamp(document.get("erased")),
        last_day=document.get("last_day"),
        published_version=document.get("published_version", 0),
        groups=tuple(document.get("groups", ())),
        scim=_scim_account(document.get("scim")),
    )


def _loaded(document: Document) -> LoadedProfile:
    return LoadedProfile(
        profile=_from_document(document),
        revision=int(document.get("version", 0)),
        seen_events=frozenset(document.get("seen_events", ())),
        handle=document,
    )


def _document(loaded: LoadedProfile | None) -> Document | None:
    if loaded is None:
        return None
    handle = loaded.handle
    if not isinstance(handle, dict):
        raise TypeError("a profile loaded by another repository")
    return handle


class MongoProfileRepository:
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
        await collection.create_index([("user_name_key", ASCENDING)])

    def event_of(self, change: ProfileChange) -> EventData | None:
        return event_of(change)

    async def load(self, employee_id: str) -> LoadedProfile | None:
        document = await self.store.get(employee_id)
        return _loaded(document) if document else None

    async def load_many(self, employee_ids: list[str]) -> dict[str, LoadedProfile]:
        documents = await self.store.get_many(employee_ids)
        return {eid: _loaded(doc) for eid, doc in documents.items()}

    async def save_many(self, writes: list[ProfileWrite]) -> list[bool]:
        return await self.store.write_many(
            [
                AggregateWrite(
                    aggregate_id=write.profile.employee_id,
                    current=_document(write.loaded),
                    state=_to_document(write.profile, retention=self.retention),
                    events=write.events,
                    caused_by=write.caused_by,
                )
                for write in writes
            ]
        )

    async def save(
        self, loaded: LoadedProfile | None, change: ProfileChange, *, caused_by: str | None
    ) -> bool:
        state = _to_document(change.profile, retention=self.retention)
        event = event_of(change)
        events = [event] if event is not None else []
        document = _document(loaded)
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

    async def find_by_user_name(self, user_name: str, *, limit: int = 50) -> list[LoadedProfile]:
        key = user_name.lower()
        # Documents written before userName was stored separately: their userName is the email.
        exactly = {"$regex": f"^{literal_pattern(key)}$", "$options": "i"}
        older = {"user_name_key": {"$exists": False}, "hr.email": exactly}
        query = {"known": True, "$or": [{"user_name_key": key}, older]}
        cursor = self.store.collection.find(query).sort("_id", ASCENDING).limit(limit)
        return [_loaded(document) async for document in cursor]

    async def page(self, *, skip: int, limit: int, hiding_left_by: str) -> tuple[int, list[LoadedProfile]]:
        hidden = {"$regex": f"^{literal_pattern(hiding_left_by)}"}
        query: Document = {
            "known": True,
            "status": {"$ne": "erased"},
            "$nor": [{"status": "inactive", "left.1": hidden}],
        }
        total = await self.store.collection.count_documents(query)
        if limit <= 0:
            return total, []
        cursor = self.store.collection.find(query).sort("_id", ASCENDING).skip(skip).limit(limit)
        return total, [_loaded(document) async for document in cursor]


def literal_pattern(text: str) -> str:
    """``text`` as a regular expression both MongoDB (PCRE) and FerretDB (Go RE2) read literally."""
    return re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", text)

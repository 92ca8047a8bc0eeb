"""Relationships in MongoDB: one aggregate document per mentorship, with its own outbox.

The document is the relationship's JSON form plus the outbox bookkeeping (``version``,
``outbox_seq``, ``seen_events``); every write is one version-checked single-document update
that also commits the events it causes (``tandem_chassis.AggregateStore``).
"""

from collections.abc import Sequence

from pymongo import ASCENDING
from tandem_chassis import AggregateStore
from tandem_contracts import EventData

from tandem_relationships.adapters import Document
from tandem_relationships.domain.model import Relationship
from tandem_relationships.service_layer.ports import Loaded, Revision

__all__ = ["MongoRelationships"]

_BOOKKEEPING = ("_id", "version", "outbox_seq", "seen_events")


def _loaded(document: Document) -> Loaded:
    state = {key: value for key, value in document.items() if key not in _BOOKKEEPING}
    return Loaded(
        relationship=Relationship.model_validate(state),
        revision=Revision(
            version=int(document["version"]),
            outbox_seq=int(document.get("outbox_seq", 0)),
            seen_events=tuple(document.get("seen_events", ())),
        ),
    )


def _state(relationship: Relationship) -> Document:
    return relationship.model_dump(mode="json")


class MongoRelationships:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store
        self.collection = store.collection

    async def create_indexes(self) -> None:
        await self.store.create_indexes()
        await self.collection.create_index([("mentor_id", ASCENDING)])
        await self.collection.create_index([("mentee_id", ASCENDING)])
        await self.collection.create_index([("status", ASCENDING)])
        await self.collection.create_index([("program_id", ASCENDING)])  # MongoDB; FerretDB 1.x scans

    async def get(self, mentorship_id: str) -> Loaded | None:
        document = await self.store.get(mentorship_id)
        return _loaded(document) if document else None

    async def add(
        self, relationship: Relationship, events: Sequence[EventData], *, caused_by: str | None = None
    ) -> bool:
        return await self.store.create(
            relationship.mentorship_id, _state(relationship), events, caused_by=caused_by
        )

    async def save(
        self,
        revision: Revision,
        relationship: Relationship,
        events: Sequence[EventData],
        *,
        caused_by: str | None = None,
    ) -> bool:
        current = {
            "_id": relationship.mentorship_id,
            "version": revision.version,
            "outbox_seq": revision.outbox_seq,
            "seen_events": list(revision.seen_events),
        }
        return await self.store.update(current, _state(relationship), events, caused_by=caused_by)

    async def of_employee(self, employee_id: str) -> list[Relationship]:
        query = {"$or": [{"mentor_id": employee_id}, {"mentee_id": employee_id}]}
        found = await self.collection.find(query).sort("_id", ASCENDING).to_list()
        return [_loaded(document).relationship for document in found]

    async def find(
        self, *, program_id: str | None = None, status: str | None = None, health: str | None = None
    ) -> list[Relationship]:
        query = {
            name: value
            for name, value in (("program_id", program_id), ("status", status), ("health", health))
            if value is not None
        }
        found = await self.collection.find(query).sort("_id", ASCENDING).to_list()
        return [_loaded(document).relationship for document in found]

    async def noted_by(self, employee_id: str) -> list[Relationship]:
        # a scan on FerretDB 1.x: only erasure asks, rarely
        found = await self.collection.find({"admin_notes.author_id": employee_id}).to_list()
        return [_loaded(document).relationship for document in found]

    async def open_ones(self) -> list[Loaded]:
        found = await self.collection.find({"status": "open"}).sort("_id", ASCENDING).to_list()
        return [_loaded(document) for document in found]

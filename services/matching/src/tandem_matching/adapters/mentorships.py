"""Mentorships in MongoDB: one aggregate document each, with its own outbox.

Beside them, ``mentorships_pairs`` ``{_id: employee_id, ids: [mentorship_id, ...]}`` lists each
employee's mentorships, as mentee or mentor: a lookup by mentee or mentor (every suggestion asks
which mentors a mentee already had) then reads documents by ``_id``, which the local store looks
up directly, instead of scanning every mentorship. An id is added before its mentorship is
inserted, so a crash in between leaves only an id that names nothing.
"""

from collections.abc import Iterable
from datetime import datetime

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError
from tandem_chassis import AggregateStore
from tandem_chassis.mongo import id_chunks
from tandem_contracts import MentorshipSnapshot

from tandem_matching.adapters import Document
from tandem_matching.adapters.contract import mentorship_event, mentorship_of, snapshot_of
from tandem_matching.domain.lifecycle import State
from tandem_matching.domain.mentorship import OPEN, Mentorship, Seats

__all__ = ["MongoMentorships"]

_FIELDS = tuple(MentorshipSnapshot.model_fields)
# The pairs' marker that every mentorship stored before the pairs existed is listed: "" is no
# employee id (they are at least one character).
_INDEXED = ""


def _mentorship(document: Document) -> Mentorship:
    state = {name: document[name] for name in _FIELDS if document.get(name) is not None}
    return mentorship_of(MentorshipSnapshot.model_validate(state | {"version": document["version"]}))


def _state(mentorship: Mentorship) -> Document:
    return snapshot_of(mentorship).model_dump(exclude={"version"})


class MongoMentorships:
    """Writes are guarded by version: a change carrying version v lands only over v - 1."""

    def __init__(self, store: AggregateStore) -> None:
        self.store = store
        self.collection = store.collection
        self.pairs = store.collection.database[f"{store.collection.name}_pairs"]

    async def create_indexes(self) -> None:
        await self.store.create_indexes()
        await self._list_earlier_mentorships()
        await self.collection.create_index([("mentee_id", ASCENDING), ("status", ASCENDING)])
        await self.collection.create_index([("mentor_id", ASCENDING), ("status", ASCENDING)])
        await self.collection.create_index([("status", ASCENDING), ("expires_at", ASCENDING)])
        await self.collection.create_index([("program_id", ASCENDING), ("status", ASCENDING)])

    async def get(self, mentorship_id: str) -> Mentorship | None:
        document = await self.store.get(mentorship_id)
        return _mentorship(document) if document is not None else None

    async def add(self, proposal: Mentorship) -> bool:
        """Insert a new proposal with its ``mentorship.proposed`` event; False if it exists."""
        await self._list(
            {proposal.mentee_id: [proposal.mentorship_id], proposal.mentor_id: [proposal.mentorship_id]}
        )
        return await self.store.create(proposal.mentorship_id, _state(proposal), [mentorship_event(proposal)])

    async def _list(self, ids_of: dict[str, list[str]]) -> None:
        """Add mentorship ids to these employees' pairs."""
        for employee_id, ids in ids_of.items():
            update = {"$addToSet": {"ids": {"$each": ids}}}
            try:
                await self.pairs.update_one({"_id": employee_id}, update, upsert=True)
            except DuplicateKeyError:  # another writer created this employee's pairs meanwhile
                await self.pairs.update_one({"_id": employee_id}, update)

    async def _list_earlier_mentorships(self) -> None:
        """Once per database: list the mentorships stored before the pairs existed."""
        if await self.pairs.find_one({"_id": _INDEXED}) is not None:
            return
        ids_of: dict[str, list[str]] = {}
        async for d in self.collection.find({}, {"mentee_id": 1, "mentor_id": 1}):
            for employee_id in (d["mentee_id"], d["mentor_id"]):
                ids_of.setdefault(employee_id, []).append(d["_id"])
        await self._list(ids_of)  # one write per employee, once: a database's first start after upgrading
        await self.pairs.update_one({"_id": _INDEXED}, {"$set": {"ids": []}}, upsert=True)

    async def _ids_of(self, employee_ids: list[str]) -> list[str]:
        """The mentorship ids listed for these employees."""
        found: set[str] = set()
        for chunk in id_chunks(employee_ids):
            async for d in self.pairs.find({"_id": {"$in": chunk}}):
                found.update(d["ids"])
        return sorted(found)

    async def _current(self, changed: Mentorship) -> Document | None:
        current = await self.store.get(changed.mentorship_id)
        return current if current is not None and current["version"] == changed.version - 1 else None

    async def save(self, changed: Mentorship) -> bool:
        """Write the change and its ``mentorship.<status>`` event; False if another write won."""
        current = await self._current(changed)
        if current is None:
            return False
        return await self.store.update(current, _state(changed), [mentorship_event(changed)])

    async def forget_message(self, changed: Mentorship) -> bool:
        """Drop the personal message (no event: the published ones are immutable history)."""
        current = await self._current(changed)
        return current is not None and await self.store.update(current, {"message": None})

    async def find(
        self,
        *,
        mentee_id: str | None = None,
        mentee_ids: list[str] | None = None,
        mentor_id: str | None = None,
        program_id: str | None = None,
        statuses: Iterable[State] | None = None,
        limit: int = 0,
    ) -> list[Mentorship]:
        query: Document = {}
        if mentee_id is not None:
            query["mentee_id"] = mentee_id
        if mentee_ids is not None:
            query["mentee_id"] = {"$in": mentee_ids}
        if mentor_id is not None:
            query["mentor_id"] = mentor_id
        if program_id is not None:
            query["program_id"] = program_id
        if statuses is not None:
            query["status"] = {"$in": [State(s).value for s in statuses]}
        people = [mentee_id] if mentee_id is not None else mentee_ids if mentee_ids is not None else None
        if people is None and mentor_id is not None:
            people = [mentor_id]
        if people is None:  # by program or status only: the periodic jobs' scans
            cursor = self.collection.find(query).sort("_id", ASCENDING)
            return [_mentorship(d) async for d in (cursor.limit(limit) if limit else cursor)]
        ids = await self._ids_of(people)
        found: list[Mentorship] = []
        for chunk in id_chunks(ids):
            if limit and len(found) >= limit:
                break
            cursor = self.collection.find(query | {"_id": {"$in": chunk}}).sort("_id", ASCENDING)
            found += [_mentorship(d) async for d in cursor]
        return found[:limit] if limit else found

    async def of_employee(self, employee_id: str, *, status: State | None, limit: int) -> list[Mentorship]:
        """Mentorships where the employee is mentor or mentee (two simple queries, merged)."""
        statuses = [status] if status else None
        found = await self.find(mentee_id=employee_id, statuses=statuses, limit=limit)
        found += await self.find(mentor_id=employee_id, statuses=statuses, limit=limit)
        found.sort(key=lambda m: m.mentorship_id)
        return found[:limit] if limit else found

    async def due_to_expire(self, now: datetime, *, limit: int = 500) -> list[str]:
        query = {"status": State.PROPOSED.value, "expires_at": {"$lte": now}}
        cursor = self.collection.find(query, {"_id": 1}).limit(limit)
        return [str(document["_id"]) async for document in cursor]

    async def open_counts(self) -> dict[str, Seats]:
        """Per mentor: the seats their open mentorships take, counted from the aggregates."""
        pipeline: list[Document] = [
            {"$match": {"status": {"$in": [s.value for s in OPEN]}}},
            {"$group": {"_id": {"mentor": "$mentor_id", "status": "$status"}, "n": {"$sum": 1}}},
        ]
        counts: dict[str, Seats] = {}
        async for row in await self.collection.aggregate(pipeline):
            mentor, status, n = row["_id"]["mentor"], row["_id"]["status"], int(row["n"])
            pending = n if status == State.PROPOSED.value else 0
            counts[mentor] = counts.get(mentor, Seats()).plus(Seats(n, pending))
        return counts

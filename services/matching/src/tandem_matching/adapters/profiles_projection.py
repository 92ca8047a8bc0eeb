"""The matching service's projection of ``tandem.profiles``.

Every stored snapshot carries ``seq``, drawn from a counter, so in-memory readers (the mentor
pool) can fetch only what changed since they last looked. ``seq`` is bookkeeping: a replay
gives other numbers but the same snapshots.
"""

from typing import Any, TypeVar

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from tandem_chassis.mongo import id_chunks, insert_new
from tandem_chassis.outbox import Upsert, stored_versions, write_newer
from tandem_contracts import ProfileSnapshot

from tandem_matching.adapters import Document
from tandem_matching.domain.model import Person, ProfileEntry, Skill

__all__ = ["ProfileProjection", "Shared", "entry_of"]

T = TypeVar("T")

SEQ_FIELD = "seq"
_COUNTER_ID = "profiles"
_LOOKUP_LIMIT = 20_000  # more changes than this since the last read: read the whole projection
_BATCH = 5_000  # documents per reply when reading the whole projection


def note_id(seq: int) -> str:
    """The ``_id`` of the change note of ``seq``."""
    return str(seq)


def _fields_of(snapshot: ProfileSnapshot) -> Document:
    """Every snapshot field, so a newer snapshot replaces the older one entirely; an erased
    profile keeps its id, version and status and nothing personal."""
    if snapshot.status == "erased":
        snapshot = ProfileSnapshot(
            employee_id=snapshot.employee_id, version=snapshot.version, status="erased"
        )
    return snapshot.model_dump(mode="json", exclude={"version"})


class Shared:
    """Equal values read for many people held once: skills, names, lists of languages or roles.

    100,000 profiles name a few hundred skills, departments and time zones; sharing them is most
    of the pool's memory. Values are immutable, so sharing changes nothing a reader can see.
    """

    _LIMIT = 200_000  # distinct values kept; beyond it new ones are simply not shared

    def __init__(self) -> None:
        self._values: dict[object, Any] = {}
        self._skills: dict[tuple[str, int], Skill] = {}

    def __call__(self, value: T) -> T:
        if value is None:
            return value
        known = self._values.get(value)
        if known is not None:
            return known  # type: ignore[no-any-return]  # equal to ``value``, so of its type
        if len(self._values) < self._LIMIT:
            self._values[value] = value
        return value

    def skills(self, values: Any) -> tuple[Skill, ...]:
        return self(
            tuple(self.skill(str(s["name"]).strip().lower(), int(s.get("level") or 3)) for s in values or ())
        )

    def skill(self, name: str, level: int) -> Skill:
        known = self._skills.get((name, level))
        if known is None:
            known = Skill(self(name), level)
            if len(self._skills) < self._LIMIT:
                self._skills[name, level] = known
        return known

    def person(self, document: Document) -> Person | None:
        """The projection's snapshot as the domain sees it; None for an erased profile."""
        if document.get("status") == "erased":
            return None
        preferences = document.get("preferences") or {}
        return Person(
            employee_id=self(document["_id"]),
            active=document.get("status") == "active",
            roles=self(frozenset(document.get("roles") or ())),
            department=self(document.get("department")),
            level=document.get("level"),
            manager_id=self(document.get("manager_id")),
            location=self(document.get("location")),
            timezone=self(document.get("timezone")),
            languages=self(tuple(document.get("languages") or ())),
            skills=self.skills(document.get("skills")),
            goals=self.skills(document.get("goals")),
            interests=self(tuple(self(str(i).strip().lower()) for i in document.get("interests") or ())),
            groups=self(frozenset(document.get("groups") or ())),
            mentor_capacity=int(document.get("mentor_capacity") or 0),
            department_preference=preferences.get("department", "any"),
        )


def _entry(document: Document, shared: Shared | None = None) -> ProfileEntry:
    return ProfileEntry(
        employee_id=document["_id"],
        version=int(document.get("version", 0)),
        status=str(document.get("status")),
        person=(shared or Shared()).person(document),
        seq=int(document.get(SEQ_FIELD, 0)),
    )


def entry_of(snapshot: ProfileSnapshot, *, seq: int = 0) -> ProfileEntry:
    """The entry the projection holds once it stored ``snapshot``."""
    return _entry(
        {**_fields_of(snapshot), "_id": snapshot.employee_id, "version": snapshot.version, SEQ_FIELD: seq}
    )


class ProfileProjection:
    def __init__(self, collection: AsyncCollection[Document], counters: AsyncCollection[Document]) -> None:
        self.collection = collection
        self.counters = counters
        # ``_id`` = the sequence number as a string (:func:`note_id`), ``employee_id``: what changed
        # since a number, found by ``_id $in``, which the local store looks up by id only for
        # string ids (an ``$in`` of numbers made it read every note ever written)
        self.changes = collection.database[f"{collection.name}_changes"]

    async def create_indexes(self) -> None:
        await self.collection.create_index([(SEQ_FIELD, ASCENDING)])
        await self._rekey_numbered_notes()

    async def _rekey_numbered_notes(self) -> None:
        """Change notes written when they were keyed by number get their string key (one read at
        start; the service's own writes and reads use string keys only)."""
        numbered = await self.changes.find({"_id": {"$type": "number"}}).to_list()
        if numbered:
            await insert_new(
                self.changes,
                [{"_id": note_id(int(n["_id"])), "employee_id": n["employee_id"]} for n in numbered],
            )
            for chunk in id_chunks([n["_id"] for n in numbered]):
                await self.changes.delete_many({"_id": {"$in": chunk}})

    async def _next_seq(self, count: int = 1) -> int:
        """Reserve ``count`` numbers; the last of them (the first is this minus ``count - 1``)."""
        counter = await self.counters.find_one_and_update(
            {"_id": _COUNTER_ID},
            {"$inc": {"value": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert counter is not None
        return int(counter["value"])

    async def _log(self, employee_ids: list[str], last: int) -> None:
        """Note the numbers ``last - len + 1 .. last`` as changes of these employees, before the
        writes they number (a write that then loses its race leaves a harmless extra note)."""
        first = last - len(employee_ids) + 1
        await self.changes.insert_many(
            [{"_id": note_id(seq), "employee_id": e} for seq, e in enumerate(employee_ids, start=first)],
            ordered=False,
        )

    async def apply(self, snapshot: ProfileSnapshot) -> bool:
        """Store ``snapshot`` unless an equal or newer version is stored; True if stored."""
        seq = await self._next_seq()
        await self._log([snapshot.employee_id], seq)
        fields = _fields_of(snapshot) | {SEQ_FIELD: seq}
        try:
            result = await self.collection.update_one(
                {"_id": snapshot.employee_id, "version": {"$lt": snapshot.version}},
                {"$set": {**fields, "version": snapshot.version}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # an equal or newer version is stored: stale or repeated
        return result.upserted_id is not None or result.modified_count > 0

    async def apply_many(self, snapshots: list[ProfileSnapshot]) -> int:
        """:meth:`apply` for several employees at once (one counter update, and the chassis's
        :func:`~tandem_chassis.outbox.write_newer`: new employees inserted, the others upserted):
        the newest snapshot per employee, stored unless an equal or newer version is; the
        number stored."""
        newest: dict[str, ProfileSnapshot] = {}
        for snapshot in snapshots:
            known = newest.get(snapshot.employee_id)
            if known is None or snapshot.version > known.version:
                newest[snapshot.employee_id] = snapshot
        if not newest:
            return 0
        stored = await stored_versions(self.collection, list(newest))
        fresh = [s for s in newest.values() if stored.get(s.employee_id, 0) < s.version]
        if not fresh:
            return 0
        last = await self._next_seq(len(fresh))
        await self._log([s.employee_id for s in fresh], last)
        upserts = [
            Upsert(snapshot.employee_id, snapshot.version, {**_fields_of(snapshot), SEQ_FIELD: seq})
            for seq, snapshot in enumerate(fresh, start=last - len(fresh) + 1)
        ]
        return len(await write_newer(self.collection, upserts, stored))

    async def _notes(self, numbers: list[int]) -> list[str]:
        """The employees the change notes of ``numbers`` name (in their order)."""
        found: dict[str, str] = {}
        for chunk in id_chunks([note_id(n) for n in numbers]):
            async for note in self.changes.find({"_id": {"$in": chunk}}, {"employee_id": 1}):
                found[note["_id"]] = note["employee_id"]
        return [found[key] for n in numbers if (key := note_id(n)) in found]

    async def last_seq(self) -> int:
        """The newest counter value handed out (a cheap lookup by id, also on FerretDB)."""
        counter = await self.counters.find_one({"_id": _COUNTER_ID})
        return int(counter["value"]) if counter else 0

    async def get(self, employee_id: str) -> ProfileEntry | None:
        document = await self.collection.find_one({"_id": employee_id})
        return _entry(document) if document is not None else None

    async def changed_since(self, seq: int) -> list[ProfileEntry]:
        """Snapshots written after ``seq`` (all of them for 0), in no particular order.

        After a number, by the change notes (``_id`` lookups, a cost that does not grow with the
        projection); a long gap or 0 reads the whole projection instead.
        """
        shared = Shared()
        last = await self.last_seq()
        if seq <= 0 or last - seq > _LOOKUP_LIMIT:
            return [
                _entry(document, shared) async for document in self.collection.find({}, batch_size=_BATCH)
            ]
        if last <= seq:
            return []
        notes = await self._notes(list(range(seq + 1, last + 1)))
        return [
            _entry(document, shared)
            for employee_ids in id_chunks(list(dict.fromkeys(notes)))
            async for document in self.collection.find({"_id": {"$in": employee_ids}})
            if int(document.get(SEQ_FIELD, 0)) > seq
        ]

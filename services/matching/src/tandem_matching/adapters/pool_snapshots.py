"""The mentor pool's people, stored compactly so a starting process need not read the projection.

Reading 100,000 projection documents costs the local store about a millisecond each; this
snapshot holds the same people in a few documents of columns (10,000 people each). A
header ``{_id: "pool", generation, seq, parts}`` names the parts ``"<generation>.<i>"``; a new
snapshot writes its parts first and then swaps the header, so a reader finds either the old
snapshot or the new one whole (or, if the parts it named were deleted under it, none, and reads
the projection instead). Erased employees appear as an id and a version only.
"""

import asyncio
import json
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from bson import Binary
from pymongo.asynchronous.collection import AsyncCollection

from tandem_matching.adapters import Document
from tandem_matching.adapters.profiles_projection import Shared
from tandem_matching.domain.model import Person, PoolSnapshot

__all__ = ["MongoPoolSnapshots"]

_HEADER_ID = "pool"
_FORMAT = 2  # the column layout below; a header of another format is ignored
_PART_SIZE = 10_000  # people per part: about half a megabyte compressed
_ORPHAN_AGE = timedelta(hours=1)  # parts of a write that crashed before its header swap

# Person fields by how a part stores them: a code per person into a table of the column's
# distinct values (sets and tuples stored as lists), or, for skills and goals, a run of codes
# into a table of (name, level) pairs. Decoding is then list indexing, not parsing per person.
_CODED = (
    "active",
    "roles",
    "department",
    "level",
    "manager_id",
    "location",
    "timezone",
    "languages",
    "interests",
    "groups",
    "mentor_capacity",
    "department_preference",
)
_SETS = {"roles", "groups"}
_TUPLES = {"languages", "interests"}
_RUNS = ("skills", "goals")


def _codes(values: list[Any]) -> tuple[list[Any], bytes]:
    """The distinct values in first-seen order, and each value's position among them (int32)."""
    table: dict[Any, int] = {}
    codes = [table.setdefault(v, len(table)) for v in values]
    return list(table), np.asarray(codes, dtype="<i4").tobytes()


def _stored(value: Any) -> Any:
    return (
        sorted(value) if isinstance(value, frozenset) else list(value) if isinstance(value, tuple) else value
    )


def _encode(versions: list[tuple[str, int]], people: dict[str, Person]) -> Document:
    """One part: employees in ``versions`` order, the erased (not in ``people``) as id and version."""
    present = [people[e] for e, _ in versions if e in people]
    tables: dict[str, list[Any]] = {}
    columns: dict[str, Binary] = {}
    for name in _CODED:
        table, codes = _codes([getattr(p, name) for p in present])
        tables[name], columns[name] = [_stored(v) for v in table], Binary(codes)
    skills: dict[tuple[str, int], int] = {}
    for name in _RUNS:
        runs = [getattr(p, name) for p in present]
        run_codes = [skills.setdefault((s.name, s.level), len(skills)) for run in runs for s in run]
        ends = np.cumsum([len(run) for run in runs], dtype="<i4")
        columns[name] = Binary(np.asarray(run_codes, dtype="<i4").tobytes())
        columns[f"{name}_ends"] = Binary(ends.tobytes())
    heading = {
        "ids": [e for e, _ in versions],
        "versions": [v for _, v in versions],
        "present": [e in people for e, _ in versions],
        "tables": tables,
        "skills": [list(k) for k in skills],
    }
    return {
        "heading": Binary(zlib.compress(json.dumps(heading, separators=(",", ":")).encode(), 1)),
        **columns,
    }


def _int32(data: bytes) -> list[int]:
    return list(np.frombuffer(data, dtype="<i4").tolist())


def _decode(part: Document, shared: Shared) -> tuple[dict[str, int], list[Person]]:
    heading = json.loads(zlib.decompress(part["heading"]))
    ids = heading["ids"]
    versions = dict(zip(ids, heading["versions"], strict=True))
    columns: dict[str, list[Any]] = {}
    for name in _CODED:
        kind = frozenset if name in _SETS else tuple if name in _TUPLES else None
        table = [shared(kind(v) if kind else v) for v in heading["tables"][name]]
        columns[name] = list(map(table.__getitem__, _int32(part[name])))
    skill_table = [shared.skill(name, level) for name, level in heading["skills"]]
    for name in _RUNS:
        codes, ends = _int32(part[name]), _int32(part[f"{name}_ends"])
        columns[name] = [
            tuple(map(skill_table.__getitem__, codes[start:end]))
            for start, end in zip([0, *ends], ends, strict=False)  # each run starts where the last ended
        ]
    present = [e for e, here in zip(ids, heading["present"], strict=True) if here]
    people = list(
        map(
            Person,
            present,
            columns["active"],
            columns["roles"],
            columns["department"],
            columns["level"],
            columns["manager_id"],
            columns["location"],
            columns["timezone"],
            columns["languages"],
            columns["skills"],
            columns["goals"],
            columns["interests"],
            columns["groups"],
            columns["mentor_capacity"],
            [0] * len(present),  # active_mentees: the pool keeps seats apart
            columns["department_preference"],
        )
    )
    return versions, people


class MongoPoolSnapshots:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def stored_seq(self) -> int | None:
        """The projection number the stored snapshot covers (None: no snapshot)."""
        header = await self.collection.find_one({"_id": _HEADER_ID}, {"seq": 1, "format": 1})
        return int(header["seq"]) if header and header.get("format") == _FORMAT else None

    async def load(self) -> PoolSnapshot | None:
        """The stored snapshot, or None when there is none (or it was replaced while read)."""
        header = await self.collection.find_one({"_id": _HEADER_ID})
        if header is None or header.get("format") != _FORMAT:
            return None
        names = [f"{header['generation']}.{i}" for i in range(int(header["parts"]))]
        parts = {d["_id"]: d async for d in self.collection.find({"_id": {"$in": names}})}
        if len(parts) != len(names):
            return None
        shared = Shared()
        versions: dict[str, int] = {}
        people: list[Person] = []
        for name in names:  # each part off the event loop, so a waiting request gets a turn between
            part_versions, part_people = await asyncio.to_thread(_decode, parts.pop(name), shared)
            versions |= part_versions
            people += part_people
        return PoolSnapshot(seq=int(header["seq"]), versions=versions, people=tuple(people))

    async def save(self, snapshot: PoolSnapshot) -> None:
        """Store ``snapshot`` in place of the stored one."""
        people = {p.employee_id: p for p in snapshot.people}
        versions = list(snapshot.versions.items())
        generation = uuid.uuid4().hex
        now = datetime.now(UTC)
        names = []
        for i, start in enumerate(range(0, len(versions), _PART_SIZE)):
            part = await asyncio.to_thread(_encode, versions[start : start + _PART_SIZE], people)
            names.append(f"{generation}.{i}")
            await self.collection.insert_one(
                {"_id": names[-1], "generation": generation, "written_at": now, **part}
            )
        header = {
            "generation": generation,
            "format": _FORMAT,
            "seq": snapshot.seq,
            "parts": len(names),
            "people": len(snapshot.people),
            "written_at": now,
        }
        previous = await self.collection.find_one_and_replace({"_id": _HEADER_ID}, header, upsert=True)
        if previous is not None:
            old = [f"{previous['generation']}.{i}" for i in range(int(previous.get("parts", 0)))]
            await self.collection.delete_many({"_id": {"$in": old}})
        await self.collection.delete_many(
            {
                "_id": {"$ne": _HEADER_ID},
                "generation": {"$ne": generation},
                "written_at": {"$lt": now - _ORPHAN_AGE},
            }
        )

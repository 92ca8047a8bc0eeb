"""Programs (aggregates with an outbox for ``tandem.programs``) and their rounds."""

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from tandem_chassis import AggregateStore

from tandem_matching.adapters import Document
from tandem_matching.adapters.contract import program_created, round_completed
from tandem_matching.domain.model import Eligibility, Weights
from tandem_matching.domain.programs import Program, Round, RoundPair, RoundReport

__all__ = ["MongoPrograms", "MongoRounds"]


def _listed(values: Any) -> tuple[str, ...] | None:
    return tuple(values) if values is not None else None


def _program(document: Document) -> Program:
    rule = document.get("eligibility") or {}
    return Program(
        program_id=document["_id"],
        name=document["name"],
        created_at=document["created_at"],
        admin_ids=tuple(document.get("admin_ids", ())),
        description=document.get("description"),
        eligibility=Eligibility(
            departments=_listed(rule.get("departments")),
            min_level=rule.get("min_level"),
            max_level=rule.get("max_level"),
            locations=_listed(rule.get("locations")),
            groups=_listed(rule.get("groups")),
        ),
        weights=Weights(**document["weights"]) if document.get("weights") else Weights(),
        objective=document.get("objective", "score"),
        mentorship_length_days=document.get("mentorship_length_days", 180),
        proposal_expiry_days=document.get("proposal_expiry_days"),
        auto_close_inactive_days=document.get("auto_close_inactive_days"),
        mentee_ids=tuple(document.get("mentee_ids", ())),
        mentor_ids=tuple(document.get("mentor_ids", ())),
        round_ids=tuple(document.get("round_ids", ())),
        version=document["version"],
    )


def _program_state(program: Program) -> Document:
    rule = program.eligibility
    return {
        "program_id": program.program_id,
        "name": program.name,
        "description": program.description,
        "eligibility": {
            "departments": list(rule.departments) if rule.departments is not None else None,
            "min_level": rule.min_level,
            "max_level": rule.max_level,
            "locations": list(rule.locations) if rule.locations is not None else None,
            "groups": list(rule.groups) if rule.groups is not None else None,
        },
        "weights": program.weights.as_dict(),
        "objective": program.objective,
        "mentorship_length_days": program.mentorship_length_days,
        "proposal_expiry_days": program.proposal_expiry_days,
        "auto_close_inactive_days": program.auto_close_inactive_days,
        "admin_ids": list(program.admin_ids),
        "mentee_ids": list(program.mentee_ids),
        "mentor_ids": list(program.mentor_ids),
        "round_ids": list(program.round_ids),
        "created_at": program.created_at,
    }


class MongoPrograms:
    """Writes are guarded by version: a change carrying version v lands only over v - 1."""

    def __init__(self, store: AggregateStore) -> None:
        self.store = store
        self.collection = store.collection

    async def create_indexes(self) -> None:
        await self.store.create_indexes()
        await self.collection.create_index([("created_at", ASCENDING)])

    async def get(self, program_id: str) -> Program | None:
        document = await self.store.get(program_id)
        return _program(document) if document is not None else None

    async def add(self, program: Program) -> bool:
        """Store a new program with its ``program.created`` event."""
        state = _program_state(program)
        return await self.store.create(program.program_id, state, [program_created(program)])

    async def save(self, changed: Program, *, completed: Round | None = None) -> bool:
        """Write the change (with ``program.round_completed`` for a completed round); False if
        another write won."""
        current = await self.store.get(changed.program_id)
        if current is None or current["version"] != changed.version - 1:
            return False
        events = [round_completed(changed, completed)] if completed is not None else []
        caused_by = completed.round_id if completed is not None else None
        return await self.store.update(current, _program_state(changed), events, caused_by=caused_by)

    async def list(self, *, limit: int) -> list[Program]:
        cursor = self.collection.find({}).sort("created_at", DESCENDING).limit(limit)
        return [_program(document) async for document in cursor]


def _round_state(done: Round) -> Document:
    state: Document = {"program_id": done.program_id, "status": done.status, "started_at": done.started_at}
    if done.status == "running":
        return state
    report = done.report
    return state | {
        "round_id": done.round_id,
        "objective": done.objective,
        "completed_at": done.completed_at,
        "matched": report.matched,
        "pairs": [
            {"mentee_id": p.mentee_id, "mentor_id": p.mentor_id, "score": p.score} for p in report.pairs
        ],
        "unmatched": [{"mentee_id": m, "reason": r} for m, r in report.unmatched],
        "unmatched_reasons": report.unmatched_reasons,
        "total_score": report.total_score,
        "mean_score": report.mean_score,
        "min_score": report.min_score,
        "mentor_load": report.mentor_load,
    }


def _round(document: Document) -> Round:
    report = RoundReport(
        pairs=tuple(RoundPair(p["mentee_id"], p["mentor_id"], p["score"]) for p in document.get("pairs", ())),
        unmatched=tuple((u["mentee_id"], u["reason"]) for u in document.get("unmatched", ())),
        total_score=document.get("total_score", 0.0),
        mean_score=document.get("mean_score"),
        min_score=document.get("min_score"),
        mentor_load=dict(document.get("mentor_load", {})),
    )
    return Round(
        round_id=document["_id"],
        program_id=document["program_id"],
        started_at=document["started_at"],
        status=document["status"],
        objective=document.get("objective"),
        completed_at=document.get("completed_at"),
        report=report,
    )


class MongoRounds:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("program_id", ASCENDING), ("started_at", ASCENDING)])

    async def put(self, done: Round) -> None:
        await self.collection.replace_one(
            {"_id": done.round_id}, {**_round_state(done), "_id": done.round_id}, upsert=True
        )

    async def get(self, round_id: str) -> Round | None:
        document = await self.collection.find_one({"_id": round_id})
        return _round(document) if document is not None else None

    async def claim_lease(self, program_id: str, holder: str, *, now: datetime, lease: timedelta) -> bool:
        """Take the program's round lease, shared by every replica through the store; False while
        another holder has it and it has not run out (a crashed holder's lease does, in time)."""
        key, until = f"lease:{program_id}", now + lease
        try:
            await self.collection.insert_one({"_id": key, "holder": holder, "until": until})
            return True
        except DuplicateKeyError:
            taken = await self.collection.update_one(
                {"_id": key, "until": {"$lt": now}}, {"$set": {"holder": holder, "until": until}}
            )
            return taken.modified_count == 1

    async def release_lease(self, program_id: str, holder: str) -> None:
        await self.collection.delete_one({"_id": f"lease:{program_id}", "holder": holder})

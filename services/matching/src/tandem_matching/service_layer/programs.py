"""Program use cases: create, enroll, run a round (one global assignment), read them back."""

import asyncio
import uuid
import weakref
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from tandem_contracts import MentorshipSnapshot, ProgramCreated, RoundCompleted

from tandem_matching.adapters.mentor_load import MentorLoadRepository
from tandem_matching.adapters.mentorships import CLOSED, OPEN, MentorshipRepository
from tandem_matching.adapters.profiles_projection import ProfileProjection
from tandem_matching.adapters.programs import ProgramRepository, RoundRepository
from tandem_matching.domain.assignment import (
    CAPACITY_EXHAUSTED,
    NO_ELIGIBLE_MENTOR,
    Assignment,
    assign,
    load_histogram,
)
from tandem_matching.domain.index import MentorIndex
from tandem_matching.domain.model import Eligibility, Person, Weights
from tandem_matching.domain.scoring import components, score_matrix
from tandem_matching.domain.suggestions import explain
from tandem_matching.service_layer.clock import utcnow
from tandem_matching.service_layer.errors import (
    ConcurrentUpdateError,
    NotFoundError,
    RequestRefusedError,
)
from tandem_matching.service_layer.mentorships import ProgramTerms, propose
from tandem_matching.service_layer.pool import MentorPool

__all__ = [
    "PROFILE_UNKNOWN",
    "create_program",
    "enroll",
    "get_program",
    "get_round",
    "list_programs",
    "run_round",
    "terms_of",
]

Document = dict[str, Any]
PROFILE_UNKNOWN = "profile_unknown"
ROUND_RUNNING = "round_running"
ROUND_LEASE = timedelta(minutes=10)  # longer than any round; a crashed replica's lease runs out
_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
_ATTEMPTS = 20


def _lock(program_id: str) -> asyncio.Lock:
    lock = _locks.get(program_id)
    if lock is None:
        lock = _locks[program_id] = asyncio.Lock()
    return lock


def _eligibility(filters: Document | None) -> Eligibility | None:
    if not filters:
        return None
    departments, locations = filters.get("departments"), filters.get("locations")
    return Eligibility(
        departments=frozenset(departments) if departments is not None else None,
        min_level=filters.get("min_level"),
        max_level=filters.get("max_level"),
        locations=frozenset(locations) if locations is not None else None,
    )


def terms_of(program: Document | None, *, default_expiry: timedelta) -> ProgramTerms:
    """A program's matching terms (the defaults outside any program)."""
    if program is None:
        return ProgramTerms(expiry=default_expiry)
    days = program.get("proposal_expiry_days")
    return ProgramTerms(
        weights=Weights(**program["weights"]) if program.get("weights") else None,
        eligibility=_eligibility(program.get("eligibility")),
        expiry=timedelta(days=days) if days is not None else default_expiry,
        program_id=program["_id"],
    )


async def create_program(
    spec: Document, *, admin_id: str, programs: ProgramRepository, now: datetime | None = None
) -> Document:
    """Store a program and publish ``program.created``; the creator is its admin."""
    program_id = uuid.uuid4().hex
    at = now or utcnow()
    state = {
        **spec,
        "program_id": program_id,
        "admin_ids": [admin_id],
        "mentee_ids": [],
        "mentor_ids": [],
        "round_ids": [],
        "created_at": at,
    }
    created = ProgramCreated(
        program_id=program_id,
        name=spec["name"],
        objective=spec.get("objective", "score"),
        admin_ids=[admin_id],
        created_at=at,
    )
    await programs.create(program_id, state, created)
    program = await programs.get(program_id)
    assert program is not None
    return program


async def get_program(program_id: str, *, programs: ProgramRepository) -> Document:
    program = await programs.get(program_id)
    if program is None:
        raise NotFoundError(f"no program {program_id}")
    return program


async def list_programs(*, limit: int, programs: ProgramRepository) -> list[Document]:
    return await programs.list(limit=limit)


async def enroll(
    program_id: str,
    *,
    mentee_ids: list[str],
    mentor_ids: list[str],
    programs: ProgramRepository,
) -> Document:
    """Add mentees and/or mentors to a program (repeating an enrollment changes nothing)."""
    async with _lock(program_id):
        for _ in range(_ATTEMPTS):
            program = await get_program(program_id, programs=programs)
            mentees = list(dict.fromkeys([*program.get("mentee_ids", []), *mentee_ids]))
            mentors = list(dict.fromkeys([*program.get("mentor_ids", []), *mentor_ids]))
            changes = {"mentee_ids": mentees, "mentor_ids": mentors}
            if await programs.save(program, changes):
                return program | changes | {"version": program["version"] + 1}
    raise ConcurrentUpdateError(f"program {program_id} kept changing under us")


async def get_round(program_id: str, round_id: str, *, rounds: RoundRepository) -> Document:
    found = await rounds.get(round_id)
    if found is None or found.get("program_id") != program_id:
        raise NotFoundError(f"no round {round_id} in program {program_id}")
    return found


def _mentor_pool(program: Document, pool: MentorPool) -> list[Person]:
    """The program's enrolled mentors, or every mentor when none is enrolled."""
    enrolled = program.get("mentor_ids") or []
    if enrolled:
        people = (pool.person(mentor_id) for mentor_id in enrolled)
        return [p for p in people if p is not None]
    return sorted(
        (p for p in pool.people.values() if p.active and "mentor" in p.roles),
        key=lambda p: p.employee_id,
    )


async def run_round(
    program_id: str, *, rounds: RoundRepository, now: datetime | None = None, **collaborators: Any
) -> Document:
    """Run one round of the program (see ``_run_round``), one at a time across replicas: the
    in-process lock serialises one replica's calls, the store's round lease those of several; a
    round asked for while another runs is refused (409 ``round_running``)."""
    holder = uuid.uuid4().hex
    if not await rounds.claim_lease(program_id, holder, now=now or utcnow(), lease=ROUND_LEASE):
        raise RequestRefusedError(ROUND_RUNNING, f"a round of program {program_id} is running")
    try:
        return await _run_round(program_id, rounds=rounds, now=now, **collaborators)
    finally:
        await rounds.release_lease(program_id, holder)


async def _run_round(
    program_id: str,
    *,
    default_expiry: timedelta,
    pool: MentorPool,
    programs: ProgramRepository,
    rounds: RoundRepository,
    mentorships: MentorshipRepository,
    loads: MentorLoadRepository,
    projection: ProfileProjection,
    now: datetime | None = None,
) -> Document:
    """Match every enrolled, unmatched mentee at once under the mentors' free seats; propose
    the result, store the report and publish ``program.round_completed``."""
    async with _lock(program_id):
        program = await get_program(program_id, programs=programs)
        terms = terms_of(program, default_expiry=default_expiry)
        at = now or utcnow()
        round_id = uuid.uuid4().hex
        await rounds.put(round_id, {"program_id": program_id, "status": "running", "started_at": at})
        await pool.refresh()

        matched_already = {
            d["mentee_id"] for d in await mentorships.find(program_id=program_id, statuses=OPEN)
        }
        waiting = [m for m in program.get("mentee_ids", []) if m not in matched_already]
        unmatched: dict[str, str] = {}
        mentees: list[Person] = []
        for mentee_id in waiting:
            person = pool.person(mentee_id)
            if person is None:
                unmatched[mentee_id] = PROFILE_UNKNOWN
            else:
                mentees.append(person)

        mentors = _mentor_pool(program, pool)
        taken = await loads.of([m.employee_id for m in mentors])
        mentors = [replace(m, active_mentees=taken.get(m.employee_id, (0, 0))[0]) for m in mentors]
        index = MentorIndex(mentors, managers=dict(pool.managers))
        history = await mentorships.find(
            mentee_ids=[m.employee_id for m in mentees], statuses=(*CLOSED, *OPEN)
        )
        excluded = {(d["mentee_id"], d["mentor_id"]) for d in history}
        scores, feasible, reasons = score_matrix(
            index, mentees, terms.weights, excluded_pairs=excluded, eligibility=terms.eligibility
        )
        if index.size and mentees:
            result = assign(
                scores, feasible, index.free_capacity, objective=program.get("objective", "score")
            )
        else:
            result = Assignment([], {row: NO_ELIGIBLE_MENTOR for row in range(len(mentees))})

        proposed: list[tuple[int, int, float]] = []
        for row, pos, score in result.pairs:
            mentee = mentees[row]
            explanation = explain(index, mentee, pos, components(index, mentee))
            proposal = MentorshipSnapshot(
                mentorship_id=f"{round_id}.{mentee.employee_id}",
                mentor_id=index.ids[pos],
                mentee_id=mentee.employee_id,
                program_id=program_id,
                round_id=round_id,
                status="proposed",
                origin="round",
                score=round(score, 4),
                breakdown=explanation.breakdown,
                reasons=explanation.reasons,
                proposed_at=at,
                expires_at=at + terms.expiry,
            )
            try:
                await propose(
                    proposal, mentorships=mentorships, loads=loads, projection=projection, pool=pool
                )
            except RequestRefusedError:
                unmatched[mentee.employee_id] = CAPACITY_EXHAUSTED  # a seat went meanwhile
                continue
            proposed.append((row, pos, score))
        for row, reason in result.unmatched.items():
            unmatched[mentees[row].employee_id] = reasons.get(row, reason)

        done = Assignment(proposed, {})
        report = _report(done, unmatched, index, mentees)
        completed_at = utcnow()
        stored = {
            "program_id": program_id,
            "round_id": round_id,
            "status": "completed",
            "objective": program.get("objective", "score"),
            "started_at": at,
            "completed_at": completed_at,
            **report,
        }
        await rounds.put(round_id, stored)
        event = RoundCompleted(
            program_id=program_id,
            round_id=round_id,
            program_name=program.get("name"),
            admin_ids=program.get("admin_ids", []),
            matched=report["matched"],
            unmatched=len(report["unmatched"]),
            unmatched_reasons=report["unmatched_reasons"],
            total_score=report["total_score"],
            mean_score=report["mean_score"],
            min_score=report["min_score"],
            mentor_load=report["mentor_load"],
            completed_at=completed_at,
        )
        await _record_round(program_id, round_id, event, programs=programs)
        return stored


def _report(
    done: Assignment, unmatched: dict[str, str], index: MentorIndex, mentees: list[Person]
) -> Document:
    reasons: dict[str, int] = {}
    for reason in unmatched.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    return {
        "matched": done.matched,
        "pairs": [
            {
                "mentee_id": mentees[row].employee_id,
                "mentor_id": index.ids[pos],
                "score": round(score, 4),
            }
            for row, pos, score in done.pairs
        ],
        "unmatched": [{"mentee_id": m, "reason": r} for m, r in sorted(unmatched.items())],
        "unmatched_reasons": reasons,
        "total_score": round(done.total_score, 4),
        "mean_score": round(done.mean_score, 4) if done.pairs else None,
        "min_score": round(done.min_score, 4) if done.pairs else None,
        "mentor_load": {str(k): v for k, v in load_histogram(done, index.size).items()},
    }


async def _record_round(
    program_id: str, round_id: str, event: RoundCompleted, *, programs: ProgramRepository
) -> None:
    for _ in range(_ATTEMPTS):
        program = await get_program(program_id, programs=programs)
        if round_id in program.get("round_ids", []):
            return
        changes = {"round_ids": [*program.get("round_ids", []), round_id]}
        if await programs.save(program, changes, completed=event, caused_by=round_id):
            return
    raise ConcurrentUpdateError(f"program {program_id} kept changing under us")

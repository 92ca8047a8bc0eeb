"""Program use cases: create, enroll, run a round (one global assignment), read them back."""

import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta

from tandem_chassis.concurrency import Retry, keyed_lock, retry_on_conflict

from tandem_matching.domain.assignment import CAPACITY_EXHAUSTED
from tandem_matching.domain.mentorship import CLOSED, OPEN, Mentorship
from tandem_matching.domain.model import Eligibility, Weights
from tandem_matching.domain.programs import Objective, Program, ProgramTerms, Round, RoundPair, RoundReport
from tandem_matching.domain.rounds import RoundPlan, plan_round, round_mentors
from tandem_matching.service_layer.errors import NotFoundError, RequestRefusedError
from tandem_matching.service_layer.mentorships import propose
from tandem_matching.service_layer.unit_of_work import UnitOfWork

__all__ = [
    "NewProgram",
    "create_program",
    "enroll",
    "get_program",
    "get_round",
    "list_programs",
    "run_round",
    "set_weights",
]

ROUND_RUNNING = "round_running"
ROUND_LEASE = timedelta(minutes=10)  # longer than any round; a crashed replica's lease runs out


@dataclass(frozen=True, slots=True)
class NewProgram:
    """What an admin says when creating a program."""

    name: str
    description: str | None
    eligibility: Eligibility
    weights: Weights
    objective: Objective
    mentorship_length_days: int
    proposal_expiry_days: float | None
    auto_close_inactive_days: int | None = None


def _program_lock(program_id: str) -> AbstractAsyncContextManager[None]:
    return keyed_lock(f"program:{program_id}")


async def create_program(uow: UnitOfWork, spec: NewProgram, *, admin_id: str) -> Program:
    """Store a program and publish ``program.created``; the creator is its admin."""
    program = Program(
        program_id=uow.new_id(),
        name=spec.name,
        created_at=uow.clock(),
        admin_ids=(admin_id,),
        description=spec.description,
        eligibility=spec.eligibility,
        weights=spec.weights,
        objective=spec.objective,
        mentorship_length_days=spec.mentorship_length_days,
        proposal_expiry_days=spec.proposal_expiry_days,
        auto_close_inactive_days=spec.auto_close_inactive_days,
    )
    await uow.programs.add(program)
    return await get_program(uow, program.program_id)


async def get_program(uow: UnitOfWork, program_id: str) -> Program:
    program = await uow.programs.get(program_id)
    if program is None:
        raise NotFoundError(f"no program {program_id}")
    return program


async def list_programs(uow: UnitOfWork, *, limit: int) -> list[Program]:
    return await uow.programs.list(limit=limit)


async def enroll(
    uow: UnitOfWork, program_id: str, *, mentee_ids: list[str], mentor_ids: list[str]
) -> Program:
    """Add mentees and/or mentors to a program (repeating an enrollment changes nothing)."""

    async def attempt() -> Program:
        program = await get_program(uow, program_id)
        changed = program.enrolled(mentee_ids=mentee_ids, mentor_ids=mentor_ids)
        if not await uow.programs.save(changed):
            raise Retry
        return changed

    async with _program_lock(program_id):
        return await retry_on_conflict(attempt, what=f"program {program_id}")


async def set_weights(uow: UnitOfWork, program_id: str, weights: Weights) -> Program:
    """Replace the program's weights (e.g. with a learned proposal); rounds and suggestions
    within the program score with them from now on."""

    async def attempt() -> Program:
        changed = (await get_program(uow, program_id)).with_weights(weights)
        if not await uow.programs.save(changed):
            raise Retry
        return changed

    async with _program_lock(program_id):
        return await retry_on_conflict(attempt, what=f"program {program_id}")


async def get_round(uow: UnitOfWork, program_id: str, round_id: str) -> Round:
    found = await uow.rounds.get(round_id)
    if found is None or found.program_id != program_id:
        raise NotFoundError(f"no round {round_id} in program {program_id}")
    return found


async def _plan(uow: UnitOfWork, program: Program, terms: ProgramTerms) -> RoundPlan:
    """Read what the round needs (waiting mentees, mentors' seats, who met before) and plan it."""
    await uow.pool.refresh()
    people = uow.pool.people
    matched = {m.mentee_id for m in await uow.mentorships.find(program_id=program.program_id, statuses=OPEN)}
    waiting = [m for m in program.mentee_ids if m not in matched]
    mentors = round_mentors(program, people)
    seats = await uow.loads.of([m.employee_id for m in mentors])
    known = [m for m in waiting if m in people]
    history = await uow.mentorships.find(mentee_ids=known, statuses=(*CLOSED, *OPEN))
    return plan_round(
        program,
        terms,
        waiting=waiting,
        people=people,
        mentors=mentors,
        seats_taken={mentor_id: s.active for mentor_id, s in seats.items()},
        managers=dict(uow.pool.managers),
        excluded_pairs={(m.mentee_id, m.mentor_id) for m in history},
    )


async def _propose_plan(
    uow: UnitOfWork, plan: RoundPlan, started: Round, terms: ProgramTerms
) -> tuple[list[RoundPair], dict[str, str]]:
    """Propose every planned pair; a pair whose seat went meanwhile is unmatched."""
    proposed: list[RoundPair] = []
    unmatched = dict(plan.unmatched)
    for pair in plan.pairs:
        proposal = Mentorship.proposal(
            f"{started.round_id}.{pair.mentee_id}",
            mentor_id=pair.mentor_id,
            mentee_id=pair.mentee_id,
            program_id=started.program_id,
            round_id=started.round_id,
            origin="round",
            score=pair.score,
            explanation=pair.explanation,
            at=started.started_at,
            expiry=terms.expiry,
        )
        try:
            await propose(uow, proposal)
        except RequestRefusedError:
            unmatched[pair.mentee_id] = CAPACITY_EXHAUSTED
            continue
        proposed.append(RoundPair(pair.mentee_id, pair.mentor_id, pair.score))
    return proposed, unmatched


async def run_round(uow: UnitOfWork, program_id: str) -> Round:
    """Run one round of the program (see ``_run_round``), one at a time across replicas: the
    in-process lock serialises one replica's calls, the store's round lease those of several; a
    round asked for while another runs is refused (409 ``round_running``)."""
    holder = uuid.uuid4().hex
    if not await uow.rounds.claim_lease(program_id, holder, now=uow.clock(), lease=ROUND_LEASE):
        raise RequestRefusedError(ROUND_RUNNING, f"a round of program {program_id} is running")
    try:
        return await _run_round(uow, program_id)
    finally:
        await uow.rounds.release_lease(program_id, holder)


async def _run_round(uow: UnitOfWork, program_id: str) -> Round:
    """Match every enrolled, unmatched mentee at once under the mentors' free seats; propose
    the result, store the report and publish ``program.round_completed``."""
    async with _program_lock(program_id):
        program = await get_program(uow, program_id)
        terms = program.terms(default_expiry=uow.default_expiry)
        started = Round(round_id=uow.new_id(), program_id=program_id, started_at=uow.clock())
        await uow.rounds.put(started)
        plan = await _plan(uow, program, terms)
        proposed, unmatched = await _propose_plan(uow, plan, started, terms)
        report = RoundReport.of(proposed, unmatched, plan.n_mentors)
        done = started.completed(report, objective=program.objective, at=uow.clock())
        await uow.rounds.put(done)
        await _record_round(uow, program_id, done)
        return done


async def _record_round(uow: UnitOfWork, program_id: str, done: Round) -> None:
    async def attempt() -> None:
        program = await get_program(uow, program_id)
        if done.round_id in program.round_ids:
            return
        if not await uow.programs.save(program.with_round(done.round_id), completed=done):
            raise Retry

    await retry_on_conflict(attempt, what=f"program {program_id}")

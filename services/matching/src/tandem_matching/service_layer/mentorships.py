"""Mentorship use cases: suggest, request, propose, accept/decline/end, expire, re-propose."""

from dataclasses import replace

import numpy as np
from tandem_chassis.concurrency import Retry, retry_on_conflict

from tandem_matching.domain.index import MentorIndex
from tandem_matching.domain.lifecycle import Action, EndReason, IllegalTransition, State
from tandem_matching.domain.mentorship import CLOSED, GIVE_BACK_A_SEAT, OPEN, Mentorship
from tandem_matching.domain.model import Person
from tandem_matching.domain.programs import ProgramTerms
from tandem_matching.domain.scoring import assess
from tandem_matching.domain.suggestions import Suggestion, explain_pairs, suggest
from tandem_matching.service_layer.errors import NotFoundError, RequestRefusedError
from tandem_matching.service_layer.seats import change_seats, mentor_lock, take_seat
from tandem_matching.service_layer.unit_of_work import UnitOfWork

__all__ = [
    "ALREADY_OPEN",
    "MENTOR_AT_CAPACITY",
    "PAIR_EXCLUDED",
    "act_on_mentorship",
    "excluded_mentors",
    "expire_due_proposals",
    "get_mentorship",
    "list_mentorships",
    "propose",
    "repropose",
    "request_mentorship",
    "suggest_mentors",
    "terms_of",
]

MENTOR_AT_CAPACITY = "mentor_at_capacity"
ALREADY_OPEN = "already_open"
PAIR_EXCLUDED = "pair_excluded"
_REPROPOSAL_CHOICES = 5  # the next best mentors tried when a seat goes meanwhile


async def _person(uow: UnitOfWork, employee_id: str) -> Person:
    person = uow.pool.person(employee_id)
    if person is None:
        raise NotFoundError(f"no profile for employee {employee_id}")
    return person


async def excluded_mentors(uow: UnitOfWork, mentee_id: str) -> set[str]:
    """Mentors this mentee must not be suggested or proposed again: declined, ended or open."""
    found = await uow.mentorships.find(mentee_id=mentee_id, statuses=(*CLOSED, *OPEN))
    return {m.mentor_id for m in found}


async def suggest_mentors(
    uow: UnitOfWork, mentee_id: str, *, limit: int, program_id: str | None = None
) -> list[Suggestion]:
    """Top mentors for one mentee; pending proposals per mentor spread the demand.

    Within a program, its weights and eligibility apply (an ineligible mentee gets none).
    """
    terms = ProgramTerms(expiry=uow.default_expiry)
    if program_id is not None:
        program = await uow.programs.get(program_id)
        if program is None:
            raise NotFoundError(f"no program {program_id}")
        terms = program.terms(default_expiry=uow.default_expiry)
    await uow.pool.refresh()
    mentee = await _person(uow, mentee_id)
    exclude = await excluded_mentors(uow, mentee_id)
    view = await uow.pool.view()
    limit = min(limit, uow.settings.max_suggestions)
    return suggest(
        view.index,
        mentee,
        terms.weights,
        limit=limit,
        exclude=exclude,
        demand=view.demand,
        eligibility=terms.eligibility,
    )


async def propose(uow: UnitOfWork, proposal: Mentorship) -> Mentorship:
    """Take a seat with the mentor and store the proposal (publishing ``mentorship.proposed``).

    Raises ``RequestRefusedError`` when the mentor is full or the pair is already open.
    Idempotent by ``mentorship_id``: an existing proposal is returned as it is.
    """
    existing = await uow.mentorships.get(proposal.mentorship_id)
    if existing is not None:
        return existing
    mentor_id = proposal.mentor_id
    async with mentor_lock(mentor_id):
        open_pair = await uow.mentorships.find(
            mentee_id=proposal.mentee_id, mentor_id=mentor_id, statuses=OPEN, limit=1
        )
        if open_pair:
            raise RequestRefusedError(ALREADY_OPEN, "this pair already has an open mentorship")
        entry = await uow.profiles.get(mentor_id)
        capacity = entry.person.seats_offered if entry is not None and entry.person is not None else 0
        if await take_seat(uow, mentor_id, capacity=capacity) is None:
            raise RequestRefusedError(
                MENTOR_AT_CAPACITY, f"mentor {mentor_id} has no free seat (capacity {capacity})"
            )
        if not await uow.mentorships.add(proposal):  # proposed meanwhile: give the seat back
            await change_seats(uow, mentor_id, GIVE_BACK_A_SEAT)
            stored = await uow.mentorships.get(proposal.mentorship_id)
            assert stored is not None
            return stored
    return proposal


def _pair_index(uow: UnitOfWork, mentee: Person, mentor: Person) -> MentorIndex:
    """An index of this one mentor with a free seat (seats are checked by `take_seat`), and
    the managers' managers the reporting-line check needs."""
    managers = {p.manager_id: uow.pool.managers.get(p.manager_id) for p in (mentee, mentor) if p.manager_id}
    return MentorIndex([replace(mentor, active_mentees=0)], managers=managers)


async def request_mentorship(
    uow: UnitOfWork, mentee_id: str, mentor_id: str, *, message: str | None
) -> Mentorship:
    """A mentee asks a mentor: checks the hard constraints, scores the pair, proposes."""
    await uow.pool.refresh()
    mentee, mentor = await _person(uow, mentee_id), await _person(uow, mentor_id)
    earlier = await uow.mentorships.find(mentee_id=mentee_id, mentor_id=mentor_id, statuses=(*CLOSED, *OPEN))
    if any(m.status in CLOSED for m in earlier):
        raise RequestRefusedError(PAIR_EXCLUDED, "this pair was declined or ended before")
    if earlier:
        raise RequestRefusedError(ALREADY_OPEN, "this pair already has an open mentorship")
    index = _pair_index(uow, mentee, mentor)
    found = assess(index, mentee)
    if not found.feasible[0]:
        reason = found.reason or "infeasible"
        raise RequestRefusedError(reason, f"this pair is not possible: {reason}")
    first = np.zeros(1, dtype=np.int64)
    (explanation,) = explain_pairs(index, mentee, first, found.breakdown(first))
    proposal = Mentorship.proposal(
        uow.new_id(),
        mentor_id=mentor_id,
        mentee_id=mentee_id,
        origin="request",
        score=float(found.scores[0]),
        explanation=explanation,
        message=message,
        at=uow.clock(),
        expiry=uow.default_expiry,
    )
    return await propose(uow, proposal)


async def act_on_mentorship(
    uow: UnitOfWork,
    mentorship_id: str,
    action: Action,
    *,
    actor_id: str | None,
    as_system: bool = False,
    reason: EndReason | str | None = None,
) -> Mentorship:
    """Accept, decline, expire or end; raises ``NotPermitted`` (wrong party) or
    ``IllegalTransition`` (wrong state), and frees the mentor's seat when it ends."""
    found = await uow.mentorships.get(mentorship_id)
    if found is None:
        raise NotFoundError(f"no mentorship {mentorship_id}")

    async def attempt() -> Mentorship:
        current = await uow.mentorships.get(mentorship_id)
        assert current is not None
        role = current.role_of(actor_id, action, as_system=as_system)
        changed = current.act(action, role, at=uow.clock(), reason=reason)
        if not await uow.mentorships.save(changed):
            raise Retry
        await change_seats(uow, current.mentor_id, current.seat_change(changed))
        return changed

    async with mentor_lock(found.mentor_id):
        return await retry_on_conflict(attempt, what=f"mentorship {mentorship_id}")


async def get_mentorship(uow: UnitOfWork, mentorship_id: str) -> Mentorship:
    found = await uow.mentorships.get(mentorship_id)
    if found is None:
        raise NotFoundError(f"no mentorship {mentorship_id}")
    return found


async def list_mentorships(
    uow: UnitOfWork, *, employee_id: str | None, status: State | None, limit: int
) -> list[Mentorship]:
    if employee_id is not None:
        return await uow.mentorships.of_employee(employee_id, status=status, limit=limit)
    return await uow.mentorships.find(statuses=[status] if status else None, limit=limit)


async def expire_due_proposals(uow: UnitOfWork) -> int:
    """The expiry job: proposals nobody answered in time become ``expired``."""
    expired = 0
    for mentorship_id in await uow.mentorships.due_to_expire(uow.clock()):
        try:
            await act_on_mentorship(uow, mentorship_id, Action.EXPIRE, actor_id=None, as_system=True)
        except IllegalTransition:
            continue  # answered meanwhile
        expired += 1
    return expired


async def terms_of(uow: UnitOfWork, mentorship: Mentorship) -> ProgramTerms:
    """The terms a mentorship was made under: its program's, else the defaults."""
    program = await uow.programs.get(mentorship.program_id) if mentorship.program_id else None
    if program is not None:
        return program.terms(default_expiry=uow.default_expiry)
    return ProgramTerms(expiry=uow.default_expiry)


async def repropose(uow: UnitOfWork, ended: Mentorship, terms: ProgramTerms) -> Mentorship | None:
    """Propose the best next mentor to a mentee whose mentorship ended (their mentor left, or
    the fit was poor); at most once per ending."""
    mentorship_id = f"{ended.mentorship_id}.r"
    existing = await uow.mentorships.get(mentorship_id)
    if existing is not None:
        return existing
    mentee = uow.pool.person(ended.mentee_id)
    if mentee is None or not mentee.active:
        return None
    exclude = await excluded_mentors(uow, ended.mentee_id) | {ended.mentor_id}
    view = await uow.pool.view()
    candidates = suggest(
        view.index,
        mentee,
        terms.weights,
        limit=_REPROPOSAL_CHOICES,
        exclude=exclude,
        demand=view.demand,
        eligibility=terms.eligibility,
    )
    at = uow.clock()
    for candidate in candidates:
        proposal = Mentorship.proposal(
            mentorship_id,
            mentor_id=candidate.mentor_id,
            mentee_id=ended.mentee_id,
            program_id=ended.program_id,
            origin="reproposal",
            score=candidate.score,
            explanation=candidate.explanation,
            at=at,
            expiry=terms.expiry,
            replaces=ended.mentorship_id,
        )
        try:
            return await propose(uow, proposal)
        except RequestRefusedError:
            continue  # that seat went meanwhile: the next best
    return None

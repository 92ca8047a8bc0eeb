"""Mentorship use cases: request, propose, accept/decline/end, expire, and who leaves.

Capacity is decided per mentor under an in-process lock (FerretDB's conditional updates are
not atomic under concurrent writers) and recorded with a version CAS on the mentor's load
document, so replicas cannot oversubscribe a mentor either.
"""

import asyncio
import uuid
import weakref
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from tandem_contracts import MentorshipSnapshot

from tandem_matching.adapters.mentor_load import MentorLoadRepository
from tandem_matching.adapters.mentorships import CLOSED, OPEN, MentorshipRepository, snapshot_of
from tandem_matching.adapters.profiles_projection import ProfileProjection
from tandem_matching.domain.constraints import feasible_mentors
from tandem_matching.domain.index import MentorIndex
from tandem_matching.domain.lifecycle import (
    Action,
    ActorRole,
    IllegalTransition,
    NotPermitted,
    transition,
)
from tandem_matching.domain.model import Eligibility, Person, Weights
from tandem_matching.domain.scoring import score_mentee
from tandem_matching.domain.suggestions import Suggestion, explain, suggest
from tandem_matching.service_layer.clock import utcnow
from tandem_matching.service_layer.errors import (
    ConcurrentUpdateError,
    NotFoundError,
    RequestRefusedError,
)
from tandem_matching.service_layer.pool import MentorPool

__all__ = [
    "MENTOR_AT_CAPACITY",
    "ProgramTerms",
    "act_on_mentorship",
    "excluded_mentors",
    "expire_due_proposals",
    "get_mentorship",
    "list_mentorships",
    "propose",
    "reconcile_loads",
    "repropose",
    "request_mentorship",
    "suggest_mentors",
]

Document = dict[str, Any]
MENTOR_AT_CAPACITY = "mentor_at_capacity"
ALREADY_OPEN = "already_open"
PAIR_EXCLUDED = "pair_excluded"
_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
_ATTEMPTS = 20
# Seat changes per (from, to) status: (active delta, pending delta).
_LOAD_DELTAS: dict[tuple[str, str], tuple[int, int]] = {
    ("proposed", "accepted"): (0, -1),
    ("proposed", "declined"): (-1, -1),
    ("proposed", "expired"): (-1, -1),
    ("proposed", "ended"): (-1, -1),
    ("accepted", "ended"): (-1, 0),
}


def mentor_lock(mentor_id: str) -> asyncio.Lock:
    lock = _locks.get(mentor_id)
    if lock is None:
        lock = _locks[mentor_id] = asyncio.Lock()
    return lock


class ProgramTerms:
    """What a program says about matching: weights, eligibility, proposal expiry."""

    def __init__(
        self,
        *,
        weights: Weights | None = None,
        eligibility: Eligibility | None = None,
        expiry: timedelta,
        program_id: str | None = None,
    ) -> None:
        self.weights = weights or Weights()
        self.eligibility = eligibility
        self.expiry = expiry
        self.program_id = program_id


async def excluded_mentors(mentee_id: str, *, mentorships: MentorshipRepository) -> set[str]:
    """Mentors this mentee must not be suggested or proposed again: declined, ended or open."""
    found = await mentorships.find(mentee_id=mentee_id, statuses=(*CLOSED, *OPEN))
    return {document["mentor_id"] for document in found}


async def suggest_mentors(
    mentee_id: str,
    *,
    limit: int,
    pool: MentorPool,
    mentorships: MentorshipRepository,
) -> list[Suggestion]:
    """Top mentors for one mentee; pending proposals per mentor spread the demand."""
    await pool.refresh()
    mentee = pool.person(mentee_id)
    if mentee is None:
        raise NotFoundError(f"no profile for employee {mentee_id}")
    exclude = await excluded_mentors(mentee_id, mentorships=mentorships)
    view = await pool.view()
    return suggest(view.index, mentee, Weights(), limit=limit, exclude=exclude, demand=view.demand)


async def propose(
    proposal: MentorshipSnapshot,
    *,
    mentorships: MentorshipRepository,
    loads: MentorLoadRepository,
    projection: ProfileProjection,
    pool: MentorPool,
) -> MentorshipSnapshot:
    """Take a seat with the mentor and store the proposal (publishing ``mentorship.proposed``).

    Raises ``RequestRefusedError`` when the mentor is full or the pair is already open.
    Idempotent by ``mentorship_id``: an existing proposal is returned as it is.
    """
    existing = await mentorships.get(proposal.mentorship_id)
    if existing is not None:
        return snapshot_of(existing)
    mentor_id = proposal.mentor_id
    async with mentor_lock(mentor_id):
        open_pair = await mentorships.find(
            mentee_id=proposal.mentee_id, mentor_id=mentor_id, statuses=OPEN, limit=1
        )
        if open_pair:
            raise RequestRefusedError(ALREADY_OPEN, "this pair already has an open mentorship")
        mentor = await projection.get(mentor_id)
        capacity = 0
        if mentor and mentor.get("status") == "active" and "mentor" in mentor.get("roles", ()):
            capacity = int(mentor.get("mentor_capacity") or 0)
        counts = await loads.reserve(mentor_id, capacity)
        if counts is None:
            raise RequestRefusedError(
                MENTOR_AT_CAPACITY, f"mentor {mentor_id} has no free seat (capacity {capacity})"
            )
        pool.note_load(mentor_id, counts)
        if not await mentorships.create(proposal):
            pool.note_load(mentor_id, await loads.adjust(mentor_id, active=-1, pending=-1))
            existing = await mentorships.get(proposal.mentorship_id)
            assert existing is not None
            return snapshot_of(existing)
    return proposal.model_copy(update={"version": 1})


def _chain_of(pool: MentorPool, *people: Person) -> dict[str, str | None]:
    """The managers' managers the reporting-line check needs for these people."""
    return {p.manager_id: pool.managers.get(p.manager_id) for p in people if p.manager_id}


async def request_mentorship(
    mentee_id: str,
    mentor_id: str,
    *,
    message: str | None,
    expiry: timedelta,
    pool: MentorPool,
    mentorships: MentorshipRepository,
    loads: MentorLoadRepository,
    projection: ProfileProjection,
    now: datetime | None = None,
) -> MentorshipSnapshot:
    """A mentee asks a mentor: checks the hard constraints, scores the pair, proposes."""
    await pool.refresh()
    mentee, mentor = pool.person(mentee_id), pool.person(mentor_id)
    if mentee is None:
        raise NotFoundError(f"no profile for employee {mentee_id}")
    if mentor is None:
        raise NotFoundError(f"no profile for employee {mentor_id}")
    earlier = await mentorships.find(mentee_id=mentee_id, mentor_id=mentor_id, statuses=(*CLOSED, *OPEN))
    if any(document["status"] in CLOSED for document in earlier):
        raise RequestRefusedError(PAIR_EXCLUDED, "this pair was declined or ended before")
    if earlier:
        raise RequestRefusedError(ALREADY_OPEN, "this pair already has an open mentorship")
    # Seats are checked by the reservation below; here only the other hard constraints.
    index = MentorIndex([replace(mentor, active_mentees=0)], managers=_chain_of(pool, mentee, mentor))
    scores, feasible, parts = score_mentee(index, mentee)
    if not feasible[0]:
        reason = feasible_mentors(index, mentee).reason or "infeasible"
        raise RequestRefusedError(reason, f"this pair is not possible: {reason}")
    explanation = explain(index, mentee, 0, parts)
    at = now or utcnow()
    proposal = MentorshipSnapshot(
        mentorship_id=uuid.uuid4().hex,
        mentor_id=mentor_id,
        mentee_id=mentee_id,
        status="proposed",
        origin="request",
        score=round(float(scores[0]), 4),
        breakdown=explanation.breakdown,
        reasons=explanation.reasons,
        message=message,
        proposed_at=at,
        expires_at=at + expiry,
    )
    return await propose(proposal, mentorships=mentorships, loads=loads, projection=projection, pool=pool)


def _role_of(
    mentorship: MentorshipSnapshot, action: Action, actor_id: str | None, as_system: bool
) -> ActorRole:
    if actor_id == mentorship.mentor_id:
        return "mentor"
    if actor_id == mentorship.mentee_id:
        return "mentee"
    if as_system:
        return "system"
    raise NotPermitted(action, "non-party")


def _changed(
    current: MentorshipSnapshot, target: str, reason: str | None, at: datetime
) -> MentorshipSnapshot:
    update: dict[str, Any] = {"status": target}
    if target == "accepted":
        update["accepted_at"] = at
    else:
        update["ended_at"] = at
    if target == "ended":
        update["reason"] = reason
    return current.model_copy(update=update)


async def act_on_mentorship(
    mentorship_id: str,
    action: Action | str,
    *,
    actor_id: str | None,
    as_system: bool = False,
    reason: str | None = None,
    mentorships: MentorshipRepository,
    loads: MentorLoadRepository,
    pool: MentorPool,
    now: datetime | None = None,
) -> MentorshipSnapshot:
    """Accept, decline, expire or end; raises ``NotPermitted`` (wrong party) or
    ``IllegalTransition`` (wrong state), and frees the mentor's seat when it ends."""
    action = Action(action)
    document = await mentorships.get(mentorship_id)
    if document is None:
        raise NotFoundError(f"no mentorship {mentorship_id}")
    async with mentor_lock(document["mentor_id"]):
        for _ in range(_ATTEMPTS):
            document = await mentorships.get(mentorship_id)
            assert document is not None
            current = snapshot_of(document)
            role = _role_of(current, action, actor_id, as_system)
            target = transition(current.status, action, role, origin=current.origin, reason=reason)
            changed = _changed(current, target.value, reason, now or utcnow())
            if await mentorships.save(document, changed):
                active, pending = _LOAD_DELTAS[(current.status, target.value)]
                pool.note_load(
                    current.mentor_id,
                    await loads.adjust(current.mentor_id, active=active, pending=pending),
                )
                return changed.model_copy(update={"version": document["version"] + 1})
    raise ConcurrentUpdateError(f"mentorship {mentorship_id} kept changing under us")


async def get_mentorship(mentorship_id: str, *, mentorships: MentorshipRepository) -> MentorshipSnapshot:
    document = await mentorships.get(mentorship_id)
    if document is None:
        raise NotFoundError(f"no mentorship {mentorship_id}")
    return snapshot_of(document)


async def list_mentorships(
    *, employee_id: str | None, status: str | None, limit: int, mentorships: MentorshipRepository
) -> list[MentorshipSnapshot]:
    if employee_id is not None:
        found = await mentorships.of_employee(employee_id, status=status, limit=limit)
    else:
        found = await mentorships.find(statuses=[status] if status else None, limit=limit)
    return [snapshot_of(document) for document in found]


async def expire_due_proposals(
    *,
    mentorships: MentorshipRepository,
    loads: MentorLoadRepository,
    pool: MentorPool,
    now: datetime | None = None,
) -> int:
    """The expiry job: proposals nobody answered in time become ``expired``."""
    moment = now or utcnow()
    expired = 0
    for document in await mentorships.due_to_expire(moment):
        try:
            await act_on_mentorship(
                document["_id"],
                Action.EXPIRE,
                actor_id=None,
                as_system=True,
                mentorships=mentorships,
                loads=loads,
                pool=pool,
                now=moment,
            )
        except IllegalTransition:
            continue  # answered meanwhile
        expired += 1
    return expired


async def repropose(
    ended: MentorshipSnapshot,
    *,
    terms: ProgramTerms,
    pool: MentorPool,
    mentorships: MentorshipRepository,
    loads: MentorLoadRepository,
    projection: ProfileProjection,
    now: datetime | None = None,
) -> MentorshipSnapshot | None:
    """Propose the best next mentor to a mentee whose mentor left; at most once per ending."""
    mentorship_id = f"{ended.mentorship_id}.r"
    existing = await mentorships.get(mentorship_id)
    if existing is not None:
        return snapshot_of(existing)
    mentee = pool.person(ended.mentee_id)
    if mentee is None or not mentee.active:
        return None
    exclude = await excluded_mentors(ended.mentee_id, mentorships=mentorships) | {ended.mentor_id}
    view = await pool.view()
    candidates = suggest(
        view.index,
        mentee,
        terms.weights,
        limit=5,
        exclude=exclude,
        demand=view.demand,
        eligibility=terms.eligibility,
    )
    at = now or utcnow()
    for candidate in candidates:
        proposal = MentorshipSnapshot(
            mentorship_id=mentorship_id,
            mentor_id=candidate.mentor_id,
            mentee_id=ended.mentee_id,
            program_id=ended.program_id,
            status="proposed",
            origin="reproposal",
            score=round(candidate.score, 4),
            breakdown=candidate.explanation.breakdown,
            reasons=candidate.explanation.reasons,
            proposed_at=at,
            expires_at=at + terms.expiry,
            replaces_mentorship_id=ended.mentorship_id,
        )
        try:
            return await propose(
                proposal, mentorships=mentorships, loads=loads, projection=projection, pool=pool
            )
        except RequestRefusedError:
            continue  # that seat went meanwhile: the next best
    return None


async def reconcile_loads(
    *, mentorships: MentorshipRepository, loads: MentorLoadRepository, pool: MentorPool
) -> int:
    """Recount seats from the mentorships (heals a crash between a seat and its proposal)."""
    counted = await mentorships.open_counts()
    stored = await loads.all()
    fixed = 0
    for mentor_id in set(counted) | set(stored):
        if counted.get(mentor_id, (0, 0)) == stored.get(mentor_id, (0, 0)):
            continue
        async with mentor_lock(mentor_id):
            found = await mentorships.find(mentor_id=mentor_id, statuses=OPEN)
            truth = (len(found), sum(1 for d in found if d["status"] == "proposed"))
            await loads.set_counts(mentor_id, active=truth[0], pending=truth[1])
            pool.note_load(mentor_id, truth)
            fixed += 1
    return fixed

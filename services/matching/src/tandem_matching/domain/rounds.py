"""Planning a program round: who is matched with whom, and why the others are not (pure)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from .assignment import NO_FEASIBLE_MENTOR, Assignment, assign
from .batch import MenteeBatch
from .index import MentorIndex
from .model import Person
from .programs import Program, ProgramTerms
from .scoring import candidates_of
from .suggestions import Explanation, explain

__all__ = ["PROFILE_UNKNOWN", "PlannedPair", "RoundPlan", "plan_round", "round_mentors"]

PROFILE_UNKNOWN: Final = "profile_unknown"  # enrolled, but matching has no profile of them


@dataclass(frozen=True, slots=True)
class PlannedPair:
    mentee_id: str
    mentor_id: str
    score: float
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """The assignment to propose, the unmatched mentees with their reason, and how many mentors
    took part (for the load histogram)."""

    pairs: tuple[PlannedPair, ...]
    unmatched: dict[str, str]
    n_mentors: int


def round_mentors(program: Program, people: Mapping[str, Person]) -> list[Person]:
    """The program's enrolled mentors, or every active mentor when none is enrolled."""
    if program.mentor_ids:
        return [people[m] for m in program.mentor_ids if m in people]
    return sorted(
        (p for p in people.values() if p.active and "mentor" in p.roles), key=lambda p: p.employee_id
    )


def plan_round(
    program: Program,
    terms: ProgramTerms,
    *,
    waiting: Sequence[str],
    people: Mapping[str, Person],
    mentors: Sequence[Person],
    seats_taken: Mapping[str, int],
    managers: Mapping[str, str | None],
    excluded_pairs: Collection[tuple[str, str]],
) -> RoundPlan:
    """Match the `waiting` mentees at once under the `mentors`' free seats (one global
    assignment, objective as the program says); `excluded_pairs` are (mentee, mentor) pairs
    that met before."""
    unmatched = {m: PROFILE_UNKNOWN for m in waiting if m not in people}
    mentees = [people[m] for m in waiting if m in people]
    seated = [replace(m, active_mentees=seats_taken.get(m.employee_id, 0)) for m in mentors]
    index = MentorIndex(seated, managers=managers)
    batch = MenteeBatch(
        index, mentees, terms.weights, excluded_pairs=excluded_pairs, eligibility=terms.eligibility
    )
    candidates = candidates_of(batch)  # also finds every reason
    if index.size and mentees:
        result = assign(candidates, None, index.free_capacity, objective=program.objective)
    else:
        result = Assignment([], {})
    matched = {row for row, _, _ in result.pairs}
    for row, mentee in enumerate(mentees):
        if row not in matched:  # the constraints say best why; else the solver
            reason = batch.reasons.get(row) or result.unmatched.get(row, NO_FEASIBLE_MENTOR)
            unmatched[mentee.employee_id] = reason
    return RoundPlan(_explained(index, mentees, batch, result), unmatched, index.size)


def _explained(
    index: MentorIndex, mentees: Sequence[Person], batch: MenteeBatch, result: Assignment
) -> tuple[PlannedPair, ...]:
    rows = np.array([r for r, _, _ in result.pairs], dtype=np.int64)
    positions = np.array([p for _, p, _ in result.pairs], dtype=np.int64)
    parts = batch.breakdown(rows, positions)
    return tuple(
        PlannedPair(
            mentees[row].employee_id,
            index.ids[pos],
            score,
            explain(index, mentees[row], pos, {name: float(parts[name][k]) for name in parts}),
        )
        for k, (row, pos, score) in enumerate(result.pairs)
    )

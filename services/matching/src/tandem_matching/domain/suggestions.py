"""On-demand suggestions: top-k feasible mentors for one mentee, with explanations."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .constraints import feasible_mentors
from .index import FloatArray, MentorIndex, utc_offset_hours
from .model import Eligibility, Person, Weights
from .scoring import COMPONENTS, components_at, rank_scores, working_hours_overlap

__all__ = ["Explanation", "Suggestion", "demand_penalty", "explain", "suggest"]


@dataclass(frozen=True, slots=True)
class Explanation:
    breakdown: dict[str, float]
    reasons: list[str]


@dataclass(frozen=True, slots=True)
class Suggestion:
    mentor_id: str
    position: int
    score: float
    explanation: Explanation


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _hours(value: float) -> str:
    return f"{value:g} h"


def explain(
    index: MentorIndex, mentee: Person, mentor_pos: int, components: Mapping[str, FloatArray]
) -> Explanation:
    """Breakdown of the components for one mentor and short, readable reasons."""
    values = {name: float(components[name][mentor_pos]) for name in COMPONENTS}
    return _explain(index, mentee, mentor_pos, values)


def _explain(index: MentorIndex, mentee: Person, mentor_pos: int, values: Mapping[str, float]) -> Explanation:
    mentor = index.mentors[mentor_pos]
    breakdown = {name: round(values[name], 4) for name in COMPONENTS}
    reasons: list[str] = []

    offered = {s.name: s.level for s in mentor.skills}
    goal_names = list(dict.fromkeys(g.name for g in mentee.goals))
    covered = [name for name in goal_names if name in offered]
    if covered:
        reasons.append(f"covers {len(covered)} of your {len(goal_names)} goals: {', '.join(covered)}")

    if mentor.level is not None and mentee.level is not None and mentor.level > mentee.level:
        reasons.append(f"{_plural(mentor.level - mentee.level, 'level')} more senior")

    mine = utc_offset_hours(mentee.timezone, index.at)
    theirs = utc_offset_hours(mentor.timezone, index.at)
    if mine is not None and theirs is not None:
        shared = float(working_hours_overlap(theirs, mine))
        reasons.append(f"{_hours(shared)} of shared working hours")

    if mentee.department and mentor.department:
        if mentee.department == mentor.department:
            reasons.append("same department")
        elif mentee.department_preference == "other":
            reasons.append(f"a different department ({mentor.department})")

    common = [i for i in dict.fromkeys(mentee.interests) if i in set(mentor.interests)]
    if common:
        reasons.append(f"shares interests: {', '.join(common)}")
    return Explanation(breakdown, reasons)


def demand_penalty(demand: NDArray[np.int64] | NDArray[np.float64], free: NDArray[np.int64]) -> FloatArray:
    """Ranking factor in (0, 1]: 1 / (1 + pending proposals / free capacity).

    A mentor with 2 free seats and 2 pending proposals ranks at half their score, so the
    same few top mentors are not shown to every mentee.
    """
    pending = np.maximum(np.asarray(demand, dtype=np.float64), 0.0)
    return 1.0 / (1.0 + pending / np.maximum(free, 1).astype(np.float64))


def suggest(
    index: MentorIndex,
    mentee: Person,
    weights: Weights = Weights(),
    *,
    limit: int = 5,
    exclude: Collection[str] = (),
    demand: NDArray[np.int64] | NDArray[np.float64] | None = None,
    eligibility: Eligibility | None = None,
) -> list[Suggestion]:
    """Top-`limit` feasible mentors, best first. With `demand` (pending proposals per mentor
    position) ranking uses score x `demand_penalty`; the reported score stays the raw score."""
    scores = rank_scores(index, mentee, weights)
    feasible = feasible_mentors(index, mentee, exclude=exclude, eligibility=eligibility).mask
    rank = scores if demand is None else scores * demand_penalty(demand, index.free_capacity)
    key = np.where(feasible, rank, -np.inf)
    k = min(limit, int(np.count_nonzero(feasible)))
    if k <= 0:
        return []
    top = np.argpartition(key, key.size - k)[key.size - k :]
    top = top[np.lexsort((top, -key[top]))]  # best first; ties by position, deterministic
    small = components_at(index, mentee, top)
    return [
        Suggestion(
            mentor_id=index.ids[pos],
            position=int(pos),
            score=float(scores[pos]),
            explanation=_explain(index, mentee, pos, {name: float(small[name][i]) for name in COMPONENTS}),
        )
        for i, pos in enumerate(top.tolist())
    ]

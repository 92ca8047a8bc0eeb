"""On-demand suggestions: top-k feasible mentors for one mentee, with explanations."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .components import COMPONENTS, working_hours_overlap
from .index import FloatArray, IntArray, MentorIndex, utc_offset_hours
from .model import Eligibility, Person, Weights, best_levels
from .scoring import assess

__all__ = ["Explanation", "Suggestion", "demand_penalty", "explain", "explain_pairs", "suggest"]


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


def explain(index: MentorIndex, mentee: Person, mentor_pos: int, values: Mapping[str, float]) -> Explanation:
    """The breakdown of one pair's components and short, readable reasons."""
    mentor = index.mentors[mentor_pos]
    breakdown = {name: round(float(values[name]), 4) for name in COMPONENTS}
    reasons: list[str] = []

    offered = {s.name: s.level for s in mentor.skills}
    goal_names = list(best_levels(mentee.goals))
    covered = [name for name in goal_names if name in offered]
    if covered:
        reasons.append(f"covers {len(covered)} of your {len(goal_names)} goals: {', '.join(covered)}")

    if mentor.level is not None and mentee.level is not None and mentor.level > mentee.level:
        reasons.append(f"{_plural(mentor.level - mentee.level, 'level')} more senior")

    mine = utc_offset_hours(mentee.timezone, index.at)
    theirs = utc_offset_hours(mentor.timezone, index.at)
    if mine is not None and theirs is not None:
        reasons.append(f"{float(working_hours_overlap(theirs, mine)):g} h of shared working hours")

    if mentee.department and mentor.department:
        if mentee.department == mentor.department:
            reasons.append("same department")
        elif mentee.department_preference == "other":
            reasons.append(f"a different department ({mentor.department})")

    common = [i for i in dict.fromkeys(mentee.interests) if i in set(mentor.interests)]
    if common:
        reasons.append(f"shares interests: {', '.join(common)}")
    return Explanation(breakdown, reasons)


def explain_pairs(
    index: MentorIndex, mentee: Person, positions: IntArray, parts: Mapping[str, FloatArray]
) -> list[Explanation]:
    """`explain` for each position, `parts` being the breakdown of exactly these positions."""
    return [
        explain(index, mentee, pos, {name: float(parts[name][i]) for name in COMPONENTS})
        for i, pos in enumerate(positions.tolist())
    ]


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
    found = assess(index, mentee, weights, exclude=exclude, eligibility=eligibility)
    scores, feasible = found.scores, found.feasible
    rank = scores if demand is None else scores * demand_penalty(demand, index.free_capacity)
    key = np.where(feasible, rank, -np.inf)
    k = min(limit, int(np.count_nonzero(feasible)))
    if k <= 0:
        return []
    top = np.argpartition(key, key.size - k)[key.size - k :]
    top = top[np.lexsort((top, -key[top]))]  # best first; ties by position, deterministic
    explanations = explain_pairs(index, mentee, top, found.breakdown(top))
    return [
        Suggestion(mentor_id=index.ids[pos], position=int(pos), score=float(scores[pos]), explanation=why)
        for pos, why in zip(top.tolist(), explanations, strict=True)
    ]

"""Score components, each in [0, 1], vectorised over every mentor of a `MentorIndex`.

- goal_fit: mean over the mentee's goals of min(mentor level / goal level, 1); 0 for a goal
  no mentor skill covers; 0.5 for a mentee without goals (neutral).
- seniority: 1 when the mentor is 1-3 levels above, then -0.25 per extra level; 0 at or below
  the mentee; 0.5 when either level is unknown.
- timezone: overlap of 09:00-17:00 local working hours / 8; 0.5 when either zone is unknown.
- department: by the MENTEE's preference: "same" -> 1 on the same department, 0 otherwise;
  "other" -> the reverse; "any" -> 1; 0.5 when either department is unknown (and not "any").
- interests: Jaccard similarity of interest sets (0 when both are empty).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from .constraints import feasible_mentors, group_exclusions
from .index import BoolArray, FloatArray, MentorIndex, utc_offset_hours
from .model import Eligibility, Person, Weights

__all__ = [
    "COMPONENTS",
    "WORKDAY_HOURS",
    "components",
    "score_matrix",
    "score_mentee",
    "working_hours_overlap",
]

COMPONENTS = ("goal_fit", "seniority", "timezone", "department", "interests")
WORKDAY_HOURS = 8.0
UNKNOWN = 0.5


def working_hours_overlap(offset_a: FloatArray | float, offset_b: float) -> FloatArray:
    """Shared hours of two 09:00-17:00 local days whose zones are at these UTC offsets."""
    gap = np.abs(np.asarray(offset_a, dtype=np.float64) - offset_b) % 24.0
    gap = np.minimum(gap, 24.0 - gap)  # circular: +14 and -10 are the same wall clock
    return np.clip(WORKDAY_HOURS - gap, 0.0, WORKDAY_HOURS)


def _goal_fit(index: MentorIndex, mentee: Person) -> FloatArray:
    goals: dict[str, int] = {}
    for goal in mentee.goals:
        goals[goal.name] = max(goals.get(goal.name, 0), goal.level)
    if not goals:
        return np.full(index.size, UNKNOWN)
    fit = np.zeros(index.size)
    for name, wanted in goals.items():
        code = index.skill_vocab.get(name)
        if code is not None:
            fit[index.skill_mentors[code]] += np.minimum(index.skill_levels[code] / wanted, 1.0)
    return fit / len(goals)


def _seniority(index: MentorIndex, mentee: Person) -> FloatArray:
    if mentee.level is None:
        return np.full(index.size, UNKNOWN)
    # One value per distinct mentor level, then a gather; code -1 picks the trailing UNKNOWN.
    gap = index.levels - mentee.level
    value = np.where(gap <= 0, 0.0, np.clip(1.0 - 0.25 * (gap - 3.0), 0.0, 1.0))
    return np.append(value, UNKNOWN)[index.level_code]


def _timezone(index: MentorIndex, mentee: Person) -> FloatArray:
    offset = utc_offset_hours(mentee.timezone, index.at)
    if offset is None:
        return np.full(index.size, UNKNOWN)
    # One value per distinct mentor offset, then a gather; code -1 picks the trailing UNKNOWN.
    table = np.append(working_hours_overlap(index.tz_offsets, offset) / WORKDAY_HOURS, UNKNOWN)
    return table[index.tz_code]


def _department(index: MentorIndex, mentee: Person) -> FloatArray:
    preference = mentee.department_preference
    if preference == "any":
        return np.ones(index.size)
    if mentee.department is None:
        return np.full(index.size, UNKNOWN)
    same = index.dept_code == index.departments.codes.get(mentee.department, -2)
    value = np.where(same, 1.0, 0.0) if preference == "same" else np.where(same, 0.0, 1.0)
    return np.where(index.dept_code < 0, UNKNOWN, value)


def _interests(index: MentorIndex, mentee: Person) -> FloatArray:
    wanted = set(mentee.interests)
    shared = np.zeros(index.size)
    for term in wanted:
        code = index.interest_vocab.get(term)
        if code is not None:
            shared[index.interest_mentors[code]] += 1.0
    union = index.n_interests + len(wanted) - shared
    return np.divide(shared, union, out=np.zeros(index.size), where=union > 0)


def components(index: MentorIndex, mentee: Person) -> dict[str, FloatArray]:
    """Every component for one mentee against all mentors, keyed as in `COMPONENTS`."""
    return {
        "goal_fit": _goal_fit(index, mentee),
        "seniority": _seniority(index, mentee),
        "timezone": _timezone(index, mentee),
        "department": _department(index, mentee),
        "interests": _interests(index, mentee),
    }


def _combine(parts: dict[str, FloatArray], weights: Weights) -> FloatArray:
    w = weights.normalised().as_dict()
    total = np.zeros_like(parts["goal_fit"])
    for name in COMPONENTS:
        if w[name]:
            total += w[name] * parts[name]
    return np.clip(total, 0.0, 1.0)


def score_mentee(
    index: MentorIndex,
    mentee: Person,
    weights: Weights = Weights(),
    *,
    exclude: Collection[str] = (),
    eligibility: Eligibility | None = None,
) -> tuple[FloatArray, BoolArray, dict[str, FloatArray]]:
    """`(scores[n_mentors], feasible_mask, components)` for one mentee.

    Scores are computed for every mentor, feasible or not; callers mask with `feasible_mask`.
    """
    parts = components(index, mentee)
    feasibility = feasible_mentors(index, mentee, exclude=exclude, eligibility=eligibility)
    return _combine(parts, weights), feasibility.mask, parts


def score_matrix(
    index: MentorIndex,
    mentees: Sequence[Person],
    weights: Weights = Weights(),
    *,
    excluded_pairs: Collection[tuple[str, str]] = (),
    eligibility: Eligibility | None = None,
) -> tuple[FloatArray, BoolArray, dict[int, str]]:
    """`(scores[n_mentees, n_mentors], feasible[n_mentees, n_mentors], reasons)` for a round.

    Rows are vectorised over mentors; infeasible entries keep their score (mask them).
    `reasons` gives the constraint reason code for each mentee row with no feasible mentor.
    """
    exclusions = group_exclusions(excluded_pairs)
    scores = np.zeros((len(mentees), index.size))
    feasible = np.zeros((len(mentees), index.size), dtype=np.bool_)
    reasons: dict[int, str] = {}
    normalised = weights.normalised()
    for row, mentee in enumerate(mentees):
        scores[row] = _combine(components(index, mentee), normalised)
        result = feasible_mentors(
            index,
            mentee,
            exclude=exclusions.get(mentee.employee_id, ()),
            eligibility=eligibility,
        )
        feasible[row] = result.mask
        if result.reason is not None:
            reasons[row] = result.reason
    return scores, feasible, reasons

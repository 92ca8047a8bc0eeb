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

from .batch import (
    BLOCK,
    UNKNOWN,
    WORKDAY_HOURS,
    MenteeBatch,
    department_row,
    seniority_row,
    timezone_row,
    working_hours_overlap,
)
from .candidates import Candidates, Pruning, top_k_of_block
from .constraints import feasible_mentors
from .index import BoolArray, FloatArray, IntArray, MentorIndex, utc_offset_hours
from .model import DepartmentPreference, Eligibility, Person, Weights

__all__ = [
    "COMPONENTS",
    "WORKDAY_HOURS",
    "MenteeBatch",
    "components",
    "components_at",
    "rank_scores",
    "round_candidates",
    "score_matrix",
    "score_mentee",
    "working_hours_overlap",
]

COMPONENTS = ("goal_fit", "seniority", "timezone", "department", "interests")


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
    return seniority_row(index, mentee.level)


def _timezone(index: MentorIndex, mentee: Person) -> FloatArray:
    return timezone_row(index, utc_offset_hours(mentee.timezone, index.at))


def _department(index: MentorIndex, mentee: Person) -> FloatArray:
    return department_row(index, mentee.department_preference, mentee.department)


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


def components_at(index: MentorIndex, mentee: Person, positions: IntArray) -> dict[str, FloatArray]:
    """`components` for a few mentor positions only (e.g. to explain the top suggestions)."""
    pos = np.asarray(positions, dtype=np.int64)
    parts = {
        "seniority": seniority_row(index, mentee.level)[pos] if pos.size else np.zeros(0),
        "timezone": timezone_row(index, utc_offset_hours(mentee.timezone, index.at))[pos],
        "department": department_row(index, mentee.department_preference, mentee.department)[pos],
    }
    goals: dict[str, int] = {}
    for goal in mentee.goals:
        goals[goal.name] = max(goals.get(goal.name, 0), goal.level)
    fit = np.full(pos.size, UNKNOWN) if not goals else np.zeros(pos.size)
    for name, wanted in goals.items():
        code = index.skill_vocab.get(name)
        if code is not None:
            found, at = _lookup(index.skill_mentors[code], pos)
            fit[found] += np.minimum(index.skill_levels[code][at[found]] / wanted, 1.0)
    parts["goal_fit"] = fit / len(goals) if goals else fit
    wanted_interests = set(mentee.interests)
    shared = np.zeros(pos.size)
    for term in wanted_interests:
        code = index.interest_vocab.get(term)
        if code is not None:
            shared += _lookup(index.interest_mentors[code], pos)[0]
    union = index.n_interests[pos] + len(wanted_interests) - shared
    parts["interests"] = np.divide(shared, union, out=np.zeros(pos.size), where=union > 0)
    return {name: parts[name] for name in COMPONENTS}


def _lookup(sorted_positions: IntArray, pos: IntArray) -> tuple[BoolArray, IntArray]:
    at = np.minimum(np.searchsorted(sorted_positions, pos), max(sorted_positions.size - 1, 0))
    found = sorted_positions[at] == pos if sorted_positions.size else np.zeros(pos.size, dtype=np.bool_)
    return found, at


def rank_scores(index: MentorIndex, mentee: Person, weights: Weights = Weights()) -> FloatArray:
    """The same scores as `score_mentee` with fewer passes over the mentors: seniority,
    timezone and department come from one gather over the index's distinct (level, zone,
    department) combinations; goals and interests touch only the mentors that have them."""
    w = weights.normalised().as_dict()
    combos, inverse = _mentor_contexts(index)
    small = np.zeros(combos.shape[0])
    if w["seniority"]:
        small += w["seniority"] * _seniority_table(index, mentee.level)[combos[:, 0]]
    if w["timezone"]:
        offset = utc_offset_hours(mentee.timezone, index.at)
        small += w["timezone"] * _timezone_table(index, offset)[combos[:, 1]]
    if w["department"]:
        table = _department_table(index, mentee.department_preference, mentee.department)
        small += w["department"] * table[combos[:, 2]]
    total: FloatArray = small[inverse]
    if w["goal_fit"]:
        goals: dict[str, int] = {}
        for goal in mentee.goals:
            goals[goal.name] = max(goals.get(goal.name, 0), goal.level)
        if not goals:
            total += w["goal_fit"] * UNKNOWN
        share = w["goal_fit"] / max(1, len(goals))
        for name, wanted in goals.items():
            code = index.skill_vocab.get(name)
            if code is not None:
                total[index.skill_mentors[code]] += share * np.minimum(index.skill_levels[code] / wanted, 1.0)
    wanted_interests = set(mentee.interests)
    if w["interests"] and wanted_interests:
        postings = [
            index.interest_mentors[c]
            for c in map(index.interest_vocab.get, wanted_interests)
            if c is not None
        ]
        if postings:
            pos, shared = np.unique(np.concatenate(postings), return_counts=True)
            union = index.n_interests[pos] + len(wanted_interests) - shared
            total[pos] += w["interests"] * (shared / union)
    np.clip(total, 0.0, 1.0, out=total)
    return total


def _mentor_contexts(index: MentorIndex) -> tuple[IntArray, IntArray]:
    cached = index.cache.get("contexts")
    if cached is None:
        key = np.stack([index.level_code, index.tz_code, index.dept_code], axis=1)
        if key.shape[0]:
            combos, inverse = np.unique(key, axis=0, return_inverse=True)
        else:
            combos, inverse = key, np.zeros(0, dtype=np.int64)
        cached = (combos.astype(np.int64), inverse.reshape(-1).astype(np.int64))
        index.cache["contexts"] = cached
    return cached


def _seniority_table(index: MentorIndex, level: int | None) -> FloatArray:
    """By mentor level code, with the unknown value last (so code -1 picks it)."""
    if level is None:
        return np.full(index.levels.size + 1, UNKNOWN)
    gap = index.levels - level
    value = np.where(gap <= 0, 0.0, np.clip(1.0 - 0.25 * (gap - 3.0), 0.0, 1.0))
    return np.append(value, UNKNOWN)


def _timezone_table(index: MentorIndex, offset: float | None) -> FloatArray:
    if offset is None:
        return np.full(index.tz_offsets.size + 1, UNKNOWN)
    return np.append(working_hours_overlap(index.tz_offsets, offset) / WORKDAY_HOURS, UNKNOWN)


def _department_table(
    index: MentorIndex, preference: DepartmentPreference, department: str | None
) -> FloatArray:
    size = len(index.departments.codes)
    if preference == "any":
        return np.ones(size + 1)
    if department is None:
        return np.full(size + 1, UNKNOWN)
    same = np.arange(size) == index.departments.codes.get(department, -2)
    value = np.where(same, 1.0, 0.0) if preference == "same" else np.where(same, 0.0, 1.0)
    return np.append(value, UNKNOWN)


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

    Vectorised over blocks of mentees x all mentors; infeasible entries keep their score (mask
    them). `reasons` gives the constraint reason code for each mentee row with no feasible
    mentor. For large rounds prefer `round_candidates`, which never holds the dense matrix.
    """
    batch = MenteeBatch(index, mentees, weights, excluded_pairs=excluded_pairs, eligibility=eligibility)
    scores = np.empty((len(mentees), index.size))
    feasible = np.empty((len(mentees), index.size), dtype=np.bool_)
    for rows in batch.blocks():
        scores[rows[0] : rows[-1] + 1] = batch.scores(rows)
        feasible[rows[0] : rows[-1] + 1] = batch.feasible(rows)
    return scores, feasible, dict(sorted(batch.reasons.items()))


def round_candidates(
    index: MentorIndex,
    mentees: Sequence[Person],
    weights: Weights = Weights(),
    *,
    top_k: int = 40,
    excluded_pairs: Collection[tuple[str, str]] = (),
    eligibility: Eligibility | None = None,
) -> Candidates:
    """The best `top_k` feasible mentors of every mentee, scored block by block without the
    dense matrix, with the constraint `reasons` of mentees that have no feasible mentor.

    The result carries its `pruning` (best left-out score per mentee and a rescoring hook),
    so `assign(candidates, None, capacities)` certifies optimality over *every* feasible pair
    and adds pruned pairs back when needed. Scores are bit-identical to `score_matrix`.
    """
    batch = MenteeBatch(index, mentees, weights, excluded_pairs=excluded_pairs, eligibility=eligibility)
    m, n = len(mentees), index.size
    bound = np.full(m, -np.inf)
    rows_out: list[IntArray] = []
    cols_out: list[IntArray] = []
    vals_out: list[FloatArray] = []
    for rows in batch.blocks(BLOCK):
        feasible = batch.feasible(rows)
        r, c, v, left = top_k_of_block(batch.scores(rows), feasible, top_k)
        rows_out.append(rows[r])
        cols_out.append(c)
        vals_out.append(v)
        bound[rows] = left

    def rescore(rows: IntArray) -> tuple[FloatArray, BoolArray]:
        return batch.scores(rows), batch.feasible(rows)

    empty = np.zeros(0, dtype=np.int64)
    return Candidates(
        m,
        n,
        np.concatenate(rows_out) if rows_out else empty,
        np.concatenate(cols_out) if cols_out else empty,
        np.concatenate(vals_out) if vals_out else np.zeros(0),
        reasons=dict(sorted(batch.reasons.items())),
        pruning=Pruning(bound, batch.open.copy(), rescore),
    )

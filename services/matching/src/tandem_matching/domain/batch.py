"""The one scoring core: mentees scored against every mentor, block by block.

`MenteeBatch` turns mentees (one for a suggestion or a request, thousands for a round) into a
few integer keys and two small sparse matrices once; a block of them is then scored against
every mentor with a handful of numpy passes:

- seniority, timezone and department depend only on a (level, zone, department preference)
  *context* of the mentee and on the mentor's (level, zone, department), so each mentee
  context is one row over the index's distinct mentor contexts, gathered per block;
- goal fit is linear in the mentee's goals once the wanted level is part of the feature
  (`min(mentor level / wanted, 1)` for wanted 1..5), i.e. a sparse x sparse product;
- interests (Jaccard) need the shared count, a sparse x sparse product, and a division on its
  non-zeros only.

`breakdown` gives the unweighted components of chosen (mentee, mentor) pairs from the same
component functions; `feasible` applies the hard constraints (`constraints.CONSTRAINTS`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Sequence
from typing import cast

import numpy as np
import scipy.sparse as sp

from .components import ANY, COMPONENTS, OTHER, SAME, UNKNOWN, department, jaccard, seniority, timezone
from .constraints import MenteeConstraints
from .index import BoolArray, FloatArray, IntArray, MentorIndex, utc_offset_hours
from .model import Eligibility, Person, Weights, best_levels

__all__ = ["BLOCK", "MenteeBatch"]

BLOCK = 256  # mentees per block: ~4 MB of float64 per 2,000 mentors, stays in cache
_TABLE_BUDGET = 1 << 23  # entries of a precomputed per-context table (64 MB of float64)
_GOAL_LEVELS = 5  # Skill levels are 1..5
_PREFERENCE = {"any": ANY, "same": SAME, "other": OTHER}
Context = tuple[float | None, float | None, int, int]  # level, UTC offset, preference, department


class _Table:
    """One row per key over the mentor contexts: precomputed when small enough, else built per
    block for the keys that block uses."""

    def __init__(self, keys: list[Hashable], width: int, make: Callable[[Hashable], FloatArray]):
        self.keys, self.width, self.make = keys, width, make
        self.full: FloatArray | None = None
        if len(keys) * width <= _TABLE_BUDGET:
            self.full = self._build(np.arange(len(keys)))

    def _build(self, codes: IntArray) -> FloatArray:
        if codes.size == 0:
            return np.zeros((0, self.width))
        return np.stack([self.make(self.keys[c]) for c in codes.tolist()])

    def gather(self, codes: IntArray) -> FloatArray:
        if self.full is not None:
            return self.full[codes]
        used, inverse = np.unique(codes, return_inverse=True)
        return self._build(used)[inverse]


def _csr(rows: list[list[int]], values: list[list[float]], width: int) -> sp.csr_matrix:
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    cols = np.array([c for r in rows for c in r], dtype=np.int64)
    data = np.array([v for r in values for v in r], dtype=np.float64)
    return sp.csr_matrix((data, cols, ptr), shape=(len(rows), width))


class MenteeBatch:
    """Mentees prepared for scoring against one `MentorIndex` (a batch of one serves a single
    mentee); `reasons` collects the constraint reason of every row `feasible` found with none."""

    def __init__(
        self,
        index: MentorIndex,
        mentees: Sequence[Person],
        weights: Weights = Weights(),
        *,
        excluded_pairs: Collection[tuple[str, str]] = (),
        eligibility: Eligibility | None = None,
    ) -> None:
        self.index = index
        self.size = len(mentees)
        self.weights = weights.normalised().as_dict()
        self.constraints = MenteeConstraints(
            index, mentees, excluded_pairs=excluded_pairs, eligibility=eligibility
        )
        self.reasons: dict[int, str] = {}
        self._contexts(mentees)
        self._features(mentees)

    def _contexts(self, mentees: Sequence[Person]) -> None:
        codes = self.index.departments.codes
        self.level = np.array([np.nan if m.level is None else m.level for m in mentees], dtype=np.float64)
        offsets = [utc_offset_hours(m.timezone, self.index.at) for m in mentees]
        self.offset = np.array([np.nan if o is None else o for o in offsets], dtype=np.float64)
        self.preference = np.array([_PREFERENCE[m.department_preference] for m in mentees], dtype=np.int64)
        self.department = np.array(
            [-1 if m.department is None else codes.get(m.department, -2) for m in mentees], dtype=np.int64
        )
        keys: dict[Hashable, int] = {}
        context = []
        for mentee, offset, preference, dept in zip(
            mentees, offsets, self.preference.tolist(), self.department.tolist(), strict=True
        ):
            # None, not NaN, for unknowns: NaN keys never compare equal.
            key = (mentee.level, offset, preference, -1 if preference == ANY else dept)
            context.append(keys.setdefault(key, len(keys)))
        self.context = np.array(context, dtype=np.int64)
        combos, self._inverse = self.index.mentor_contexts()
        self._table = _Table(list(keys), combos.shape[0], self._context_row)

    def _features(self, mentees: Sequence[Person]) -> None:
        skill_vocab, interest_vocab = self.index.skill_vocab, self.index.interest_vocab
        goal_cols: list[list[int]] = []
        goal_vals: list[list[float]] = []
        interest_cols: list[list[int]] = []
        for mentee in mentees:
            goals = best_levels(mentee.goals)
            known = [(skill_vocab[n], w) for n, w in goals.items() if n in skill_vocab]
            goal_cols.append([code * _GOAL_LEVELS + wanted - 1 for code, wanted in known])
            goal_vals.append([1.0 / len(goals)] * len(known) if goals else [])
            wanted = set(mentee.interests)
            interest_cols.append([c for c in map(interest_vocab.get, wanted) if c is not None])
        self.has_goals = np.array([bool(m.goals) for m in mentees], dtype=np.bool_)
        self.n_interests = np.array([len(set(m.interests)) for m in mentees], dtype=np.float64)
        self.goals = _csr(goal_cols, goal_vals, max(1, len(skill_vocab)) * _GOAL_LEVELS)
        ones = [[1.0] * len(cols) for cols in interest_cols]
        self.interests = _csr(interest_cols, ones, max(1, len(interest_vocab)))

    def _context_row(self, key: Hashable) -> FloatArray:
        """The weighted seniority + timezone + department of one mentee context per mentor context."""
        level, offset, preference, dept = cast("Context", key)
        level, offset = np.nan if level is None else level, np.nan if offset is None else offset
        combos, w = self.index.mentor_context_values(), self.weights
        row = np.zeros(combos.level.size)
        if w["seniority"]:
            row += w["seniority"] * seniority(combos.level, level)
        if w["timezone"]:
            row += w["timezone"] * timezone(combos.offset, offset)
        if w["department"]:
            row += w["department"] * department(combos.department, dept, preference)
        return row

    def scores(self, rows: IntArray) -> FloatArray:
        """`[len(rows), n_mentors]` scores in [0, 1] (infeasible pairs included)."""
        out: FloatArray = self._table.gather(self.context[rows])[:, self._inverse]
        w_goal, w_interest = self.weights["goal_fit"], self.weights["interests"]
        if w_goal:
            out += np.where(self.has_goals[rows], 0.0, w_goal * UNKNOWN)[:, None]
            fit: sp.csr_matrix = self.goals[rows] @ self.index.goal_matrix()
            _add_sparse(out, fit, w_goal * fit.data)
        if w_interest:
            shared: sp.csr_matrix = self.interests[rows] @ self.index.interest_matrix()
            r = np.repeat(np.arange(rows.size), np.diff(shared.indptr))
            union = self.n_interests[rows][r] + self.index.n_interests[shared.indices] - shared.data
            _add_sparse(out, shared, w_interest * (shared.data / union))
        np.clip(out, 0.0, 1.0, out=out)
        return out

    def breakdown(self, rows: IntArray, positions: IntArray) -> dict[str, FloatArray]:
        """The unweighted components of the pairs (mentee `rows[k]`, mentor `positions[k]`)."""
        index = self.index
        goal_fit = _pair_products(self.goals, index.goal_matrix(by_mentor=True), rows, positions)
        shared = _pair_products(self.interests, index.interest_matrix(by_mentor=True), rows, positions)
        parts = {
            "goal_fit": np.where(self.has_goals[rows], goal_fit, UNKNOWN),
            "seniority": seniority(index.level[positions], self.level[rows]),
            "timezone": timezone(index.tz_offset[positions], self.offset[rows]),
            "department": department(
                index.dept_code[positions], self.department[rows], self.preference[rows]
            ),
            "interests": jaccard(shared, self.n_interests[rows] + index.n_interests[positions] - shared),
        }
        return {name: parts[name] for name in COMPONENTS}

    def feasible(self, rows: IntArray) -> BoolArray:
        """`[len(rows), n_mentors]` feasibility; records the reasons of rows left with none."""
        mask, reasons = self.constraints.feasible(rows)
        self.reasons.update(reasons)
        return mask

    def blocks(self, size: int = BLOCK) -> list[IntArray]:
        return [
            np.arange(start, min(self.size, start + size), dtype=np.int64)
            for start in range(0, self.size, size)
        ]


def _add_sparse(out: FloatArray, pattern: sp.csr_matrix, values: FloatArray) -> None:
    """`out += values` at the non-zeros of `pattern` (a product: no repeated entries)."""
    if pattern.nnz:
        rows = np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))
        out[rows, pattern.indices] += values


_FEW_PAIRS = 256  # below this, dot products pair by pair beat sparse slicing


def _pair_products(
    mentees: sp.csr_matrix, mentors: sp.csr_matrix, rows: IntArray, positions: IntArray
) -> FloatArray:
    """Row-wise dot products of `mentees[rows[k]]` and `mentors[positions[k]]`."""
    if rows.size > _FEW_PAIRS:
        products = mentees[rows].multiply(mentors[positions]).sum(axis=1)
        return np.asarray(products, dtype=np.float64).ravel()
    out = np.zeros(rows.size)
    for k, (row, pos) in enumerate(zip(rows.tolist(), positions.tolist(), strict=True)):
        a, b = (
            slice(mentees.indptr[row], mentees.indptr[row + 1]),
            slice(mentors.indptr[pos], mentors.indptr[pos + 1]),
        )
        _, left, right = np.intersect1d(
            mentees.indices[a], mentors.indices[b], assume_unique=True, return_indices=True
        )
        out[k] = mentees.data[a][left] @ mentors.data[b][right]
    return out

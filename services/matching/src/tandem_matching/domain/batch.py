"""Scores and hard constraints for many mentees at once, computed block by block.

`MenteeBatch` turns a round's mentees into a few integer keys and two small sparse matrices
once; a block of mentees is then scored against every mentor with a handful of numpy passes:

- seniority, timezone and department depend only on a (level, zone, department preference)
  *context* of the mentee and on mentor codes, so each distinct context is one precomputed row
  and a block is one row gather;
- goal fit is linear in the mentee's goals once the wanted level is part of the feature
  (`min(mentor level / wanted, 1)` for wanted 1..5), i.e. a sparse x sparse product;
- interests (Jaccard) need the shared count, a sparse x sparse product, and a division on its
  non-zeros only.

The same code scores a whole dense matrix (`score_matrix`), the top-K candidate lists of a
round without the dense matrix (`round_candidates`) and the rows the optimality certificate
has to re-check, so every path sees bit-identical scores.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Sequence
from typing import cast

import numpy as np
import scipy.sparse as sp

from .constraints import (
    ALL_CANDIDATES_EXCLUDED,
    NO_ELIGIBLE_MENTOR,
    NO_MENTOR_CAPACITY,
    NO_SHARED_LANGUAGE,
    REPORTING_LINE_ONLY,
    _mentee_reason,
    group_exclusions,
)
from .index import BoolArray, FloatArray, IntArray, MentorIndex, utc_offset_hours
from .model import DepartmentPreference, Eligibility, Person, Weights

__all__ = [
    "BLOCK",
    "UNKNOWN",
    "WORKDAY_HOURS",
    "MenteeBatch",
    "department_row",
    "seniority_row",
    "timezone_row",
    "working_hours_overlap",
]

WORKDAY_HOURS = 8.0
UNKNOWN = 0.5
BLOCK = 256  # mentees per block: ~4 MB of float64 per 2,000 mentors, stays in cache
_TABLE_BUDGET = 1 << 23  # entries of a precomputed per-key table (64 MB of float64)
_GOAL_LEVELS = 5  # Skill levels are 1..5


def working_hours_overlap(offset_a: FloatArray | float, offset_b: float) -> FloatArray:
    """Shared hours of two 09:00-17:00 local days whose zones are at these UTC offsets."""
    gap = np.abs(np.asarray(offset_a, dtype=np.float64) - offset_b) % 24.0
    gap = np.minimum(gap, 24.0 - gap)  # circular: +14 and -10 are the same wall clock
    return np.clip(WORKDAY_HOURS - gap, 0.0, WORKDAY_HOURS)


def seniority_row(index: MentorIndex, level: int | None) -> FloatArray:
    """Seniority component of a mentee at `level` against every mentor."""
    if level is None:
        return np.full(index.size, UNKNOWN)
    # One value per distinct mentor level, then a gather; code -1 picks the trailing UNKNOWN.
    gap = index.levels - level
    value = np.where(gap <= 0, 0.0, np.clip(1.0 - 0.25 * (gap - 3.0), 0.0, 1.0))
    return np.append(value, UNKNOWN)[index.level_code]


def timezone_row(index: MentorIndex, offset: float | None) -> FloatArray:
    """Timezone component of a mentee at UTC `offset` (hours) against every mentor."""
    if offset is None:
        return np.full(index.size, UNKNOWN)
    table = np.append(working_hours_overlap(index.tz_offsets, offset) / WORKDAY_HOURS, UNKNOWN)
    return table[index.tz_code]


def department_row(
    index: MentorIndex, preference: DepartmentPreference, department: str | None
) -> FloatArray:
    """Department component of a mentee with this preference and department."""
    if preference == "any":
        return np.ones(index.size)
    if department is None:
        return np.full(index.size, UNKNOWN)
    same = index.dept_code == index.departments.codes.get(department, -2)
    value = np.where(same, 1.0, 0.0) if preference == "same" else np.where(same, 0.0, 1.0)
    return np.where(index.dept_code < 0, UNKNOWN, value)


class _Keys:
    """Interns hashable keys to dense codes, remembering the keys in code order."""

    def __init__(self) -> None:
        self.codes: dict[Hashable, int] = {}
        self.keys: list[Hashable] = []

    def code(self, key: Hashable) -> int:
        code = self.codes.get(key)
        if code is None:
            code = self.codes[key] = len(self.keys)
            self.keys.append(key)
        return code


class _Table:
    """One row per key over every mentor: precomputed when small enough, else built per block
    for the keys that block uses."""

    def __init__(self, keys: list[Hashable], width: int, make: Callable[[Hashable], np.ndarray]):
        self.keys = keys
        self.width = width
        self.make = make
        self.full: np.ndarray | None = None
        if len(keys) * width <= _TABLE_BUDGET:
            self.full = self._build(np.arange(len(keys)))

    def _build(self, codes: IntArray) -> np.ndarray:
        if codes.size == 0:
            return np.zeros((0, self.width))
        return np.stack([self.make(self.keys[c]) for c in codes.tolist()])

    def gather(self, codes: IntArray) -> np.ndarray:
        if self.full is not None:
            return self.full[codes]
        used, inverse = np.unique(codes, return_inverse=True)
        return self._build(used)[inverse]


def _segments(ptr: IntArray, cols: IntArray, rows: IntArray) -> tuple[IntArray, IntArray]:
    """(local row, col) of the CSR-like lists `ptr`/`cols` for the given rows, concatenated."""
    starts = ptr[rows]
    lengths = ptr[rows + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    local = np.repeat(np.arange(rows.size, dtype=np.int64), lengths)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return local, cols[np.repeat(starts, lengths) + offsets]


def _csr(rows: list[list[int]], values: list[list[float]] | None, width: int) -> sp.csr_matrix:
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = [c for r in rows for c in r]
    cols = np.array(flat, dtype=np.int64)
    data = (
        np.ones(cols.size) if values is None else np.array([v for r in values for v in r], dtype=np.float64)
    )
    return sp.csr_matrix((data, cols, ptr), shape=(len(rows), width))


def _ptr(lists: list[list[int]]) -> tuple[IntArray, IntArray]:
    lengths = np.array([len(r) for r in lists], dtype=np.int64)
    ptr = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(lengths)]).astype(np.int64)
    cols = np.array([c for r in lists for c in r], dtype=np.int64)
    return ptr, cols


class MenteeBatch:
    """The mentees of a round prepared for block-wise scoring against one `MentorIndex`.

    `scores(rows)` and `feasible(rows)` give exactly what `score_matrix` gives for those rows;
    `reasons` holds the constraint reason code of every mentee with no feasible mentor.
    """

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
        self.size = m = len(mentees)
        n = index.size
        w = weights.normalised().as_dict()
        self.weights = w

        contexts = _Keys()
        languages = _Keys()
        no_language = languages.code(None)
        self.context = np.zeros(m, dtype=np.int64)
        self.language = np.zeros(m, dtype=np.int64)
        self.constant = np.zeros(m)
        goal_cols: list[list[int]] = []
        goal_vals: list[list[float]] = []
        interest_cols: list[list[int]] = []
        self.n_interests = np.zeros(m)
        line: list[list[int]] = []
        excluded: list[list[int]] = []
        blocked: list[int] = []
        self.reasons: dict[int, str] = {}

        exclusions = group_exclusions(excluded_pairs)
        position = index.position
        skill_vocab = index.skill_vocab
        interest_vocab = index.interest_vocab
        w_goal = w["goal_fit"]
        for row, mentee in enumerate(mentees):
            offset = utc_offset_hours(mentee.timezone, index.at)
            department = None if mentee.department_preference == "any" else mentee.department
            self.context[row] = contexts.code(
                (mentee.level, offset, mentee.department_preference, department)
            )
            goals: dict[str, int] = {}
            for goal in mentee.goals:
                goals[goal.name] = max(goals.get(goal.name, 0), goal.level)
            cols: list[int] = []
            vals: list[float] = []
            if not goals:
                self.constant[row] = w_goal * UNKNOWN
            elif w_goal:
                share = w_goal / len(goals)
                for name, wanted in goals.items():
                    code = skill_vocab.get(name)
                    if code is not None:
                        cols.append(code * _GOAL_LEVELS + wanted - 1)
                        vals.append(share)
            goal_cols.append(cols)
            goal_vals.append(vals)
            wanted_interests = set(mentee.interests)
            self.n_interests[row] = len(wanted_interests)
            interest_cols.append([c for c in map(interest_vocab.get, wanted_interests) if c is not None])
            if mentee.languages:
                self.language[row] = languages.code(frozenset(mentee.languages))
            else:
                self.language[row] = no_language

            reason = _mentee_reason(mentee, eligibility)
            if reason is not None:
                self.reasons[row] = reason
                blocked.append(row)
            first, second = index.manager_chain(mentee)
            line_ids = (mentee.employee_id, first, second)
            clear = [p for p in (position.get(e) for e in line_ids if e is not None) if p is not None]
            clear.extend(index.reports_of(mentee.employee_id).tolist())
            line.append(clear)
            gone = exclusions.get(mentee.employee_id, ())
            excluded.append([p for p in map(position.get, gone) if p is not None])

        self.blocked = np.zeros(m, dtype=np.bool_)
        self.blocked[blocked] = True
        self.line_ptr, self.line_cols = _ptr(line)
        self.excl_ptr, self.excl_cols = _ptr(excluded)

        # Mentor side.
        self._contexts = _Table(contexts.keys, n, self._context_row)
        self._languages = _Table(languages.keys, n, self._language_row)
        self.goals = _csr(goal_cols, goal_vals, max(1, len(skill_vocab)) * _GOAL_LEVELS)
        self.mentor_goals = _goal_matrix(index)
        self.interests = _csr(interest_cols, None, max(1, len(interest_vocab)))
        self.mentor_interests = _interest_matrix(index)

        open_ = index.active & index.is_mentor & index.eligible(eligibility)
        self.global_reason: str | None = None
        if not open_.any():
            self.global_reason = NO_ELIGIBLE_MENTOR
        open_ = open_ & (index.free_capacity > 0)
        if self.global_reason is None and not open_.any():
            self.global_reason = NO_MENTOR_CAPACITY
        self.open: BoolArray = open_
        self._reasons_known = np.zeros(m, dtype=np.bool_)
        if self.global_reason is not None:
            for row in range(m):
                self.reasons.setdefault(row, self.global_reason)
            self._reasons_known[:] = True
        self._reasons_known[blocked] = True

    # -- rows of the precomputed tables -------------------------------------------------------

    def _context_row(self, key: Hashable) -> np.ndarray:
        level, offset, preference, department = cast(
            "tuple[int | None, float | None, DepartmentPreference, str | None]", key
        )
        w = self.weights
        row = np.zeros(self.index.size)
        if w["seniority"]:
            row += w["seniority"] * seniority_row(self.index, level)
        if w["timezone"]:
            row += w["timezone"] * timezone_row(self.index, offset)
        if w["department"]:
            row += w["department"] * department_row(self.index, preference, department)
        return row

    def _language_row(self, key: Hashable) -> np.ndarray:
        index = self.index
        if key is None:
            return np.ones(index.size, dtype=np.bool_)
        shared: BoolArray = index.n_languages == 0  # a mentor listing no language: no block
        for language in cast("frozenset[str]", key):
            code = index.language_vocab.get(language)
            if code is not None:
                shared[index.language_mentors[code]] = True
        return shared

    # -- blocks ---------------------------------------------------------------------------------

    def scores(self, rows: IntArray) -> FloatArray:
        """`[len(rows), n_mentors]` scores in [0, 1] (infeasible pairs included)."""
        out: FloatArray = self._contexts.gather(self.context[rows])
        out += self.constant[rows, None]
        sparse: sp.csr_matrix | None = None
        if self.weights["goal_fit"]:
            sparse = sp.csr_matrix(self.goals[rows] @ self.mentor_goals)
        w_int = self.weights["interests"]
        if w_int:
            shared = sp.csr_matrix(self.interests[rows] @ self.mentor_interests)
            if shared.nnz:
                r = np.repeat(np.arange(rows.size), np.diff(shared.indptr))
                s = shared.data
                union = self.n_interests[rows][r] + self.index.n_interests[shared.indices] - s
                shared.data = w_int * (s / union)
                sparse = shared if sparse is None else sparse + shared
        if sparse is not None and sparse.nnz:
            out += sparse.toarray()
        np.clip(out, 0.0, 1.0, out=out)
        return out

    def feasible(self, rows: IntArray) -> BoolArray:
        """`[len(rows), n_mentors]` feasibility; fills `reasons` for rows seen the first time."""
        n = self.index.size
        b = rows.size
        mask = np.empty((b, n), dtype=np.bool_)
        mask[:] = self.open
        if self.global_reason is not None or b == 0:
            mask[:] = False
            return mask
        flat = mask.reshape(-1)
        local, cols = _segments(self.line_ptr, self.line_cols, rows)
        flat[local * n + cols] = False
        fresh = ~self._reasons_known[rows]
        check = bool(fresh.any())
        any_line = np.asarray(mask.any(axis=1), dtype=np.bool_) if check else fresh
        mask &= self._languages.gather(self.language[rows])
        any_language = np.asarray(mask.any(axis=1), dtype=np.bool_) if check else any_line
        local, cols = _segments(self.excl_ptr, self.excl_cols, rows)
        flat[local * n + cols] = False
        mask[self.blocked[rows]] = False
        if check:
            any_final = mask.any(axis=1)
            for k in np.flatnonzero(fresh & ~any_final).tolist():
                row = int(rows[k])
                if not any_line[k]:
                    self.reasons[row] = REPORTING_LINE_ONLY
                elif not any_language[k]:
                    self.reasons[row] = NO_SHARED_LANGUAGE
                else:
                    self.reasons[row] = ALL_CANDIDATES_EXCLUDED
            self._reasons_known[rows] = True
        return mask

    def blocks(self, size: int = BLOCK) -> list[IntArray]:
        return [
            np.arange(start, min(self.size, start + size), dtype=np.int64)
            for start in range(0, self.size, size)
        ]


def _goal_matrix(index: MentorIndex) -> sp.csr_matrix:
    """`[skills x 5, n_mentors]`: row `skill * 5 + wanted - 1` holds min(level / wanted, 1)."""
    cached = index.cache.get("goal_matrix")
    if cached is not None:
        return cached
    n_rows = max(1, len(index.skill_vocab)) * _GOAL_LEVELS
    lengths = np.zeros(n_rows, dtype=np.int64)
    cols: list[IntArray] = []
    data: list[FloatArray] = []
    for code, (positions, levels) in enumerate(zip(index.skill_mentors, index.skill_levels, strict=True)):
        for wanted in range(1, _GOAL_LEVELS + 1):
            lengths[code * _GOAL_LEVELS + wanted - 1] = positions.size
            cols.append(positions)
            data.append(np.minimum(levels / wanted, 1.0))
    ptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    matrix = sp.csr_matrix(
        (
            np.concatenate(data) if data else np.zeros(0),
            np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64),
            ptr,
        ),
        shape=(n_rows, index.size),
    )
    index.cache["goal_matrix"] = matrix
    return matrix


def _interest_matrix(index: MentorIndex) -> sp.csr_matrix:
    """`[interests, n_mentors]` with a 1 where the mentor lists the interest."""
    cached = index.cache.get("interest_matrix")
    if cached is not None:
        return cached
    n_rows = max(1, len(index.interest_vocab))
    lengths = np.zeros(n_rows, dtype=np.int64)
    for code, positions in enumerate(index.interest_mentors):
        lengths[code] = positions.size
    ptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    cols = np.concatenate(index.interest_mentors) if index.interest_mentors else np.zeros(0, dtype=np.int64)
    matrix = sp.csr_matrix((np.ones(cols.size), cols, ptr), shape=(n_rows, index.size))
    index.cache["interest_matrix"] = matrix
    return matrix

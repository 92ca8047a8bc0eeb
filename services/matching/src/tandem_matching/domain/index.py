"""`MentorIndex`: the mentor pool as column arrays, built once, scored many times."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .model import Eligibility, Person, best_levels

__all__ = ["REFERENCE_INSTANT", "MentorContexts", "MentorIndex", "utc_offset_hours"]

# Offsets are taken at one fixed instant so scores are reproducible; DST is ignored on purpose.
REFERENCE_INSTANT = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_NO_POSITIONS: IntArray = np.zeros(0, dtype=np.int64)
_GOAL_LEVELS = 5  # Skill levels are 1..5


@dataclass(frozen=True, slots=True)
class MentorContexts:
    """The distinct (level, UTC offset, department code) of the mentors; NaN / -1 unknown."""

    level: FloatArray
    offset: FloatArray
    department: IntArray


@lru_cache(maxsize=1024)
def utc_offset_hours(timezone: str | None, at: datetime = REFERENCE_INSTANT) -> float | None:
    """UTC offset of an IANA zone in hours at `at`; `None` for unknown or invalid zones."""
    if not timezone:
        return None
    try:
        offset = at.astimezone(ZoneInfo(timezone)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return None if offset is None else offset.total_seconds() / 3600.0


class _Vocab:
    """Interns strings to dense integer codes."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def code(self, value: str) -> int:
        return self.codes.setdefault(value, len(self.codes))

    def codes_of(self, values: Iterable[str | None]) -> IntArray:
        return np.array([-1 if v is None else self.code(v) for v in values], dtype=np.int64)


def _postings(
    rows: Sequence[Mapping[str, float]],
) -> tuple[dict[str, int], list[IntArray], list[FloatArray]]:
    """Inverted index: term -> (mentor positions, values)."""
    vocab: dict[str, int] = {}
    positions: list[list[int]] = []
    values: list[list[float]] = []
    for pos, row in enumerate(rows):
        for term, value in row.items():
            code = vocab.setdefault(term, len(vocab))
            if code == len(positions):
                positions.append([])
                values.append([])
            positions[code].append(pos)
            values[code].append(value)
    return (
        vocab,
        [np.array(p, dtype=np.int64) for p in positions],
        [np.array(v, dtype=np.float64) for v in values],
    )


class MentorIndex:
    """Column arrays over a fixed list of candidate mentors (position = row in every array)."""

    def __init__(
        self,
        mentors: Sequence[Person],
        *,
        managers: Mapping[str, str | None] | None = None,
        at: datetime = REFERENCE_INSTANT,
    ) -> None:
        """`managers` maps employee id -> manager id for the whole org (for skip-levels);
        when omitted, only the mentors' own `manager_id`s are known."""
        self.mentors: tuple[Person, ...] = tuple(mentors)
        self.at = at
        self.ids: tuple[str, ...] = tuple(m.employee_id for m in self.mentors)
        self.position: dict[str, int] = {eid: i for i, eid in enumerate(self.ids)}
        self.managers: dict[str, str | None] = {m.employee_id: m.manager_id for m in self.mentors}
        if managers:
            self.managers.update(managers)
        n = len(self.mentors)
        self.size = n

        self.active: BoolArray = np.array([m.active for m in self.mentors], dtype=np.bool_)
        self.is_mentor: BoolArray = np.array([("mentor" in m.roles) for m in self.mentors], dtype=np.bool_)
        self.free_capacity: IntArray = np.array([m.free_capacity for m in self.mentors], dtype=np.int64)
        self._levels_and_zones()
        self.departments = _Vocab()
        self.dept_code: IntArray = self.departments.codes_of(m.department for m in self.mentors)
        self.locations = _Vocab()
        self.loc_code: IntArray = self.locations.codes_of(m.location for m in self.mentors)
        self._postings()
        self._reporting_lines()
        self._eligible_cache: dict[Eligibility, BoolArray] = {}
        self._reports: dict[int, IntArray] | None = None
        # Derived structures built lazily by the scoring code (keyed by name).
        self.cache: dict[Hashable, Any] = {}

    def _levels_and_zones(self) -> None:
        """Levels and UTC offsets, each as a sorted list of distinct values and a code per mentor."""
        self.level: FloatArray = np.array(
            [np.nan if m.level is None else m.level for m in self.mentors], dtype=np.float64
        )
        known = sorted({float(m.level) for m in self.mentors if m.level is not None})
        self.levels: FloatArray = np.array(known, dtype=np.float64)
        level_lookup = {v: i for i, v in enumerate(known)}
        self.level_code: IntArray = np.array(
            [-1 if m.level is None else level_lookup[float(m.level)] for m in self.mentors],
            dtype=np.int64,
        )
        offsets = [utc_offset_hours(m.timezone, self.at) for m in self.mentors]
        distinct = sorted({o for o in offsets if o is not None})
        self.tz_offsets: FloatArray = np.array(distinct, dtype=np.float64)
        tz_lookup = {o: i for i, o in enumerate(distinct)}
        self.tz_code: IntArray = np.array(
            [-1 if o is None else tz_lookup[o] for o in offsets], dtype=np.int64
        )
        self.tz_offset: FloatArray = np.append(self.tz_offsets, np.nan)[self.tz_code]

    def _postings(self) -> None:
        """Inverted lists of skills (with levels), interests and languages."""
        skills = [_max_levels(m) for m in self.mentors]
        self.skill_vocab, self.skill_mentors, self.skill_levels = _postings(skills)
        interests = [dict.fromkeys(m.interests, 1.0) for m in self.mentors]
        self.interest_vocab, self.interest_mentors, _ = _postings(interests)
        self.n_interests: FloatArray = np.array([len(r) for r in interests], dtype=np.float64)
        languages = [dict.fromkeys(m.languages, 1.0) for m in self.mentors]
        self.language_vocab, self.language_mentors, _ = _postings(languages)
        self.n_languages: IntArray = np.array([len(r) for r in languages], dtype=np.int64)

    def _reporting_lines(self) -> None:
        """Managers and skip-level managers as codes over one people vocabulary (-1 unknown)."""
        self.people = _Vocab()
        for eid in self.ids:
            self.people.code(eid)
        self.manager1: IntArray = self.people.codes_of(m.manager_id for m in self.mentors)
        self.manager2: IntArray = self.people.codes_of(
            self.managers.get(m.manager_id) if m.manager_id else None for m in self.mentors
        )

    def __len__(self) -> int:
        return self.size

    def mentor_contexts(self) -> tuple[IntArray, IntArray]:
        """`(combos, inverse)`: the distinct (level, zone, department) codes, and per mentor
        the row of its combination."""
        cached: tuple[IntArray, IntArray] | None = self.cache.get("contexts")
        if cached is None:
            key = np.stack([self.level_code, self.tz_code, self.dept_code], axis=1)
            if key.shape[0]:
                combos, inverse = np.unique(key, axis=0, return_inverse=True)
            else:
                combos, inverse = key, np.zeros(0, dtype=np.int64)
            cached = (combos.astype(np.int64), inverse.reshape(-1).astype(np.int64))
            self.cache["contexts"] = cached
        return cached

    def mentor_context_values(self) -> MentorContexts:
        combos, _ = self.mentor_contexts()
        return MentorContexts(
            level=np.append(self.levels, np.nan)[combos[:, 0]],
            offset=np.append(self.tz_offsets, np.nan)[combos[:, 1]],
            department=combos[:, 2],
        )

    def goal_matrix(self, *, by_mentor: bool = False) -> sp.csr_matrix:
        """`[skills x 5, n_mentors]`: row `skill * 5 + wanted - 1` holds min(level / wanted, 1)
        (transposed, one row per mentor, with `by_mentor`)."""
        key = ("goal_matrix", by_mentor)
        cached: sp.csr_matrix | None = self.cache.get(key)
        if cached is not None:
            return cached
        n_rows = max(1, len(self.skill_vocab)) * _GOAL_LEVELS
        lengths = np.zeros(n_rows, dtype=np.int64)
        cols: list[IntArray] = []
        data: list[FloatArray] = []
        for code, (positions, levels) in enumerate(zip(self.skill_mentors, self.skill_levels, strict=True)):
            for wanted in range(1, _GOAL_LEVELS + 1):
                lengths[code * _GOAL_LEVELS + wanted - 1] = positions.size
                cols.append(positions)
                data.append(np.minimum(levels / wanted, 1.0))
        matrix = _csr_of(lengths, cols, data, (n_rows, self.size))
        result = sp.csr_matrix(matrix.T) if by_mentor else matrix
        self.cache[key] = result
        return result

    def interest_matrix(self, *, by_mentor: bool = False) -> sp.csr_matrix:
        """`[interests, n_mentors]` with a 1 where the mentor lists the interest."""
        key = ("interest_matrix", by_mentor)
        cached: sp.csr_matrix | None = self.cache.get(key)
        if cached is not None:
            return cached
        n_rows = max(1, len(self.interest_vocab))
        lengths = np.zeros(n_rows, dtype=np.int64)
        for code, positions in enumerate(self.interest_mentors):
            lengths[code] = positions.size
        data = [np.ones(p.size) for p in self.interest_mentors]
        matrix = _csr_of(lengths, list(self.interest_mentors), data, (n_rows, self.size))
        result = sp.csr_matrix(matrix.T) if by_mentor else matrix
        self.cache[key] = result
        return result

    def manager_chain(self, person: Person) -> tuple[str | None, str | None]:
        """The person's manager and manager's manager, as far as the index knows."""
        first = person.manager_id
        second = self.managers.get(first) if first else None
        return first, second

    def reports_of(self, employee_id: str) -> IntArray:
        """Positions of the mentors whose manager or skip-level manager is `employee_id`."""
        if self._reports is None:
            codes = np.concatenate([self.manager1, self.manager2])
            positions = np.concatenate([np.arange(self.size, dtype=np.int64)] * 2)
            known = codes >= 0
            codes, positions = codes[known], positions[known]
            order = np.lexsort((positions, codes))
            codes, positions = codes[order], positions[order]
            keys, starts = np.unique(codes, return_index=True)
            groups = np.split(positions, starts[1:]) if keys.size else []
            self._reports = {int(k): np.unique(g) for k, g in zip(keys.tolist(), groups, strict=True)}
        code = self.people.codes.get(employee_id)
        if code is None:
            return _NO_POSITIONS
        return self._reports.get(code, _NO_POSITIONS)

    def eligible(self, eligibility: Eligibility | None) -> BoolArray:
        """Mask of mentors admitted by a program's eligibility (cached per eligibility)."""
        if eligibility is None or eligibility.is_open:
            return np.ones(self.size, dtype=np.bool_)
        cached = self._eligible_cache.get(eligibility)
        if cached is not None:
            return cached
        mask = np.ones(self.size, dtype=np.bool_)
        if eligibility.departments is not None:
            codes = [self.departments.codes.get(d, -2) for d in eligibility.departments]
            mask &= np.isin(self.dept_code, np.array(codes, dtype=np.int64))
        if eligibility.locations is not None:
            codes = [self.locations.codes.get(loc, -2) for loc in eligibility.locations]
            mask &= np.isin(self.loc_code, np.array(codes, dtype=np.int64))
        if eligibility.groups is not None:
            wanted = frozenset(eligibility.groups)
            members = (not m.groups.isdisjoint(wanted) for m in self.mentors)
            mask &= np.fromiter(members, dtype=np.bool_, count=self.size)
        with np.errstate(invalid="ignore"):
            if eligibility.min_level is not None:
                mask &= self.level >= eligibility.min_level
            if eligibility.max_level is not None:
                mask &= self.level <= eligibility.max_level
        mask.setflags(write=False)
        self._eligible_cache[eligibility] = mask
        return mask


def _csr_of(
    lengths: IntArray, cols: list[IntArray], data: list[FloatArray], shape: tuple[int, int]
) -> sp.csr_matrix:
    ptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return sp.csr_matrix(
        (
            np.concatenate(data) if data else np.zeros(0),
            np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64),
            ptr,
        ),
        shape=shape,
    )


def _max_levels(person: Person) -> dict[str, float]:
    return {name: float(level) for name, level in best_levels(person.skills).items()}

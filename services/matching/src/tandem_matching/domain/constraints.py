"""Hard constraints: which mentors a mentee may be matched with at all.

They are one ordered list of (reason, mask) filters, applied to a block of mentees (one for a
request or a suggestion, many for a round) against every mentor of a `MentorIndex`. A mentee
with no feasible mentor gets the reason of the first filter after which none was left.

Program eligibility applies to both sides: a program admits people, and a mentor outside the
program (wrong department, level or location) is as ineligible as such a mentee.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from .index import BoolArray, IntArray, MentorIndex
from .model import Eligibility, Person

__all__ = [
    "ALL_CANDIDATES_EXCLUDED",
    "CONSTRAINTS",
    "MENTEE_INACTIVE",
    "MENTEE_INELIGIBLE",
    "NOT_A_MENTEE",
    "NO_ELIGIBLE_MENTOR",
    "NO_MENTOR_CAPACITY",
    "NO_SHARED_LANGUAGE",
    "REPORTING_LINE_ONLY",
    "Constraint",
    "Feasibility",
    "MenteeConstraints",
    "feasible_matrix",
    "feasible_mentors",
]

MENTEE_INACTIVE: Final = "mentee_inactive"
NOT_A_MENTEE: Final = "not_a_mentee"
MENTEE_INELIGIBLE: Final = "mentee_ineligible"
NO_ELIGIBLE_MENTOR: Final = "no_eligible_mentor"  # no active, eligible person with the mentor role
NO_MENTOR_CAPACITY: Final = "no_mentor_capacity"  # ... of those, none has free capacity
REPORTING_LINE_ONLY: Final = "reporting_line_only"  # ... the rest are the mentee or their line
NO_SHARED_LANGUAGE: Final = "no_shared_language"
ALL_CANDIDATES_EXCLUDED: Final = "all_candidates_excluded"  # declined, ended, active or proposed

_LANGUAGE_CACHE = 256  # language sets remembered per index


def _group_exclusions(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """`{(mentee_id, mentor_id)}` -> `{mentee_id: {mentor_id, ...}}`."""
    grouped: dict[str, set[str]] = defaultdict(set)
    for mentee_id, mentor_id in pairs:
        grouped[mentee_id].add(mentor_id)
    return dict(grouped)


def _ptr(lists: list[list[int]]) -> tuple[IntArray, IntArray]:
    """CSR-like (pointers, columns) of per-row position lists."""
    lengths = np.array([len(r) for r in lists], dtype=np.int64)
    ptr = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(lengths)]).astype(np.int64)
    return ptr, np.array([c for r in lists for c in r], dtype=np.int64)


def _segments(ptr: IntArray, cols: IntArray, rows: IntArray) -> tuple[IntArray, IntArray]:
    """(local row, col) of the lists `ptr`/`cols` for the given rows, concatenated."""
    starts = ptr[rows]
    lengths = ptr[rows + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    local = np.repeat(np.arange(rows.size, dtype=np.int64), lengths)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return local, cols[np.repeat(starts, lengths) + offsets]


class MenteeConstraints:
    """Mentees prepared once for the filters: their own flags, reporting lines, languages and
    the mentors each must not be paired with again (`excluded_pairs`)."""

    def __init__(
        self,
        index: MentorIndex,
        mentees: Sequence[Person],
        *,
        excluded_pairs: Collection[tuple[str, str]] = (),
        eligibility: Eligibility | None = None,
    ) -> None:
        self.index = index
        self.size = len(mentees)
        self.active = np.array([m.active for m in mentees], dtype=np.bool_)
        self.is_mentee = np.array(["mentee" in m.roles for m in mentees], dtype=np.bool_)
        admits = eligibility.admits if eligibility is not None else (lambda _: True)
        self.admitted = np.array([admits(m) for m in mentees], dtype=np.bool_)
        self.open = _open_mentors(index, eligibility)
        exclusions = _group_exclusions(excluded_pairs)
        position = index.position
        line: list[list[int]] = []
        excluded: list[list[int]] = []
        self.languages: list[frozenset[str]] = []
        for mentee in mentees:
            ids = (mentee.employee_id, *index.manager_chain(mentee))
            clear = [p for p in (position.get(e) for e in ids if e is not None) if p is not None]
            line.append([*clear, *index.reports_of(mentee.employee_id).tolist()])
            gone = exclusions.get(mentee.employee_id, ())
            excluded.append([p for p in map(position.get, gone) if p is not None])
            self.languages.append(frozenset(mentee.languages))
        self.line = _ptr(line)
        self.excluded = _ptr(excluded)

    def mentors_for_anyone(self) -> BoolArray:
        """Mentors no mentee-independent filter rules out (a superset of the feasible ones)."""
        return self.open & (self.index.free_capacity > 0)

    def feasible(self, rows: IntArray) -> tuple[BoolArray, dict[int, str]]:
        """`[len(rows), n_mentors]` feasibility, and the reason of each row left with none."""
        mask: BoolArray = np.ones((rows.size, 1), dtype=np.bool_)
        alive: BoolArray = np.ones(rows.size, dtype=np.bool_)
        reasons: dict[int, str] = {}
        for constraint in CONSTRAINTS:
            mask = mask & constraint.keep(self, rows)
            still: BoolArray = np.asarray(mask.any(axis=1), dtype=np.bool_)
            for k in np.flatnonzero(alive & ~still).tolist():
                reasons[int(rows[k])] = constraint.reason
            alive = still
        return np.broadcast_to(mask, (rows.size, self.index.size)).copy(), reasons


Keep = Callable[[MenteeConstraints, IntArray], BoolArray]


@dataclass(frozen=True, slots=True)
class Constraint:
    """A hard constraint: `keep(mentees, rows)` is a mask that broadcasts to
    `[len(rows), n_mentors]` (`[b, 1]` for a rule on the mentee, `[1, n]` on the mentor)."""

    reason: str
    keep: Keep


def _open_mentors(index: MentorIndex, eligibility: Eligibility | None) -> BoolArray:
    """Active eligible people with the mentor role (cached per index and eligibility)."""
    key = ("open", None if eligibility is None or eligibility.is_open else eligibility)
    cached: BoolArray | None = index.cache.get(key)
    if cached is None:
        cached = index.active & index.is_mentor & index.eligible(eligibility)
        cached.setflags(write=False)
        index.cache[key] = cached
    return cached


def _speaking(index: MentorIndex, languages: frozenset[str]) -> BoolArray:
    """Mentors sharing a language with `languages` or listing none (cached per set)."""
    cache: dict[frozenset[str], BoolArray] = index.cache.setdefault("languages", {})
    mask = cache.get(languages)
    if mask is None:
        mask = index.n_languages == 0  # a mentor listing no language does not block
        for language in languages:
            code = index.language_vocab.get(language)
            if code is not None:
                mask[index.language_mentors[code]] = True
        mask.setflags(write=False)
        if len(cache) >= _LANGUAGE_CACHE:
            cache.pop(next(iter(cache)))
        cache[languages] = mask
    return mask


def _cleared(mentees: MenteeConstraints, lists: tuple[IntArray, IntArray], rows: IntArray) -> BoolArray:
    mask = np.ones((rows.size, mentees.index.size), dtype=np.bool_)
    local, cols = _segments(*lists, rows)
    mask[local, cols] = False
    return mask


def _shared_language(mentees: MenteeConstraints, rows: IntArray) -> BoolArray:
    """A shared language, where the mentee lists any (one row per distinct language set)."""
    wanted = [mentees.languages[r] for r in rows.tolist()]
    if not any(wanted):
        return np.ones((1, 1), dtype=np.bool_)
    everyone = np.ones(mentees.index.size, dtype=np.bool_)
    distinct = list(dict.fromkeys(wanted))
    table = np.stack([_speaking(mentees.index, s) if s else everyone for s in distinct])
    code = {s: i for i, s in enumerate(distinct)}
    return table[np.array([code[s] for s in wanted], dtype=np.int64)]


CONSTRAINTS: Final[tuple[Constraint, ...]] = (
    Constraint(MENTEE_INACTIVE, lambda c, rows: c.active[rows, None]),
    Constraint(NOT_A_MENTEE, lambda c, rows: c.is_mentee[rows, None]),
    Constraint(MENTEE_INELIGIBLE, lambda c, rows: c.admitted[rows, None]),
    Constraint(NO_ELIGIBLE_MENTOR, lambda c, rows: c.open[None, :]),
    Constraint(NO_MENTOR_CAPACITY, lambda c, rows: (c.index.free_capacity > 0)[None, :]),
    # Same person, and two levels of reporting line in both directions.
    Constraint(REPORTING_LINE_ONLY, lambda c, rows: _cleared(c, c.line, rows)),
    Constraint(NO_SHARED_LANGUAGE, _shared_language),
    Constraint(ALL_CANDIDATES_EXCLUDED, lambda c, rows: _cleared(c, c.excluded, rows)),
)


@dataclass(frozen=True, slots=True)
class Feasibility:
    """Feasible-mentor mask for one mentee; `reason` is set exactly when no mentor is feasible."""

    mask: BoolArray
    reason: str | None


def feasible_mentors(
    index: MentorIndex,
    mentee: Person,
    *,
    exclude: Collection[str] = (),
    eligibility: Eligibility | None = None,
) -> Feasibility:
    """The constraints for one mentee (a block of one); `exclude` holds mentor ids this mentee
    must not be paired with again (declined/ended before, active or proposed)."""
    pairs = [(mentee.employee_id, mentor_id) for mentor_id in exclude]
    mentees = MenteeConstraints(index, [mentee], excluded_pairs=pairs, eligibility=eligibility)
    mask, reasons = mentees.feasible(np.zeros(1, dtype=np.int64))
    return Feasibility(mask[0], reasons.get(0))


def feasible_matrix(
    index: MentorIndex,
    mentees: Sequence[Person],
    *,
    excluded_pairs: Collection[tuple[str, str]] = (),
    eligibility: Eligibility | None = None,
) -> tuple[BoolArray, dict[int, str]]:
    """Feasibility of every (mentee, mentor) pair as an `[n_mentees, n_mentors]` mask, and the
    reason code per mentee position that has no feasible mentor."""
    prepared = MenteeConstraints(index, mentees, excluded_pairs=excluded_pairs, eligibility=eligibility)
    mask, reasons = prepared.feasible(np.arange(len(mentees), dtype=np.int64))
    return mask, dict(sorted(reasons.items()))

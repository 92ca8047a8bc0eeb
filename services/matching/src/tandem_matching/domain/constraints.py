"""Hard constraints: which mentors a mentee may be matched with at all.

Program eligibility applies to both sides: a program admits people, and a mentor outside the
program (wrong department, level or location) is as ineligible as such a mentee.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .index import BoolArray, MentorIndex
from .model import Eligibility, Person

__all__ = [
    "ALL_CANDIDATES_EXCLUDED",
    "MENTEE_INACTIVE",
    "MENTEE_INELIGIBLE",
    "NOT_A_MENTEE",
    "NO_ELIGIBLE_MENTOR",
    "NO_MENTOR_CAPACITY",
    "NO_SHARED_LANGUAGE",
    "REPORTING_LINE_ONLY",
    "Feasibility",
    "feasible_matrix",
    "feasible_mentors",
    "group_exclusions",
]

# Reason codes for a mentee with no feasible mentor, in the order the filters are applied.
MENTEE_INACTIVE = "mentee_inactive"
NOT_A_MENTEE = "not_a_mentee"
MENTEE_INELIGIBLE = "mentee_ineligible"
NO_ELIGIBLE_MENTOR = "no_eligible_mentor"  # no active, eligible person with the mentor role
NO_MENTOR_CAPACITY = "no_mentor_capacity"  # ... of those, none has free capacity
REPORTING_LINE_ONLY = "reporting_line_only"  # ... the rest are the mentee or their line
NO_SHARED_LANGUAGE = "no_shared_language"
ALL_CANDIDATES_EXCLUDED = "all_candidates_excluded"  # declined, ended, active or proposed


@dataclass(frozen=True, slots=True)
class Feasibility:
    """Feasible-mentor mask for one mentee; `reason` is set exactly when no mentor is feasible."""

    mask: BoolArray
    reason: str | None


def _mentee_reason(mentee: Person, eligibility: Eligibility | None) -> str | None:
    if not mentee.active:
        return MENTEE_INACTIVE
    if "mentee" not in mentee.roles:
        return NOT_A_MENTEE
    if eligibility is not None and not eligibility.admits(mentee):
        return MENTEE_INELIGIBLE
    return None


def _clear(mask: BoolArray, index: MentorIndex, ids: Iterable[str | None]) -> None:
    for eid in ids:
        pos = index.position.get(eid) if eid is not None else None
        if pos is not None:
            mask[pos] = False


def feasible_mentors(
    index: MentorIndex,
    mentee: Person,
    *,
    exclude: Collection[str] = (),
    eligibility: Eligibility | None = None,
) -> Feasibility:
    """All hard constraints for one mentee against every mentor; `exclude` holds mentor ids
    this mentee must not be paired with again (declined/ended before, active or proposed)."""
    mentee_reason = _mentee_reason(mentee, eligibility)
    if mentee_reason is not None:
        return Feasibility(np.zeros(index.size, dtype=np.bool_), mentee_reason)

    open_, has_open, free, has_free = _open_mentors(index, eligibility)
    if not has_open:
        return Feasibility(open_.copy(), NO_ELIGIBLE_MENTOR)
    if not has_free:
        return Feasibility(free, NO_MENTOR_CAPACITY)
    mask = free

    # Same person, and two levels of reporting line in both directions.
    _clear(mask, index, (mentee.employee_id, *index.manager_chain(mentee)))
    mask[index.reports_of(mentee.employee_id)] = False
    if not mask.any():
        return Feasibility(mask, REPORTING_LINE_ONLY)

    if mentee.languages:
        mask &= _speaking(index, frozenset(mentee.languages))
        if not mask.any():
            return Feasibility(mask, NO_SHARED_LANGUAGE)

    if exclude:
        _clear(mask, index, exclude)
        if not mask.any():
            return Feasibility(mask, ALL_CANDIDATES_EXCLUDED)
    return Feasibility(mask, None)


_LANGUAGE_CACHE = 256  # language sets remembered per index


def _open_mentors(
    index: MentorIndex, eligibility: Eligibility | None
) -> tuple[BoolArray, bool, BoolArray, bool]:
    """(active eligible mentors, any?, ... of those with a free seat, any?). The first part is
    cached per index; seats are not, callers may replace `index.free_capacity`."""
    key = ("open", None if eligibility is None or eligibility.is_open else eligibility)
    cached = index.cache.get(key)
    if cached is None:
        open_ = index.active & index.is_mentor & index.eligible(eligibility)
        open_.setflags(write=False)
        cached = (open_, bool(open_.any()))
        index.cache[key] = cached
    open_, has_open = cached
    free = open_ & (index.free_capacity > 0)
    return open_, has_open, free, bool(free.any())


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


def group_exclusions(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """`{(mentee_id, mentor_id)}` -> `{mentee_id: {mentor_id, ...}}`."""
    grouped: dict[str, set[str]] = defaultdict(set)
    for mentee_id, mentor_id in pairs:
        grouped[mentee_id].add(mentor_id)
    return dict(grouped)


def feasible_matrix(
    index: MentorIndex,
    mentees: Sequence[Person],
    *,
    excluded_pairs: Iterable[tuple[str, str]] = (),
    eligibility: Eligibility | None = None,
) -> tuple[BoolArray, dict[int, str]]:
    """Feasibility of every (mentee, mentor) pair as an `[n_mentees, n_mentors]` mask, and the
    reason code per mentee position that has no feasible mentor."""
    exclusions = group_exclusions(excluded_pairs)
    matrix = np.zeros((len(mentees), index.size), dtype=np.bool_)
    reasons: dict[int, str] = {}
    for row, mentee in enumerate(mentees):
        result = feasible_mentors(
            index,
            mentee,
            exclude=exclusions.get(mentee.employee_id, ()),
            eligibility=eligibility,
        )
        matrix[row] = result.mask
        if result.reason is not None:
            reasons[row] = result.reason
    return matrix, reasons

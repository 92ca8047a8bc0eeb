"""The score components, each in [0, 1], written once as elementwise numpy functions.

They broadcast, so the same function scores one (mentee, mentor) pair, a mentee against every
distinct mentor context, or the pairs a breakdown explains. Unknown values are NaN (levels,
offsets) or a negative code (departments) and score `UNKNOWN`.

- goal_fit: mean over the mentee's goals of min(mentor level / goal level, 1); 0 for a goal
  no mentor skill covers; `UNKNOWN` for a mentee without goals. (Sparse: see `batch`.)
- seniority: 1 when the mentor is 1-3 levels above, then -0.25 per extra level; 0 at or below
  the mentee.
- timezone: overlap of 09:00-17:00 local working hours / 8.
- department: by the MENTEE's preference: "same" -> 1 on the same department, 0 otherwise;
  "other" -> the reverse; "any" -> 1 (also when a department is unknown).
- interests: Jaccard similarity of interest sets (0 when both are empty).
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike

from .index import FloatArray

__all__ = [
    "ANY",
    "COMPONENTS",
    "OTHER",
    "SAME",
    "UNKNOWN",
    "WORKDAY_HOURS",
    "department",
    "jaccard",
    "seniority",
    "timezone",
    "working_hours_overlap",
]

COMPONENTS: Final = ("goal_fit", "seniority", "timezone", "department", "interests")
WORKDAY_HOURS: Final = 8.0
UNKNOWN: Final = 0.5
# Department preference codes.
ANY, SAME, OTHER = 0, 1, 2


def working_hours_overlap(offset_a: ArrayLike, offset_b: ArrayLike) -> FloatArray:
    """Shared hours of two 09:00-17:00 local days whose zones are at these UTC offsets."""
    gap = np.abs(np.asarray(offset_a, dtype=np.float64) - np.asarray(offset_b, dtype=np.float64)) % 24.0
    gap = np.minimum(gap, 24.0 - gap)  # circular: +14 and -10 are the same wall clock
    return np.clip(WORKDAY_HOURS - gap, 0.0, WORKDAY_HOURS)


def seniority(mentor_level: ArrayLike, mentee_level: ArrayLike) -> FloatArray:
    gap = np.asarray(mentor_level, dtype=np.float64) - np.asarray(mentee_level, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        value = np.where(gap <= 0, 0.0, np.clip(1.0 - 0.25 * (gap - 3.0), 0.0, 1.0))
    return np.where(np.isnan(gap), UNKNOWN, value)


def timezone(mentor_offset: ArrayLike, mentee_offset: ArrayLike) -> FloatArray:
    with np.errstate(invalid="ignore"):
        overlap = working_hours_overlap(mentor_offset, mentee_offset) / WORKDAY_HOURS
    return np.where(np.isnan(overlap), UNKNOWN, overlap)


def department(mentor_code: ArrayLike, mentee_code: ArrayLike, preference: ArrayLike) -> FloatArray:
    """Codes: a department's code in the index; -1 unknown; -2 (mentee only) a department no
    mentor is in. Preference: `ANY`, `SAME` or `OTHER`."""
    mentor, mentee = np.asarray(mentor_code), np.asarray(mentee_code)
    same = mentor == mentee
    value = np.where(np.asarray(preference) == SAME, same, ~same).astype(np.float64)
    value = np.where((mentor < 0) | (mentee == -1), UNKNOWN, value)
    return np.where(np.asarray(preference) == ANY, 1.0, value)


def jaccard(shared: FloatArray, union: FloatArray) -> FloatArray:
    return np.divide(shared, union, out=np.zeros(np.broadcast(shared, union).shape), where=union > 0)

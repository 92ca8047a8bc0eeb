"""Scores for one mentee or a whole round, all through the one core (`batch.MenteeBatch`).

The score is in [0, 1]: the normalised weighted sum of the components (module `components`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from .batch import BLOCK, MenteeBatch
from .candidates import Candidates, Pruning, top_k_of_block
from .index import BoolArray, FloatArray, IntArray, MentorIndex
from .model import Eligibility, Person, Weights

__all__ = [
    "Assessment",
    "assess",
    "candidates_of",
    "components",
    "round_candidates",
    "score_matrix",
    "score_mentee",
]

_ONE = np.zeros(1, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Assessment:
    """One mentee against every mentor: scores, feasibility (with the reason when no mentor is
    feasible) and the batch, to explain chosen pairs."""

    scores: FloatArray
    feasible: BoolArray
    reason: str | None
    batch: MenteeBatch

    def breakdown(self, positions: IntArray) -> dict[str, FloatArray]:
        return self.batch.breakdown(np.zeros(positions.size, dtype=np.int64), positions)


def assess(
    index: MentorIndex,
    mentee: Person,
    weights: Weights = Weights(),
    *,
    exclude: Collection[str] = (),
    eligibility: Eligibility | None = None,
) -> Assessment:
    """Score and constrain one mentee against every mentor (a batch of one)."""
    pairs = [(mentee.employee_id, mentor_id) for mentor_id in exclude]
    batch = MenteeBatch(index, [mentee], weights, excluded_pairs=pairs, eligibility=eligibility)
    feasible = batch.feasible(_ONE)[0]
    return Assessment(batch.scores(_ONE)[0], feasible, batch.reasons.get(0), batch)


def components(index: MentorIndex, mentee: Person) -> dict[str, FloatArray]:
    """Every component for one mentee against all mentors, keyed as in `COMPONENTS`."""
    return assess(index, mentee).breakdown(np.arange(index.size, dtype=np.int64))


def score_mentee(
    index: MentorIndex,
    mentee: Person,
    weights: Weights = Weights(),
    *,
    exclude: Collection[str] = (),
    eligibility: Eligibility | None = None,
) -> tuple[FloatArray, BoolArray, dict[str, FloatArray]]:
    """`(scores[n_mentors], feasible_mask, components)` for one mentee; scores are computed for
    every mentor, feasible or not."""
    found = assess(index, mentee, weights, exclude=exclude, eligibility=eligibility)
    return found.scores, found.feasible, found.breakdown(np.arange(index.size, dtype=np.int64))


def score_matrix(
    index: MentorIndex,
    mentees: Sequence[Person],
    weights: Weights = Weights(),
    *,
    excluded_pairs: Collection[tuple[str, str]] = (),
    eligibility: Eligibility | None = None,
) -> tuple[FloatArray, BoolArray, dict[int, str]]:
    """`(scores[n_mentees, n_mentors], feasible[n_mentees, n_mentors], reasons)`: the dense form
    (small rounds, tests); `round_candidates` never holds the dense matrix."""
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
    """`candidates_of` a batch of these mentees."""
    batch = MenteeBatch(index, mentees, weights, excluded_pairs=excluded_pairs, eligibility=eligibility)
    return candidates_of(batch, top_k=top_k)


def candidates_of(batch: MenteeBatch, *, top_k: int = 40) -> Candidates:
    """The best `top_k` feasible mentors of every mentee, scored block by block without the
    dense matrix, with the constraint `reasons` of mentees that have no feasible mentor (also
    left in `batch.reasons`).

    The result carries its `pruning` (best left-out score per mentee and a rescoring hook),
    so `assign(candidates, None, capacities)` certifies optimality over *every* feasible pair
    and adds pruned pairs back when needed. Scores are bit-identical to `score_matrix`.
    """
    m, n = batch.size, batch.index.size
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
        pruning=Pruning(bound, batch.constraints.mentors_for_anyone().copy(), rescore),
    )

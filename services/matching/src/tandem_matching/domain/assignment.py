"""Program rounds: a global mentee -> mentor assignment under mentor capacities.

`assign` solves a min-cost flow (OR-Tools) over the top-K candidates per mentee. Given the full
dense matrix it then *certifies* the result: node potentials from the residual graph prove that
no pruned pair could improve the total; pairs that violate the certificate are added and the
flow is re-solved, so the answer is optimal over all feasible pairs, not only the top K.
Scores are scaled to integers (x 1e6), so optimality is exact up to that rounding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from ortools.graph.python import min_cost_flow
from scipy.optimize import linear_sum_assignment

from .batch import BLOCK
from .candidates import (
    Candidates,
    Pruning,
    dense_arcs_violating,
    dual_prices,
    residual_potentials,
)
from .index import BoolArray, FloatArray, IntArray

__all__ = [
    "CAPACITY_EXHAUSTED",
    "NO_FEASIBLE_MENTOR",
    "NO_POSITIVE_SCORE",
    "SCALE",
    "Assignment",
    "Candidates",
    "Objective",
    "assign",
    "assign_exact_dense",
    "assign_greedy",
    "load_histogram",
    "loads_histogram",
    "mentor_loads",
]

Objective = Literal["score", "participation"]
SCALE = 1_000_000
_NO_INT = np.zeros(0, dtype=np.int64)
NEAR_MARGIN = SCALE // 100  # pairs within 0.01 of violating join the violators
# Not one feasible candidate pair (the constraints' reason says why; this is the solver's view).
NO_FEASIBLE_MENTOR = "no_feasible_mentor"
CAPACITY_EXHAUSTED = "capacity_exhausted"  # had candidates; their seats went to others
NO_POSITIVE_SCORE = "no_positive_score"  # objective "score": every candidate scores 0


@dataclass(frozen=True, slots=True)
class Assignment:
    pairs: list[tuple[int, int, float]]  # (mentee_pos, mentor_pos, score)
    unmatched: dict[int, str]  # mentee_pos -> reason
    optimal: bool | None = None  # True: certified optimal over every feasible pair

    @property
    def matched(self) -> int:
        return len(self.pairs)

    @property
    def total_score(self) -> float:
        return float(sum(s for _, _, s in self.pairs))

    @property
    def mean_score(self) -> float:
        return self.total_score / len(self.pairs) if self.pairs else 0.0

    @property
    def min_score(self) -> float:
        return min((s for _, _, s in self.pairs), default=0.0)


def _int_costs(scores: FloatArray, objective: Objective, n_mentees: int) -> IntArray:
    """Negative integer costs; "participation" adds a bonus larger than any total score."""
    gain = np.rint(scores * SCALE).astype(np.int64)
    if objective == "participation":
        gain += SCALE * (n_mentees + 1)
    return -gain


def _unmatched(
    n_mentees: int, matched: set[int], feasible_rows: ArrayLike, profitable_rows: ArrayLike
) -> dict[int, str]:
    has_feasible = np.asarray(feasible_rows, dtype=np.bool_)
    has_profitable = np.asarray(profitable_rows, dtype=np.bool_)
    reasons: dict[int, str] = {}
    for i in range(n_mentees):
        if i in matched:
            continue
        if not has_feasible[i]:
            reasons[i] = NO_FEASIBLE_MENTOR
        elif not has_profitable[i]:
            reasons[i] = NO_POSITIVE_SCORE
        else:
            reasons[i] = CAPACITY_EXHAUSTED
    return reasons


@dataclass(frozen=True, slots=True)
class _Flow:
    chosen: BoolArray  # per candidate arc
    tails: IntArray
    heads: IntArray
    caps: IntArray
    costs: IntArray
    flows: IntArray
    n_nodes: int

    def residual_duals(self, m: int, n: int) -> tuple[IntArray, IntArray]:
        """(u, v) from residual-graph potentials: slower fallback for `dual_prices`."""
        d = residual_potentials(self.tails, self.heads, self.caps, self.costs, self.flows, self.n_nodes)
        return d[:m], -d[m : m + n]


def _solve_flow(cands: Candidates, gains: IntArray, capacities: IntArray) -> _Flow:
    """Min-cost flow over candidate arcs (cost = -gain) with a zero-cost bypass per mentee."""
    m, n = cands.n_mentees, cands.n_mentors
    sink = m + n
    seats = np.flatnonzero(capacities > 0)
    everyone = np.arange(m, dtype=np.int64)
    tails = np.concatenate([cands.mentee, m + seats, everyone])
    heads = np.concatenate([m + cands.mentor, np.full(seats.size + m, sink, dtype=np.int64)])
    caps = np.concatenate(
        [np.ones(cands.size, dtype=np.int64), capacities[seats], np.ones(m, dtype=np.int64)]
    )
    arc_costs = np.concatenate([-gains, np.zeros(seats.size + m, dtype=np.int64)])

    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, arc_costs)
    supplies = np.zeros(m + n + 1, dtype=np.int64)
    supplies[:m] = 1
    supplies[sink] = -m
    flow.set_nodes_supplies(np.arange(m + n + 1, dtype=np.int64), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min cost flow failed with status {status}")
    flows = np.asarray(flow.flows(arcs), dtype=np.int64)
    return _Flow(flows[: cands.size] > 0, tails, heads, caps, arc_costs, flows, m + n + 1)


def _pruned_violations(
    pruning: Pruning,
    cands: Candidates,
    surplus: IntArray,
    price: IntArray,
    gain_of: Callable[[FloatArray], IntArray],
    margin: int = 0,
) -> Candidates:
    """Feasible pairs left out of `cands` with gain > u_i + v_j (they could improve the flow);
    empty exactly when there is none. When there is one, pairs with gain > u_i + v_j - margin
    come along.

    A mentee whose best left-out score (`pruning.bound`) cannot beat u_i + min v is skipped
    without rescoring; the others are rescored exactly, block by block."""
    m, n = cands.n_mentees, cands.n_mentors
    if not pruning.mentors.any():
        return Candidates(m, n, _NO_INT, _NO_INT, np.zeros(0))
    cheapest = int(price[pruning.mentors].min())
    finite = np.isfinite(pruning.bound)
    best_left = np.full(m, np.iinfo(np.int64).min, dtype=np.int64)
    best_left[finite] = gain_of(pruning.bound[finite])
    suspects = np.flatnonzero(finite & (best_left > surplus + cheapest))
    present = np.sort(cands.mentee * n + cands.mentor)
    rows_out: list[IntArray] = []
    cols_out: list[IntArray] = []
    vals_out: list[FloatArray] = []
    strict = 0
    for start in range(0, suspects.size, BLOCK):
        rows = suspects[start : start + BLOCK]
        scores, feasible = pruning.rescore(rows)
        slack = gain_of(scores) - (surplus[rows, None] + price[None, :])
        strict += int(np.count_nonzero(feasible & (slack > 0)))
        # Pairs close to violating too: prices move once the violators are in, and adding
        # these now usually saves another solve.
        r, c = np.nonzero(feasible & (slack > -margin))
        mentee = rows[r]
        keys = mentee * n + c
        if present.size:
            at = np.minimum(np.searchsorted(present, keys), present.size - 1)
            new = present[at] != keys
        else:
            new = np.ones(keys.size, dtype=np.bool_)
        rows_out.append(mentee[new])
        cols_out.append(c[new].astype(np.int64))
        vals_out.append(scores[r[new], c[new]].astype(np.float64))
    if not strict:
        return Candidates(m, n, _NO_INT, _NO_INT, np.zeros(0))
    return Candidates(m, n, np.concatenate(rows_out), np.concatenate(cols_out), np.concatenate(vals_out))


def assign(
    scores: FloatArray | Candidates,
    feasible: BoolArray | None,
    capacities: IntArray,
    *,
    objective: Objective = "score",
    top_k: int = 40,
    max_rounds: int = 20,
) -> Assignment:
    """Maximise the total score under `capacities` (objective "score"), or the number of
    matched mentees first and the total score second (objective "participation").

    `scores` is a dense `[n_mentees, n_mentors]` matrix with its `feasible` mask, or a sparse
    `Candidates` list (then `feasible` is ignored). A dense matrix, or candidates from
    `round_candidates` (which carry their `pruning`), get the optimality certificate over
    every feasible pair; other candidate lists are solved as given (`optimal` is `None`).
    """
    capacities = np.asarray(capacities, dtype=np.int64)
    dense: tuple[FloatArray, BoolArray] | None = None
    if isinstance(scores, Candidates):
        full = scores
    else:
        dense = (scores, _required(feasible))
        full = Candidates.from_dense(scores, dense[1], top_k)
    cands = full.where(np.rint(full.score * SCALE) > 0) if objective == "score" else full
    costs = _Costs(objective, full.n_mentees)
    chosen, cands, optimal = _certified_flow(cands, capacities, costs, dense, full.pruning, max_rounds)
    picked = np.flatnonzero(chosen)
    pairs = list(
        zip(
            cands.mentee[picked].tolist(),
            cands.mentor[picked].tolist(),
            cands.score[picked].tolist(),
            strict=True,
        )
    )
    m = full.n_mentees
    if dense is not None:
        has_feasible = dense[1].any(axis=1)
        has_profitable = (dense[1] & (np.rint(dense[0] * SCALE) > 0)).any(axis=1)
    else:
        has_feasible = np.bincount(full.mentee, minlength=m) > 0
        has_profitable = np.bincount(cands.mentee, minlength=m) > 0
    if objective == "participation":
        has_profitable = has_feasible
    reasons = _unmatched(m, {i for i, _, _ in pairs}, has_feasible, has_profitable)
    return Assignment(pairs, reasons, optimal)


@dataclass(frozen=True, slots=True)
class _Costs:
    objective: Objective
    n_mentees: int

    def cost(self, values: FloatArray) -> IntArray:
        return _int_costs(values, self.objective, self.n_mentees)

    def gain(self, values: FloatArray) -> IntArray:
        return -_int_costs(values, self.objective, self.n_mentees)


def _certified_flow(
    cands: Candidates,
    capacities: IntArray,
    costs: _Costs,
    dense: tuple[FloatArray, BoolArray] | None,
    pruning: Pruning | None,
    max_rounds: int,
) -> tuple[BoolArray, Candidates, bool | None]:
    """Solve over `cands`; with a dense matrix or a pruning, add the left-out pairs that could
    improve the flow and solve again until none can (`optimal`), at most `max_rounds` times."""
    m, n = cands.n_mentees, cands.n_mentors
    optimal: bool | None = None
    for _ in range(max_rounds):
        gains = costs.gain(cands.score)
        solved = _solve_flow(cands, gains, capacities)
        if dense is None and pruning is None:
            return solved.chosen, cands, None
        duals = dual_prices(cands, gains, solved.chosen, capacities)
        surplus, price = duals if duals is not None else solved.residual_duals(m, n)
        if dense is not None:
            potentials = np.concatenate([surplus, -price, np.zeros(1, dtype=np.int64)])
            extra = dense_arcs_violating(dense[0], dense[1], cands, potentials, costs.cost)
        else:
            assert pruning is not None
            extra = _pruned_violations(pruning, cands, surplus, price, costs.gain, margin=NEAR_MARGIN)
        optimal = extra.size == 0
        if optimal:
            break
        cands = cands.union(extra)
    return solved.chosen, cands, optimal


def assign_exact_dense(
    scores: FloatArray,
    feasible: BoolArray,
    capacities: IntArray,
    *,
    objective: Objective = "score",
) -> Assignment:
    """Reference optimum: `linear_sum_assignment` on the capacity-expanded matrix (small only)."""
    m = scores.shape[0]
    slots = np.repeat(np.arange(scores.shape[1]), np.asarray(capacities, dtype=np.int64))
    gain = np.where(feasible, scores, 0.0)
    if objective == "participation":
        gain = np.where(feasible, gain + (m + 1), 0.0)
    rows, cols = linear_sum_assignment(gain[:, slots], maximize=True)
    pairs = []
    for i, c in zip(rows.tolist(), cols.tolist(), strict=True):
        j = int(slots[c])
        if feasible[i, j] and (objective == "participation" or scores[i, j] * SCALE >= 0.5):
            pairs.append((i, j, float(scores[i, j])))
    has_feasible = feasible.any(axis=1)
    has_profitable = has_feasible
    if objective == "score":
        has_profitable = (feasible & (np.rint(scores * SCALE) > 0)).any(axis=1)
    matched = {i for i, _, _ in pairs}
    return Assignment(pairs, _unmatched(m, matched, has_feasible, has_profitable), optimal=True)


def assign_greedy(
    scores: FloatArray | Candidates, feasible: BoolArray | None, capacities: IntArray
) -> Assignment:
    """Baseline: take the best remaining feasible pair while its mentor has a free seat."""
    cands = (
        scores if isinstance(scores, Candidates) else Candidates.from_dense(scores, _required(feasible), None)
    )
    left = np.asarray(capacities, dtype=np.int64).copy()
    seats = int(left.clip(min=0).sum())
    order = np.argsort(-cands.score, kind="stable")
    matched: set[int] = set()
    pairs: list[tuple[int, int, float]] = []
    for a in order.tolist():
        if len(pairs) == seats or len(matched) == cands.n_mentees:
            break
        i, j = int(cands.mentee[a]), int(cands.mentor[a])
        if i not in matched and left[j] > 0:
            left[j] -= 1
            matched.add(i)
            pairs.append((i, j, float(cands.score[a])))
    has_feasible = np.bincount(cands.mentee, minlength=cands.n_mentees) > 0
    return Assignment(pairs, _unmatched(cands.n_mentees, matched, has_feasible, has_feasible))


def _required(feasible: BoolArray | None) -> BoolArray:
    if feasible is None:
        raise ValueError("a dense score matrix needs its feasible mask")
    return feasible


def mentor_loads(assignment: Assignment, n_mentors: int) -> IntArray:
    """Mentees assigned per mentor position."""
    mentors = np.array([j for _, j, _ in assignment.pairs], dtype=np.int64)
    return np.bincount(mentors, minlength=n_mentors).astype(np.int64)


def load_histogram(assignment: Assignment, n_mentors: int) -> dict[int, int]:
    """`{load: number of mentors with that many assigned mentees}`, including load 0."""
    return loads_histogram((j for _, j, _ in assignment.pairs), n_mentors)


def loads_histogram(mentors: Iterable[Hashable], n_mentors: int) -> dict[int, int]:
    """`{load: mentors with that load}` of `n_mentors`, given the mentor of every pair."""
    per_mentor = Counter(mentors)
    counts = Counter(per_mentor.values())
    counts[0] = n_mentors - len(per_mentor)
    return {load: count for load, count in sorted(counts.items()) if count}

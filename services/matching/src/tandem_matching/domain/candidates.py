"""Sparse candidate pairs for rounds, and the optimality certificate for pruned flows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .index import BoolArray, FloatArray, IntArray

__all__ = [
    "Candidates",
    "Pruning",
    "dense_arcs_violating",
    "dual_prices",
    "residual_potentials",
    "top_k_of_block",
]

_CHUNK = 2048
_NO_INT = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Pruning:
    """How a candidate list was cut from all feasible pairs, enough to certify a flow over it.

    `bound[i]`: no feasible pair of mentee `i` left out of the list scores higher (`-inf`: none
    was left out). `mentors`: every mentor feasible for anyone (a superset is fine).
    `rescore(rows)`: the exact `(scores, feasible)` rows `[len(rows), n_mentors]` for mentees.
    """

    bound: FloatArray
    mentors: BoolArray
    rescore: Callable[[IntArray], tuple[FloatArray, BoolArray]]


@dataclass(frozen=True, slots=True)
class Candidates:
    """Feasible (mentee_pos, mentor_pos, score) triples, one per array position.

    `reasons`: constraint reason code per mentee with no feasible mentor at all (as from
    `score_matrix`), when known. `pruning`: set by `round_candidates`, lets `assign` certify
    its result over every feasible pair without a dense matrix.
    """

    n_mentees: int
    n_mentors: int
    mentee: IntArray
    mentor: IntArray
    score: FloatArray
    reasons: Mapping[int, str] = field(default_factory=dict, compare=False)
    pruning: Pruning | None = field(default=None, compare=False, repr=False)

    @property
    def size(self) -> int:
        return int(self.mentee.size)

    @classmethod
    def from_dense(cls, scores: FloatArray, feasible: BoolArray, top_k: int | None) -> Candidates:
        """The best `top_k` feasible mentors per mentee (all feasible pairs when `None`)."""
        m, n = scores.shape
        rows: list[IntArray] = []
        cols: list[IntArray] = []
        vals: list[FloatArray] = []
        for start in range(0, m, _CHUNK):
            block = slice(start, min(m, start + _CHUNK))
            r, c, v, _ = top_k_of_block(scores[block].copy(), feasible[block], top_k)
            rows.append(r + start)
            cols.append(c)
            vals.append(v)
        mentee = np.concatenate(rows) if rows else _NO_INT
        mentor = np.concatenate(cols) if cols else _NO_INT
        score = np.concatenate(vals) if vals else np.zeros(0)
        return cls(m, n, mentee, mentor, score.astype(np.float64))

    def where(self, keep: BoolArray) -> Candidates:
        return Candidates(
            self.n_mentees, self.n_mentors, self.mentee[keep], self.mentor[keep], self.score[keep]
        )

    def union(self, other: Candidates) -> Candidates:
        return Candidates(
            self.n_mentees,
            self.n_mentors,
            np.concatenate([self.mentee, other.mentee]),
            np.concatenate([self.mentor, other.mentor]),
            np.concatenate([self.score, other.score]),
        )


def top_k_of_block(
    scores: FloatArray, feasible: BoolArray, top_k: int | None
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """`(row, col, score, bound)`: the best `top_k` feasible pairs of each row (all feasible
    pairs when `None`), and per row the best score among the feasible pairs left out
    (`-inf` when none was). `scores` may be overwritten."""
    b, n = scores.shape
    if top_k is None or top_k >= n:
        r, c = np.nonzero(feasible)
        return (
            r.astype(np.int64),
            c.astype(np.int64),
            scores[r, c].astype(np.float64),
            np.full(b, -np.inf),
        )
    key = scores
    np.copyto(key, -np.inf, where=~feasible)
    if top_k <= 0:
        return _NO_INT, _NO_INT, np.zeros(0), key.max(axis=1)
    cut = n - top_k - 1
    part = np.argpartition(key, cut, axis=1)
    bound = np.take_along_axis(key, part[:, cut : cut + 1], axis=1)[:, 0].astype(np.float64)
    best = part[:, cut + 1 :]
    values = np.take_along_axis(key, best, axis=1)
    keep = (values > -np.inf).ravel()
    r = np.repeat(np.arange(b, dtype=np.int64), top_k)[keep]
    c = best.ravel().astype(np.int64)[keep]
    return r, c, values.ravel()[keep].astype(np.float64), bound


BIG_PRICE = 1 << 60  # the price of a mentor without seats: no pair with them can ever pay


def dual_prices(
    cands: Candidates,
    gains: IntArray,
    chosen: BoolArray,
    capacities: IntArray,
) -> tuple[IntArray, IntArray] | None:
    """An optimal dual `(u per mentee, v per mentor)` of the b-matching LP over `cands`
    (maximise the gains of chosen pairs, one mentor per mentee, `capacities` per mentor),
    given an optimal `chosen` set; `None` if `chosen` is not optimal over `cands`.

    The prices are the *lowest* ones: v starts at what unmatched mentees would pay and rises
    along "mentee i at a could move to b" edges (longest paths, vectorised Bellman-Ford
    with a frontier). Everything the certificate relies on is then checked exactly in
    integers: u, v >= 0, u_i + v_j >= gain on every arc, equality on chosen arcs, u_i = 0
    for unmatched mentees and v_j = 0 for mentors with a free seat (complementary slackness).
    With those, any pair (i, j) outside `cands` with gain <= u_i + v_j cannot improve the flow.
    """
    m, n = cands.n_mentees, cands.n_mentors
    mentee, mentor = cands.mentee, cands.mentor
    if np.bincount(mentee[chosen], minlength=m).max(initial=0) > 1:
        return None
    assigned = np.full(m, -1, dtype=np.int64)
    assigned[mentee[chosen]] = mentor[chosen]
    own = np.zeros(m, dtype=np.int64)
    own[mentee[chosen]] = gains[chosen]
    load = np.bincount(mentor[chosen], minlength=n)

    price = _lowest_prices(cands, gains, assigned, own)
    if price is None:
        return None

    caps = np.asarray(capacities, dtype=np.int64)
    price[caps <= 0] = BIG_PRICE
    surplus = np.where(assigned >= 0, own - price[np.maximum(assigned, 0)], 0)
    if (surplus < 0).any() or (price[(load < caps) & (caps > 0)] != 0).any():
        return None
    if (load > np.maximum(caps, 0)).any():
        return None
    if (gains > surplus[mentee] + price[mentor]).any():
        return None
    return surplus, price


def _lowest_prices(cands: Candidates, gains: IntArray, assigned: IntArray, own: IntArray) -> IntArray | None:
    """Mentor prices from what unmatched mentees would pay, raised along "mentee at a could
    move to b" edges (longest paths); None on a positive cycle (the choice is not optimal)."""
    n, mentee, mentor = cands.n_mentors, cands.mentee, cands.mentor
    price = np.zeros(n, dtype=np.int64)
    at = assigned[mentee]
    free = at < 0
    np.maximum.at(price, mentor[free], gains[free])
    edge = (at >= 0) & (mentor != at)
    src, dst = at[edge], mentor[edge]
    weight = gains[edge] - own[mentee[edge]]
    order = np.argsort(src, kind="stable")
    src, dst, weight = src[order], dst[order], weight[order]
    active = np.ones(n, dtype=np.bool_)
    floor = np.iinfo(np.int64).min // 4
    for _ in range(n + 2):
        sel = active[src]
        if not sel.any():
            return price
        best = np.full(n, floor, dtype=np.int64)
        np.maximum.at(best, dst[sel], price[src[sel]] + weight[sel])
        active = best > price
        if not active.any():
            return price
        price = np.maximum(price, best)
    return None  # still rising after n rounds: a positive cycle


def residual_potentials(
    tails: IntArray,
    heads: IntArray,
    caps: IntArray,
    costs: IntArray,
    flows: IntArray,
    n_nodes: int,
) -> IntArray:
    """Shortest-path distances in the residual graph from a virtual root joined to every node
    (vectorised Bellman-Ford). At an optimal flow there is no negative cycle, and every residual
    arc u->v then has reduced cost `cost + d[u] - d[v] >= 0`."""
    forward = flows < caps
    backward = flows > 0
    src = np.concatenate([tails[forward], heads[backward]])
    dst = np.concatenate([heads[forward], tails[backward]])
    cost = np.concatenate([costs[forward], -costs[backward]])
    order = np.argsort(dst, kind="stable")
    src, dst, cost = src[order], dst[order], cost[order]
    targets, starts = np.unique(dst, return_index=True)
    dist = np.zeros(n_nodes, dtype=np.int64)
    if src.size == 0:
        return dist
    for _ in range(n_nodes + 1):
        best = np.minimum.reduceat(dist[src] + cost, starts)
        improved = best < dist[targets]
        if not improved.any():
            return dist
        dist[targets[improved]] = best[improved]
    raise RuntimeError("negative cycle in the residual graph: the flow is not optimal")


def dense_arcs_violating(
    scores: FloatArray,
    feasible: BoolArray,
    cands: Candidates,
    potentials: IntArray,
    cost_of: Callable[[FloatArray], IntArray],
) -> Candidates:
    """Feasible pairs outside `cands` whose arc would have negative reduced cost, i.e. the
    pairs that could still improve the flow. Empty means the flow is optimal over all pairs."""
    m, n = scores.shape
    present = np.zeros((m, n), dtype=np.bool_)
    present[cands.mentee, cands.mentor] = True
    mentee_pot = potentials[:m]
    mentor_pot = potentials[m : m + n]
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    for start in range(0, m, _CHUNK):
        block = slice(start, min(m, start + _CHUNK))
        cost = cost_of(scores[block])
        reduced = cost + mentee_pot[block, None] - mentor_pot[None, :]
        bad = feasible[block] & ~present[block] & (cost < 0) & (reduced < 0)
        r, c = np.nonzero(bad)
        rows.append(r.astype(np.int64) + start)
        cols.append(c.astype(np.int64))
    mentee = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    mentor = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    return Candidates(m, n, mentee, mentor, scores[mentee, mentor].astype(np.float64))

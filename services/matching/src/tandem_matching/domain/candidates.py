"""Sparse candidate pairs for rounds, and the optimality certificate for pruned flows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .index import BoolArray, FloatArray, IntArray

__all__ = ["Candidates", "dense_arcs_violating", "residual_potentials"]

_CHUNK = 2048


@dataclass(frozen=True, slots=True)
class Candidates:
    """Feasible (mentee_pos, mentor_pos, score) triples, one per array position."""

    n_mentees: int
    n_mentors: int
    mentee: IntArray
    mentor: IntArray
    score: FloatArray

    @property
    def size(self) -> int:
        return int(self.mentee.size)

    @classmethod
    def from_dense(cls, scores: FloatArray, feasible: BoolArray, top_k: int | None) -> Candidates:
        """The best `top_k` feasible mentors per mentee (all feasible pairs when `None`)."""
        m, n = scores.shape
        rows: list[IntArray] = []
        cols: list[IntArray] = []
        for start in range(0, m, _CHUNK):
            block = slice(start, min(m, start + _CHUNK))
            ok = feasible[block]
            if top_k is None or top_k >= n:
                r, c = np.nonzero(ok)
            else:
                key = np.where(ok, scores[block], -np.inf)
                best = np.argpartition(-key, top_k - 1, axis=1)[:, :top_k]
                r = np.repeat(np.arange(best.shape[0]), top_k)
                c = best.ravel()
                keep = ok[r, c]
                r, c = r[keep], c[keep]
            rows.append(r.astype(np.int64) + start)
            cols.append(c.astype(np.int64))
        mentee = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        mentor = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        return cls(m, n, mentee, mentor, scores[mentee, mentor].astype(np.float64))

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

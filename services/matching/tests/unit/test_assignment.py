from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tandem_matching.domain.assignment import (
    CAPACITY_EXHAUSTED,
    NO_FEASIBLE_MENTOR,
    NO_POSITIVE_SCORE,
    Candidates,
    assign,
    assign_exact_dense,
    assign_greedy,
    load_histogram,
    mentor_loads,
)

pytestmark = pytest.mark.unit

TOL = 1e-5


@st.composite
def instances(draw, max_mentees=7, max_mentors=4):
    m = draw(st.integers(1, max_mentees))
    n = draw(st.integers(1, max_mentors))
    cells = st.integers(0, 100).map(lambda v: v / 100)
    scores = np.array(draw(st.lists(cells, min_size=m * n, max_size=m * n))).reshape(m, n)
    feasible = np.array(draw(st.lists(st.booleans(), min_size=m * n, max_size=m * n))).reshape(m, n)
    caps = np.array(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    return scores, feasible, caps


def brute_force(scores, feasible, caps):
    """Exhaustive DP over mentees and remaining capacities: (best total, max matched)."""
    m, n = scores.shape

    @functools.cache
    def best(i, left, by_count):
        if i == m:
            return (0, 0.0)
        options = [best(i + 1, left, by_count)]
        for j in range(n):
            if feasible[i, j] and left[j] > 0:
                rest = best(i + 1, (*left[:j], left[j] - 1, *left[j + 1 :]), by_count)
                options.append((rest[0] + 1, rest[1] + scores[i, j]))
        key = (lambda o: (o[0], o[1])) if by_count else (lambda o: o[1])
        return max(options, key=key)

    return best(0, tuple(caps.tolist()), False), best(0, tuple(caps.tolist()), True)


def check_valid(result, scores, feasible, caps):
    mentees = [i for i, _, _ in result.pairs]
    assert len(mentees) == len(set(mentees))
    assert all(feasible[i, j] for i, j, _ in result.pairs)
    assert all(s == scores[i, j] for i, j, s in result.pairs)
    assert (mentor_loads(result, len(caps)) <= caps).all()
    assert set(mentees).isdisjoint(result.unmatched)
    assert len(mentees) + len(result.unmatched) == scores.shape[0]


@settings(max_examples=200, deadline=None)
@given(instances())
def test_min_cost_flow_reaches_the_brute_force_optimum_within_capacities(instance):
    scores, feasible, caps = instance
    (_, optimum), _ = brute_force(scores, feasible, caps)
    result = assign(scores, feasible, caps, objective="score")
    check_valid(result, scores, feasible, caps)
    assert result.total_score == pytest.approx(optimum, abs=TOL)
    assert result.optimal is True


@settings(max_examples=200, deadline=None)
@given(instances())
def test_participation_matches_the_maximum_number_then_the_best_score(instance):
    scores, feasible, caps = instance
    _, (count, total) = brute_force(scores, feasible, caps)
    result = assign(scores, feasible, caps, objective="participation")
    check_valid(result, scores, feasible, caps)
    assert result.matched == count
    assert result.total_score == pytest.approx(total, abs=TOL)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_greedy_never_beats_the_optimum(instance):
    scores, feasible, caps = instance
    (_, optimum), _ = brute_force(scores, feasible, caps)
    greedy = assign_greedy(scores, feasible, caps)
    check_valid(greedy, scores, feasible, caps)
    assert greedy.total_score <= optimum + TOL


@settings(max_examples=100, deadline=None)
@given(instances())
def test_the_exact_dense_reference_agrees_with_brute_force(instance):
    scores, feasible, caps = instance
    (_, optimum), (count, _) = brute_force(scores, feasible, caps)
    assert assign_exact_dense(scores, feasible, caps).total_score == pytest.approx(optimum, abs=TOL)
    assert assign_exact_dense(scores, feasible, caps, objective="participation").matched == count


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_top_k_pruning_stays_optimal_thanks_to_the_certificate(seed):
    rng = np.random.default_rng(seed)
    # Everyone prefers the same few mentors, so top-2 lists alone would be far from optimal.
    scores = np.clip(rng.random((60, 12)) * 0.3 + np.linspace(0.7, 0.0, 12), 0, 1)
    feasible = rng.random((60, 12)) < 0.8
    caps = rng.integers(1, 6, 12)
    for objective in ("score", "participation"):
        pruned = assign(scores, feasible, caps, objective=objective, top_k=2)
        exact = assign_exact_dense(scores, feasible, caps, objective=objective)
        assert pruned.optimal is True
        assert pruned.matched == exact.matched
        assert pruned.total_score == pytest.approx(exact.total_score, abs=1e-4)


def test_unmatched_mentees_carry_the_reason():
    scores = np.array([[0.9, 0.0], [0.8, 0.0], [0.5, 0.0], [0.0, 0.0]])
    feasible = np.array([[True, False], [True, False], [False, False], [False, True]])
    result = assign(scores, feasible, np.array([1, 1]))
    assert result.pairs == [(0, 0, 0.9)]
    assert result.unmatched == {
        1: CAPACITY_EXHAUSTED,
        2: NO_FEASIBLE_MENTOR,
        3: NO_POSITIVE_SCORE,
    }
    participation = assign(scores, feasible, np.array([1, 1]), objective="participation")
    assert (3, 1, 0.0) in participation.pairs


def test_a_sparse_candidate_list_is_accepted_and_histogram_counts_mentor_loads():
    cands = Candidates(
        n_mentees=3,
        n_mentors=2,
        mentee=np.array([0, 1, 2, 2]),
        mentor=np.array([0, 0, 0, 1]),
        score=np.array([0.5, 0.6, 0.9, 0.2]),
    )
    result = assign(cands, None, np.array([2, 1]))
    assert sorted(result.pairs) == [(1, 0, 0.6), (2, 0, 0.9)]  # 1.5 beats 0.5 + 0.6 + 0.2
    assert result.unmatched == {0: CAPACITY_EXHAUSTED}
    assert load_histogram(result, 2) == {0: 1, 2: 1}
    assert result.optimal is None

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tandem_matching.domain.assignment import assign, assign_exact_dense
from tandem_matching.domain.index import MentorIndex
from tandem_matching.domain.model import Eligibility, Skill, Weights
from tandem_matching.domain.scoring import round_candidates, score_matrix

pytestmark = pytest.mark.unit

SKILLS = ["go", "sql", "kafka", "rust"]
ZONES = [None, "Europe/Berlin", "America/New_York", "Asia/Kolkata"]


def population(mentor, mentee, seed, n_mentors=12, n_mentees=40):
    rng = np.random.default_rng(seed)

    def skills(k):
        names = rng.choice(SKILLS, size=k, replace=False)
        return tuple(Skill(str(s), int(rng.integers(1, 6))) for s in names)

    def common():
        return {
            "level": None if rng.random() < 0.1 else int(rng.integers(1, 9)),
            "timezone": ZONES[int(rng.integers(len(ZONES)))],
            "department": str(rng.choice(["eng", "ops", "hr"])),
            "interests": tuple(str(i) for i in rng.choice(["a", "b", "c", "d"], 2)),
            "languages": ("en",) if rng.random() < 0.8 else ("de",),
        }

    mentors = [
        mentor(
            f"m{j}",
            skills=skills(int(rng.integers(0, 4))),
            manager_id=f"e{j}",
            mentor_capacity=int(rng.integers(0, 4)),
            active=rng.random() > 0.05,
            **common(),
        )
        for j in range(n_mentors)
    ]
    mentees = [
        mentee(
            f"e{i}",
            goals=skills(int(rng.integers(0, 3))),
            manager_id=f"m{i % n_mentors}",
            department_preference=str(rng.choice(["same", "other", "any"])),
            **common(),
        )
        for i in range(n_mentees)
    ]
    excluded = {(f"e{i}", f"m{int(rng.integers(n_mentors))}") for i in range(0, n_mentees, 3)}
    return mentors, mentees, excluded


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    top_k=st.integers(1, 4),
    objective=st.sampled_from(["score", "participation"]),
    eligibility=st.sampled_from([None, Eligibility(min_level=2)]),
)
def test_round_candidates_match_the_dense_matrix_and_certify_the_exact_optimum(
    mentor, mentee, seed, top_k, objective, eligibility
):
    mentors, mentees, excluded = population(mentor, mentee, seed)
    index = MentorIndex(mentors)
    scores, feasible, reasons = score_matrix(
        index, mentees, Weights(), excluded_pairs=excluded, eligibility=eligibility
    )
    cands = round_candidates(
        index, mentees, Weights(), top_k=top_k, excluded_pairs=excluded, eligibility=eligibility
    )
    assert dict(cands.reasons) == reasons
    assert feasible[cands.mentee, cands.mentor].all()
    assert (cands.score == scores[cands.mentee, cands.mentor]).all()  # bit-identical
    assert (np.bincount(cands.mentee, minlength=len(mentees)) <= top_k).all()

    caps = index.free_capacity
    result = assign(cands, None, caps, objective=objective)
    exact = assign_exact_dense(scores, feasible, caps, objective=objective)
    assert result.optimal is True
    assert result.total_score == pytest.approx(exact.total_score, abs=1e-5)
    if objective == "participation":
        assert result.matched == exact.matched
    assert all(feasible[i, j] and s == scores[i, j] for i, j, s in result.pairs)


def test_score_matrix_agrees_with_score_mentee_on_a_mixed_population(mentor, mentee):
    from tandem_matching.domain.scoring import score_mentee

    mentors, mentees, excluded = population(mentor, mentee, 7)
    index = MentorIndex(mentors)
    scores, feasible, reasons = score_matrix(index, mentees, excluded_pairs=excluded)
    from tandem_matching.domain.constraints import feasible_matrix

    mask, why = feasible_matrix(index, mentees, excluded_pairs=excluded)
    assert (mask == feasible).all()
    assert why == reasons
    for row, person in enumerate(mentees):
        assert scores[row] == pytest.approx(score_mentee(index, person)[0], abs=1e-12)


def test_suggest_returns_the_best_feasible_scores_of_the_mentee(mentor, mentee):
    from tandem_matching.domain.scoring import score_mentee
    from tandem_matching.domain.suggestions import suggest

    mentors, mentees, _ = population(mentor, mentee, 11, n_mentors=30, n_mentees=25)
    index = MentorIndex(mentors)
    for person in mentees:
        scores, feasible, _ = score_mentee(index, person)
        got = suggest(index, person, limit=4)
        assert all(feasible[s.position] for s in got)
        assert [s.score for s in got] == pytest.approx(sorted(scores[feasible], reverse=True)[:4], abs=1e-12)

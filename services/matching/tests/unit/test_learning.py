"""Learning weights from outcomes, on synthetic data with fixed seeds."""

import numpy as np
import pytest
from tandem_matching.domain.assignment import assign
from tandem_matching.domain.components import COMPONENTS
from tandem_matching.domain.learning import KEEP, learn, outcome_value
from tandem_matching.domain.model import Weights

pytestmark = pytest.mark.unit
TRUE = {"goal_fit": 0.40, "seniority": 0.05, "timezone": 0.25, "department": 0.0, "interests": 0.30}
TOLERANCE = 0.1
CURRENT = Weights().as_dict()


def synthetic(n: int, seed: int, weights: dict[str, float] | None, noise: float = 0.05):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(n, len(COMPONENTS)))
    if weights is None:
        return x, rng.uniform(0.0, 1.0, size=n)
    true = np.array([weights[name] for name in COMPONENTS])
    return x, x @ true + rng.normal(0.0, noise, size=n)


def test_outcome_value_is_the_mean_of_goals_recommendation_and_satisfaction():
    assert outcome_value("yes", 10, 5) == 1.0
    assert outcome_value("no", 0, 1) == 0.0
    assert outcome_value("partly", 8) == pytest.approx((0.5 + 0.8) / 2)
    assert outcome_value("partly", 5, 3) == pytest.approx(0.5)


def test_known_weights_are_recovered_in_order_and_within_tolerance():
    x, y = synthetic(300, seed=7, weights=TRUE)
    learned = learn(COMPONENTS, x, y, CURRENT)

    proposed = learned.proposed_weights
    assert sum(proposed.values()) == pytest.approx(1.0)
    assert all(w >= 0 for w in proposed.values())
    for name in COMPONENTS:
        assert abs(proposed[name] - TRUE[name]) <= TOLERANCE, (name, proposed[name])
    by_true = sorted(COMPONENTS, key=lambda n: -TRUE[n])
    assert sorted(COMPONENTS, key=lambda n: -proposed[n]) == by_true
    significant = {c.name for c in learned.components if c.significant}
    assert {"goal_fit", "timezone", "interests", "seniority"} <= significant
    assert "department" not in significant, "a component without effect has an interval over zero"
    assert learned.held_out_proposed > learned.held_out_current
    assert learned.verdict == "the proposal ranks held-out pairs better"


def test_the_bootstrap_is_reproducible():
    x, y = synthetic(40, seed=3, weights=TRUE, noise=0.2)
    assert learn(COMPONENTS, x, y, CURRENT) == learn(COMPONENTS, x, y, CURRENT)


def test_pure_noise_gives_intervals_over_zero_and_says_keep():
    x, y = synthetic(60, seed=11, weights=None)
    learned = learn(COMPONENTS, x, y, CURRENT)

    for component in learned.components:
        low, high = component.ci90
        assert low < 0 < high, component
        assert not component.significant
    assert learned.verdict == KEEP
    assert sum(learned.proposed_weights.values()) == pytest.approx(1.0), "still shown"


def test_on_noise_about_one_interval_in_ten_excludes_zero():
    """The intervals are calibrated: over many noise sets, ~10% exclude zero (90% CI)."""
    flagged = [
        c.significant
        for seed in range(40)
        for c in learn(COMPONENTS, *synthetic(60, seed=100 + seed, weights=None), CURRENT).components
    ]
    assert np.mean(flagged) <= 0.2


def test_all_zero_fitted_weights_fall_back_to_the_current_ones():
    x, _ = synthetic(40, seed=5, weights=None)
    y = 5.0 - x.sum(axis=1)  # only ever worse with more of any component
    learned = learn(COMPONENTS, x, y, CURRENT)
    assert learned.proposed_weights == pytest.approx(CURRENT)


def test_a_round_with_learned_weights_yields_a_better_synthetic_outcome_than_the_defaults():
    """History: 300 past pairs, outcomes from `TRUE` plus noise. A new round of 60 mentees and
    30 mentors (2 seats each), solved by the real assignment with each weight vector; the
    round's synthetic outcome is the mean true (noise-free) outcome of its pairs."""
    x, y = synthetic(300, seed=21, weights=TRUE, noise=0.1)
    learned = learn(COMPONENTS, x, y, CURRENT).proposed_weights
    rng = np.random.default_rng(22)
    parts = rng.uniform(0.0, 1.0, size=(60, 30, len(COMPONENTS)))
    true = np.array([TRUE[name] for name in COMPONENTS])

    def round_outcome(weights: dict[str, float]) -> float:
        scores = parts @ np.array([weights[name] for name in COMPONENTS])
        done = assign(scores, np.ones(scores.shape, dtype=bool), np.full(30, 2))
        assert len(done.pairs) == 60
        return float(np.mean([parts[i, j] @ true for i, j, _ in done.pairs]))

    with_learned, with_defaults = round_outcome(learned), round_outcome(CURRENT)
    assert with_learned > with_defaults + 0.01, (with_learned, with_defaults)

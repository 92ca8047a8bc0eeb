"""Learning component weights from recorded outcomes: pure math, no I/O.

Each observation is one mentorship: the unweighted components it was proposed with (its
breakdown) and one outcome number in [0, 1] (`outcome_value`). From at least `MIN_OUTCOMES`
observations, `learn` answers:

- effect per component: the least-squares coefficient of the outcome on the standardised
  components (outcome change per standard deviation of the component, the others held fixed),
  with a 90% percentile bootstrap interval (`RESAMPLES` resamples, fixed seed, vectorised);
  a component is *significant* when its interval excludes zero;
- proposed weights: non-negative least squares (`scipy.optimize.nnls`) of the centred outcome
  on the centred raw components, normalised to sum 1 (the current weights when all are zero),
  so they apply to the components exactly as scoring uses them;
- held out: Spearman's rank correlation with the outcome of the current weighted score and of
  the proposed one, the latter from 5-fold cross-validation (each pair scored by weights fitted
  without its fold).

Nothing is applied: the verdict says whether the evidence supports the proposal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import nnls

__all__ = [
    "FOLDS",
    "GOALS_SCORE",
    "KEEP",
    "MIN_OUTCOMES",
    "RESAMPLES",
    "ComponentEffect",
    "Learned",
    "RecordedOutcome",
    "learn",
    "outcome_value",
]

FloatArray = NDArray[np.float64]
MIN_OUTCOMES: Final = 30
RESAMPLES: Final = 500
FOLDS: Final = 5
SEED: Final = 14
CONFIDENCE: Final = 0.90
GOALS_SCORE: Final = {"yes": 1.0, "partly": 0.5, "no": 0.0}
KEEP: Final = "no component's interval excludes zero: keep the current weights"
BETTER: Final = "the proposal ranks held-out pairs better"
NOT_BETTER: Final = "the proposal does not rank held-out pairs better: keep the current weights"


def outcome_value(
    goals_achieved: Literal["yes", "partly", "no"],
    would_recommend: int,
    final_satisfaction: int | None = None,
) -> float:
    """One mentorship's outcome in [0, 1]: the mean of goals achieved (yes 1, partly 0.5,
    no 0), the mentee's would-recommend (0-10, / 10) and, when given, their satisfaction
    (1-5, as (s - 1) / 4)."""
    parts = [GOALS_SCORE[goals_achieved], would_recommend / 10.0]
    if final_satisfaction is not None:
        parts.append((final_satisfaction - 1) / 4.0)
    return float(np.mean(parts))


@dataclass(frozen=True, slots=True)
class RecordedOutcome:
    """One mentorship's outcome beside the breakdown it was proposed with."""

    mentorship_id: str
    program_id: str | None
    breakdown: dict[str, float]
    value: float
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class ComponentEffect:
    name: str
    effect: float
    ci90: tuple[float, float]

    @property
    def significant(self) -> bool:
        """Whether the 90% interval excludes zero."""
        low, high = self.ci90
        return low > 0.0 or high < 0.0


@dataclass(frozen=True, slots=True)
class Learned:
    outcomes_used: int
    components: list[ComponentEffect]
    current_weights: dict[str, float]
    proposed_weights: dict[str, float]
    held_out_current: float
    held_out_proposed: float

    @property
    def gain(self) -> float:
        return self.held_out_proposed - self.held_out_current

    @property
    def supported(self) -> bool:
        """Some component's interval excludes zero (else the proposal is shown but flagged)."""
        return any(c.significant for c in self.components)

    @property
    def verdict(self) -> str:
        if not self.supported:
            return KEEP
        return BETTER if self.gain > 0 else NOT_BETTER


def _standardised(x: FloatArray) -> FloatArray:
    """Columns as z-scores; a constant column becomes zeros (it explains nothing)."""
    spread = x.std(axis=0)
    scaled: FloatArray = np.divide(x - x.mean(axis=0), spread, out=np.zeros_like(x), where=spread > 1e-12)
    return scaled


def _coefficients(x: FloatArray, y: FloatArray) -> FloatArray:
    """Least-squares slopes with an intercept, for one design `(n, k)` or a stack `(b, n, k)`."""
    design = np.concatenate([np.ones((*x.shape[:-1], 1)), x], axis=-1)
    solved = np.linalg.pinv(design) @ y[..., None]
    return np.asarray(solved[..., 1:, 0], dtype=np.float64)


def _nnls_weights(x: FloatArray, y: FloatArray) -> FloatArray | None:
    """Non-negative slopes of centred `y` on centred `x`, summing to 1; None when all zero."""
    slopes, _ = nnls(x - x.mean(axis=0), y - y.mean())
    total = float(slopes.sum())
    return slopes / total if total > 1e-12 else None


def _spearman(a: FloatArray, b: FloatArray) -> float:
    # imported here: scipy.stats takes seconds to import, a cost every start would pay for a
    # function only the learning job calls
    from scipy.stats import spearmanr

    rho = spearmanr(a, b).statistic
    return 0.0 if not np.isfinite(rho) else float(rho)


def learn(
    names: Sequence[str],
    components: FloatArray,
    outcomes: FloatArray,
    current: Mapping[str, float],
    *,
    seed: int = SEED,
    resamples: int = RESAMPLES,
) -> Learned:
    """Fit the outcome on the components (`components`: one row per mentorship, one column
    per name, in `names` order). `current` holds the weights in use (normalised here)."""
    x, y = np.asarray(components, dtype=np.float64), np.asarray(outcomes, dtype=np.float64)
    n, k = x.shape
    if n < 2 or y.shape != (n,) or k != len(names):
        raise ValueError("need one outcome per row of components, one column per name")
    total = sum(current[name] for name in names)
    now = np.array([current[name] / total for name in names], dtype=np.float64)
    rng = np.random.default_rng(seed)

    z = _standardised(x)
    effect = _coefficients(z, y)
    picks = rng.integers(0, n, size=(resamples, n))
    boot = _coefficients(z[picks], y[picks])  # (resamples, k)
    tail = (1.0 - CONFIDENCE) / 2.0 * 100.0
    low, high = np.percentile(boot, [tail, 100.0 - tail], axis=0)

    fitted = _nnls_weights(x, y)
    proposed = now if fitted is None else fitted

    folds = np.array_split(rng.permutation(n), min(FOLDS, n))
    out_of_fold = np.empty(n)
    for fold in folds:
        train = np.setdiff1d(np.arange(n), fold)
        weights = _nnls_weights(x[train], y[train])
        out_of_fold[fold] = x[fold] @ (now if weights is None else weights)

    return Learned(
        outcomes_used=n,
        components=[
            ComponentEffect(name, float(effect[i]), (float(low[i]), float(high[i])))
            for i, name in enumerate(names)
        ],
        current_weights={name: float(now[i]) for i, name in enumerate(names)},
        proposed_weights={name: float(proposed[i]) for i, name in enumerate(names)},
        held_out_current=_spearman(x @ now, y),
        held_out_proposed=_spearman(out_of_fold, y),
    )

"""Unit: analytics.validation against hand-computed values."""

import numpy as np
import pytest

from analytics.validation import bootstrap_auc, compute_auc, compute_calibration, compute_lift


def test_auc_by_hand() -> None:
    # Pairs (event, non-event): (0.8,0.1) (0.8,0.4) (0.8,0.35) (0.35,0.1) (0.35,0.4) (0.35,0.35)
    # wins 1 1 1 1 0 0.5 -> 4.5 / 6.
    y = np.array([1, 0, 0, 1, 0])
    s = np.array([0.8, 0.1, 0.4, 0.35, 0.35])
    assert compute_auc(y, s) == pytest.approx(4.5 / 6)


def test_auc_perfect_and_reversed() -> None:
    y = np.array([0, 0, 1, 1])
    assert compute_auc(y, np.array([1, 2, 3, 4])) == 1.0
    assert compute_auc(y, np.array([4, 3, 2, 1])) == 0.0


def test_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both events and non-events"):
        compute_auc(np.array([1, 1]), np.array([0.2, 0.3]))


def test_bootstrap_interval_contains_estimate() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=500)
    y = (rng.random(500) < 1 / (1 + np.exp(-2 * x))).astype(int)
    est = bootstrap_auc(y, x, reps=200)
    assert est.ci_low < est.auc < est.ci_high
    assert 0.7 < est.auc < 0.9


def test_lift_and_calibration_deciles() -> None:
    y = np.array([1] * 10 + [0] * 90)
    score = np.r_[np.full(10, 0.9), np.linspace(0, 0.5, 90)]
    lift = compute_lift(y, score)
    assert lift.loc[0, "decile"] == 1
    assert lift.loc[0, "rate"] == 1.0
    assert lift.loc[0, "lift"] == pytest.approx(10.0)
    cal = compute_calibration(y, score)
    assert cal["n"].sum() == 100
    assert cal.loc[9, "observed"] == 1.0

"""Unit: analytics.satisfaction.compute_nps against hand-computed reference values."""

import numpy as np
import pytest

from analytics.satisfaction import compute_nps


def test_reference_values() -> None:
    # p_P = .5, p_D = .2: NPS 30; var = (.5 + .2 - .3**2) / 100 = .0061; z = 1.959964.
    est = compute_nps(50, 30, 20)
    assert est.nps == pytest.approx(30.0)
    assert est.ci_low == pytest.approx(30 - 1.959964 * 100 * np.sqrt(0.0061), abs=1e-4)
    assert est.ci_high == pytest.approx(30 + 1.959964 * 100 * np.sqrt(0.0061), abs=1e-4)
    assert est.n == 100


def test_below_minimum_n_reports_no_value() -> None:
    est = compute_nps(10, 5, 4, min_n=30)
    assert not est.sufficient
    assert est.nps is None
    assert est.n == 19


def test_interval_is_clipped_to_scale() -> None:
    est = compute_nps(40, 0, 0)
    assert est.nps == 100.0
    assert est.ci_high == 100.0


@pytest.mark.parametrize("bad", [(-1, 0, 0), (0, -2, 5)])
def test_negative_counts_are_refused(bad: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        compute_nps(*bad)


def test_alpha_outside_unit_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="alpha"):
        compute_nps(10, 10, 10, alpha=1.5)


def test_nominal_95_percent_interval_covers_true_nps() -> None:
    """Coverage by simulation: at least 93% of intervals contain the true NPS."""
    rng = np.random.default_rng(0)
    p = np.array([0.45, 0.30, 0.25])
    true_nps = 100 * (p[0] - p[2])
    draws = rng.multinomial(200, p, size=2000)
    covered = 0
    for promoters, passives, detractors in draws:
        est = compute_nps(int(promoters), int(passives), int(detractors))
        covered += est.ci_low <= true_nps <= est.ci_high
    assert covered / len(draws) >= 0.93

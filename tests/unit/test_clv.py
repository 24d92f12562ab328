"""Unit: analytics.clv against published reference values and by simulation."""

import numpy as np
import pandas as pd
import pytest

from analytics.clv import (
    BgNbdParams,
    GammaGammaParams,
    bgnbd_expected_transactions,
    bgnbd_log_likelihood,
    bgnbd_p_alive,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_expected_value,
    population_mean_value,
    summarise_transactions,
)
from analytics.profile import compute_clv

# Fader, Hardie & Lee (2005), Marketing Science 24(2): CDNOW parameters, and the worked
# example of a customer with x = 2, t_x = 30.43, T = 38.86 weeks, who is expected to
# make 1.226 transactions in the next 39 weeks. Tolerance: the published 3 decimals.
CDNOW = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
# Fader, Hardie & Lee (2005), JMR 42(4): CDNOW spend parameters p, q, gamma; the implied
# mean of average transaction value is p*gamma/(q-1) = $35.22.
CDNOW_SPEND = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def test_bgnbd_published_conditional_expectation() -> None:
    value = bgnbd_expected_transactions(CDNOW, 39, 2, 30.43, 38.86)
    assert float(value) == pytest.approx(1.226, abs=5e-4)


def test_bgnbd_customer_without_repeats_is_alive() -> None:
    assert float(bgnbd_p_alive(CDNOW, 0, 0, 38.86)) == 1.0
    assert float(bgnbd_p_alive(CDNOW, 2, 30.43, 38.86)) < 1.0


def test_gamma_gamma_published_population_mean() -> None:
    assert population_mean_value(CDNOW_SPEND) == pytest.approx(35.22, abs=0.005)


def test_gamma_gamma_shrinks_towards_population_mean() -> None:
    few = float(gamma_gamma_expected_value(CDNOW_SPEND, 1, 100.0))
    many = float(gamma_gamma_expected_value(CDNOW_SPEND, 50, 100.0))
    assert population_mean_value(CDNOW_SPEND) < few < many < 100.0


def _simulate(params: BgNbdParams, n: int, T: float, seed: int) -> pd.DataFrame:  # noqa: N803
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    rows = []
    for i in range(n):
        t, x, last = 0.0, 0, 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x, last = x + 1, t
            if rng.random() < p[i]:
                break
        rows.append((x, last, T))
    return pd.DataFrame(rows, columns=["x", "t_x", "T"])


def test_bgnbd_fit_recovers_simulated_parameters() -> None:
    truth = BgNbdParams(r=0.8, alpha=6.0, a=0.9, b=3.0)
    data = _simulate(truth, 4000, 52.0, seed=3)
    fit = fit_bgnbd(data)
    # The fitted log-likelihood is at least that of the truth (it is the maximum)...
    ll_fit = bgnbd_log_likelihood(fit, data["x"], data["t_x"], data["T"]).sum()
    ll_true = bgnbd_log_likelihood(truth, data["x"], data["t_x"], data["T"]).sum()
    assert ll_fit >= ll_true - 1e-6
    # ...and the purchase rate r/alpha is recovered within 15%.
    assert fit.r / fit.alpha == pytest.approx(truth.r / truth.alpha, rel=0.15)


def test_gamma_gamma_fit_recovers_simulated_mean() -> None:
    rng = np.random.default_rng(5)
    truth = GammaGammaParams(p=4.0, q=5.0, gamma=20.0)
    nu = rng.gamma(truth.q, 1 / truth.gamma, 3000)
    x = rng.integers(1, 12, 3000)
    m = np.array([rng.gamma(truth.p, 1 / v, k).mean() for v, k in zip(nu, x, strict=True)])
    fit = fit_gamma_gamma(pd.DataFrame({"x": x, "m": m}))
    assert population_mean_value(fit) == pytest.approx(population_mean_value(truth), rel=0.1)


def test_transaction_summary() -> None:
    tx = pd.DataFrame(
        {
            "account_id": [1, 1, 1, 2],
            "occurred_on": ["2026-01-01", "2026-01-15", "2026-01-29", "2026-01-10"],
            "amount": [10.0, 20.0, 40.0, 5.0],
        }
    )
    s = summarise_transactions(tx, pd.Timestamp("2026-02-26"))
    assert s.loc[1, "x"] == 2
    assert s.loc[1, "t_x"] == pytest.approx(4.0)
    assert s.loc[1, "T"] == pytest.approx(8.0)
    assert s.loc[1, "m"] == pytest.approx(30.0)
    assert s.loc[2, "x"] == 0


def test_contractual_clv_matches_closed_form() -> None:
    # Infinite-horizon limit m / (1 - r/(1+d)) is approached from below by 60 years.
    est = compute_clv(100.0, 1000, 100, discount_rate=0.1, horizon_years=60)
    assert est.value == pytest.approx(100 / (1 - 0.9 / 1.1), rel=1e-4)

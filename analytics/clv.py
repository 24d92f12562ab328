"""Purchase-style CLV: BG/NBD for the number of transactions, Gamma-Gamma for their value.

References
----------
Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers" the easy
way: An alternative to the Pareto/NBD model. Marketing Science, 24(2), 275-284.
Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using iso-value curves
for customer base analysis. Journal of Marketing Research, 42(4), 415-430.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1


@dataclass(frozen=True)
class BgNbdParams:
    """BG/NBD parameters: r, alpha (purchase rate), a, b (dropout)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma parameters of the average transaction value: p, q, gamma."""

    p: float
    q: float
    gamma: float


def summarise_transactions(
    tx: pd.DataFrame, end: pd.Timestamp, unit_days: float = 7.0
) -> pd.DataFrame:
    """Frequency, recency, age and mean repeat spend per account (weeks by default).

    Parameters
    ----------
    tx : DataFrame
        ``account_id, occurred_on, amount``, one row per transaction.
    end : Timestamp
        End of the calibration period.
    unit_days : float, default 7
        Length of the time unit in days.

    Returns
    -------
    DataFrame indexed by account_id
        ``x`` repeat transactions, ``t_x`` time of the last one, ``T`` time since the
        first, ``m`` mean value of the repeat transactions (NaN without repeats).
    """
    t = tx.assign(day=pd.to_datetime(tx["occurred_on"]).dt.normalize())
    t = t[t["day"] <= end].groupby(["account_id", "day"], as_index=False)["amount"].sum()
    first = t.groupby("account_id")["day"].transform("min")
    t["since"] = (t["day"] - first).dt.days / unit_days
    repeat = t[t["since"] > 0]
    g = t.groupby("account_id")
    out = pd.DataFrame(
        {
            "x": repeat.groupby("account_id").size().reindex(g.size().index, fill_value=0),
            "t_x": g["since"].max(),
            "T": (end - g["day"].min()).dt.days / unit_days,
            "m": repeat.groupby("account_id")["amount"].mean(),
        }
    )
    return out


def bgnbd_log_likelihood(params: BgNbdParams, x, t_x, T) -> np.ndarray:
    """Per-customer log-likelihood of the BG/NBD model (Fader, Hardie & Lee 2005, eq. 6)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    first = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    second = np.where(
        x > 0,
        betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return common + np.logaddexp(first, second)


def fit_bgnbd(summary: pd.DataFrame) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters for a ``summarise_transactions`` frame."""
    x, t_x, T = summary["x"], summary["t_x"], summary["T"]

    def nll(theta: np.ndarray) -> float:
        p = BgNbdParams(*np.exp(theta))
        return -float(bgnbd_log_likelihood(p, x, t_x, T).sum())

    res = minimize(
        nll,
        np.log([0.5, 5.0, 1.0, 2.0]),
        method="Nelder-Mead",
        options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-6},
    )
    return BgNbdParams(*np.exp(res.x))


def bgnbd_expected_transactions(
    params: BgNbdParams,
    t: float,
    x,
    t_x,
    T,
) -> np.ndarray:
    """Expected transactions in (T, T + t] given a customer's history (eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    z = t / (alpha + T + t)
    num = (
        (a + b + x - 1)
        / (a - 1)
        * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
    )
    den = 1 + (x > 0) * (a / (b + np.maximum(x, 1) - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return num / den


def bgnbd_p_alive(params: BgNbdParams, x, t_x, T) -> np.ndarray:
    """Probability that a customer with this history is still active."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    odds = (x > 0) * (a / (b + np.maximum(x, 1) - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return 1 / (1 + odds)


def gamma_gamma_log_likelihood(params: GammaGammaParams, x, m) -> np.ndarray:
    """Per-customer log-likelihood of the average value ``m`` of ``x`` transactions."""
    p, q, g = params.p, params.q, params.gamma
    x, m = np.asarray(x, float), np.asarray(m, float)
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(g)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(g + m * x)
    )


def fit_gamma_gamma(summary: pd.DataFrame) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from customers with repeat purchases."""
    s = summary[(summary["x"] > 0) & (summary["m"] > 0)]

    def nll(theta: np.ndarray) -> float:
        return -float(
            gamma_gamma_log_likelihood(GammaGammaParams(*np.exp(theta)), s["x"], s["m"]).sum()
        )

    res = minimize(
        nll,
        np.log([2.0, 3.0, float(s["m"].mean())]),
        method="Nelder-Mead",
        options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-7},
    )
    return GammaGammaParams(*np.exp(res.x))


def gamma_gamma_expected_value(params: GammaGammaParams, x, m) -> np.ndarray:
    """Expected average transaction value given ``x`` transactions averaging ``m``.

    Notes
    -----
    E(M | x, m) = (γ + m x) p / (p x + q - 1): a weighted average of the population
    mean pγ/(q - 1) and the customer's own mean, the weight on the latter growing
    with ``x``.
    """
    p, q, g = params.p, params.q, params.gamma
    x, m = np.asarray(x, float), np.nan_to_num(np.asarray(m, float))
    return (g + m * x) * p / (p * x + q - 1)


def population_mean_value(params: GammaGammaParams) -> float:
    """Mean of the average-transaction-value distribution, pγ / (q - 1)."""
    return params.p * params.gamma / (params.q - 1)

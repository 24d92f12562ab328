"""How well a score predicted what happened later: AUC, calibration and lift, with intervals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from statsmodels.stats.proportion import proportion_confint


def compute_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (higher score = more likely event), ties counted half.

    Raises
    ------
    ValueError
        If ``y`` has no events or no non-events.
    """
    y = np.asarray(y).astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError("AUC needs both events and non-events")
    ranks = rankdata(np.asarray(score, dtype=float))
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@dataclass(frozen=True)
class AucEstimate:
    """AUC with a percentile bootstrap interval."""

    auc: float
    ci_low: float
    ci_high: float
    n: int
    events: int


def bootstrap_auc(
    y: np.ndarray, score: np.ndarray, reps: int = 400, alpha: float = 0.05, seed: int = 0
) -> AucEstimate:
    """AUC and its percentile bootstrap interval (resampling accounts)."""
    y = np.asarray(y).astype(int)
    score = np.asarray(score, dtype=float)
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(reps):
        idx = rng.integers(0, len(y), len(y))
        if 0 < y[idx].sum() < len(idx):
            stats.append(compute_auc(y[idx], score[idx]))
    lo, hi = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return AucEstimate(compute_auc(y, score), float(lo), float(hi), len(y), int(y.sum()))


def _deciles(score: np.ndarray, bins: int) -> np.ndarray:
    order = rankdata(score, method="ordinal")
    return np.ceil(order / len(score) * bins).astype(int)


def compute_calibration(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability against the observed rate per decile of prediction.

    Returns ``bin, n, predicted, observed, ci_low, ci_high`` (Wilson 95% interval).
    """
    df = pd.DataFrame({"y": np.asarray(y).astype(int), "p": np.asarray(prob, dtype=float)})
    df["bin"] = _deciles(df["p"].to_numpy(), bins)
    g = df.groupby("bin").agg(n=("y", "size"), events=("y", "sum"), predicted=("p", "mean"))
    lo, hi = proportion_confint(g["events"], g["n"], method="wilson")
    g["observed"] = g["events"] / g["n"]
    g["ci_low"], g["ci_high"] = lo, hi
    return g.reset_index()[["bin", "n", "predicted", "observed", "ci_low", "ci_high"]]


def compute_lift(y: np.ndarray, score: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Event rate and lift per decile of score, decile 1 = highest score.

    Returns ``decile, n, rate, ci_low, ci_high, lift`` where lift is the decile's
    rate over the overall rate.
    """
    y = np.asarray(y).astype(int)
    df = pd.DataFrame({"y": y, "decile": bins + 1 - _deciles(np.asarray(score, float), bins)})
    g = df.groupby("decile").agg(n=("y", "size"), events=("y", "sum"))
    lo, hi = proportion_confint(g["events"], g["n"], method="wilson")
    g["rate"] = g["events"] / g["n"]
    g["ci_low"], g["ci_high"] = lo, hi
    base = y.mean() if len(y) else np.nan
    g["lift"] = g["rate"] / base
    return g.reset_index()[["decile", "n", "rate", "ci_low", "ci_high", "lift"]]

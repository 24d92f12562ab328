"""Net Promoter Score with an honest interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm


@dataclass(frozen=True)
class NpsEstimate:
    """NPS on the -100..100 scale with its interval and sample size."""

    nps: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    promoters: int
    passives: int
    detractors: int
    sufficient: bool


def compute_nps(
    promoters: int, passives: int, detractors: int, alpha: float = 0.05, min_n: int = 30
) -> NpsEstimate:
    """Estimate NPS from counts with a normal-approximation interval.

    Parameters
    ----------
    promoters, passives, detractors : int
        Counts of responses scoring 9-10, 7-8 and 0-6.
    alpha : float, default 0.05
        One minus the confidence level of the interval.
    min_n : int, default 30
        Below this many responses the estimate is flagged as insufficient and no
        value is reported.

    Returns
    -------
    NpsEstimate

    Raises
    ------
    ValueError
        If a count is negative or ``alpha`` is not in (0, 1).

    Notes
    -----
    NPS = 100 (p_P - p_D). Its sampling variance under multinomial sampling is
    (p_P + p_D - (p_P - p_D)^2) / n, so the interval is
    NPS ± z_{1-alpha/2} · 100 · sqrt(variance), clipped to [-100, 100].
    """
    if min(promoters, passives, detractors) < 0:
        raise ValueError("counts must be non-negative")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    n = promoters + passives + detractors
    if n < max(min_n, 1):
        return NpsEstimate(None, None, None, n, promoters, passives, detractors, False)
    p_p, p_d = promoters / n, detractors / n
    value = p_p - p_d
    se = np.sqrt(max(p_p + p_d - value**2, 0.0) / n)
    z = norm.ppf(1 - alpha / 2)
    return NpsEstimate(
        nps=100 * value,
        ci_low=max(-100.0, 100 * (value - z * se)),
        ci_high=min(100.0, 100 * (value + z * se)),
        n=n,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        sufficient=True,
    )

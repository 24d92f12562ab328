"""Logistic regression with account-clustered errors, guarded against separation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm


def estimable_columns(x: pd.DataFrame, y: pd.Series) -> list[str]:
    """Columns of ``x`` worth fitting: varying, and no 0/1 column that separates ``y``.

    A 0/1 column whose "1" group has no event at all (or only events) separates the
    data perfectly; its odds ratio is not estimable (it would run off to 0 or ∞), so it
    is left out rather than reported as 0.
    """
    keep = []
    for col in x.columns:
        values = x[col]
        if col == "const":
            keep.append(col)
            continue
        if values.std() == 0:
            continue
        if values.isin([0.0, 1.0]).all():
            events = y[values == 1.0]
            if events.sum() == 0 or events.sum() == len(events):
                continue
        keep.append(col)
    return keep


def fit_clustered_logit(y: pd.Series, x: pd.DataFrame, groups: np.ndarray):
    """``sm.Logit(y, x)`` on the estimable columns, errors clustered by ``groups``."""
    x = x[estimable_columns(x, y)]
    return sm.Logit(y, x).fit(disp=0, maxiter=200, cov_type="cluster", cov_kwds={"groups": groups})

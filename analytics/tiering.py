"""Tiering: a value score from revenue, growth, product depth and potential, and tiers
from admin-set thresholds on it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FACTORS = ("revenue", "growth", "depth", "potential")


@dataclass(frozen=True)
class TierSpec:
    """One tier: a code, its names and the lowest value score (0–100) it takes."""

    code: str
    name_en: str
    name_zh: str
    min_score: float


@dataclass(frozen=True)
class TieringSettings:
    """Tiers from lowest to highest, and the weights of the value score's factors."""

    tiers: tuple[TierSpec, ...] = (
        TierSpec("basic", "Basic", "基础客群", 0.0),
        TierSpec("value", "Value", "价值客群", 60.0),
        TierSpec("strategic", "Strategic", "战略客群", 90.0),
    )
    weights: dict[str, float] = field(
        default_factory=lambda: {"revenue": 0.5, "growth": 0.1, "depth": 0.15, "potential": 0.25}
    )

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with these settings, as ``(field, message code)`` pairs."""
        out: list[tuple[str, str]] = []
        if not 2 <= len(self.tiers) <= 6:
            out.append(("tiers", "tier_count"))
        codes = [t.code for t in self.tiers]
        if len(set(codes)) != len(codes) or any(not c.strip() for c in codes):
            out.append(("tiers", "tier_codes"))
        if any(not (t.name_en.strip() and t.name_zh.strip()) for t in self.tiers):
            out.append(("tiers", "tier_names"))
        mins = [t.min_score for t in self.tiers]
        if mins and (
            mins[0] != 0 or any(b <= a for a, b in itertools.pairwise(mins)) or max(mins) >= 100
        ):
            out.append(("tiers", "tier_thresholds"))
        if (
            set(self.weights) != set(FACTORS)
            or any(w < 0 for w in self.weights.values())
            or sum(self.weights.values()) <= 0
        ):
            out.append(("weights", "tier_weights"))
        return out

    def to_json(self) -> dict:
        """A JSON-ready dict (stored as one settings version)."""
        return {"tiers": [vars(t) for t in self.tiers], "weights": dict(self.weights)}

    @classmethod
    def from_json(cls, value: dict) -> TieringSettings:
        """The inverse of :meth:`to_json`."""
        return cls(
            tiers=tuple(TierSpec(**t) for t in value["tiers"]), weights=dict(value["weights"])
        )


def compute_value_scores(frame: pd.DataFrame, settings: TieringSettings) -> pd.Series:
    """Value score 0–100 per account: the percentile of a weighted mix of factor percentiles.

    Parameters
    ----------
    frame : DataFrame
        ``revenue_12m, revenue_prev_12m, products_held, potential`` per account.
    settings : TieringSettings
        The factor weights.

    Returns
    -------
    Series
        Scores aligned with ``frame``; 100 is the most valuable account.

    Notes
    -----
    Each factor enters as its percentile rank among the accounts scored, so no
    factor dominates through its units. Growth is the log ratio of the last 12
    months' revenue to the 12 before (0 for accounts without prior revenue). A
    missing factor counts at the median, not as zero.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.log(frame["revenue_12m"] / frame["revenue_prev_12m"])
    factors = pd.DataFrame(
        {
            "revenue": frame["revenue_12m"],
            "growth": growth.where(np.isfinite(growth), 0.0),
            "depth": frame["products_held"],
            "potential": frame["potential"],
        },
        index=frame.index,
    )
    ranks = factors.rank(pct=True).fillna(0.5)
    w = pd.Series(settings.weights)[list(FACTORS)]
    mix = ranks[list(FACTORS)].mul(w, axis=1).sum(axis=1) / w.sum()
    return (mix.rank(pct=True) * 100).round(2)


def assign_tiers(scores: pd.Series, settings: TieringSettings) -> pd.Series:
    """The highest tier whose threshold each score reaches."""
    mins = np.array([t.min_score for t in settings.tiers])
    codes = np.array([t.code for t in settings.tiers], dtype=object)
    idx = np.searchsorted(mins, scores.to_numpy(), side="right") - 1
    return pd.Series(codes[np.clip(idx, 0, len(codes) - 1)], index=scores.index)

"""Rule-triggered alerts: which accounts need a suggested intervention, and why.

Each rule reads one signal per account (as of a date) and fires with the figure that
triggered it. The data layer turns firing rules into suggested interventions, never
twice while one is open, and closes a suggestion when its rule no longer fires.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

RULES = (
    "health_drop",
    "nps_detractor",
    "no_contact",
    "stage_at_risk",
    "sponsor_change",
    "revenue_drop",
)
# The intervention each rule suggests, and how urgent it is.
RULE_KIND = {
    "health_drop": ("care_visit", "high"),
    "nps_detractor": ("service_recovery", "high"),
    "no_contact": ("care_visit", "normal"),
    "stage_at_risk": ("business_review", "high"),
    "sponsor_change": ("executive_sponsor_visit", "high"),
    "revenue_drop": ("business_review", "normal"),
}
RULE_TITLES = {
    "health_drop": ("Health fell {value:.0f} points", "健康分下降 {value:.0f} 分"),
    "nps_detractor": ("Detractor answer (score {value:.0f})", "贬损者反馈（{value:.0f} 分）"),
    "no_contact": ("No contact for {value:.0f} days", "{value:.0f} 天未联系"),
    "stage_at_risk": ("Lifecycle stage moved to at risk", "生命周期阶段转为风险"),
    "sponsor_change": ("Decision maker changed", "决策人变更"),
    "revenue_drop": (
        "Revenue down {value:.0f}% on the quarter before",
        "收入较上季度下降 {value:.0f}%",
    ),
}


@dataclass(frozen=True)
class AlertRules:
    """Admin-tuned thresholds; a rule not in ``enabled`` never fires."""

    enabled: tuple[str, ...] = RULES
    health_drop_points: float = 15.0
    health_drop_months: int = 3
    detractor_days: int = 30
    contact_norm_days: dict[str, int] = field(
        default_factory=lambda: {"basic": 120, "value": 60, "strategic": 30}
    )
    contact_grace_days: int = 30
    sponsor_change_days: int = 60
    revenue_drop_pct: float = 25.0
    due_days: int = 7

    def problems(self) -> list[tuple[str, str]]:
        """``(field, message code)`` for every invalid setting."""
        out = []
        if any(r not in RULES for r in self.enabled):
            out.append(("enabled", "invalid_choice"))
        if not 1 <= self.health_drop_points <= 100:
            out.append(("health_drop_points", "out_of_range"))
        if not 1 <= self.health_drop_months <= 12:
            out.append(("health_drop_months", "out_of_range"))
        for name in ("detractor_days", "sponsor_change_days"):
            if not 1 <= getattr(self, name) <= 365:
                out.append((name, "out_of_range"))
        if not 0 <= self.contact_grace_days <= 365:
            out.append(("contact_grace_days", "out_of_range"))
        if any(not 1 <= int(v) <= 730 for v in self.contact_norm_days.values()):
            out.append(("contact_norm_days", "out_of_range"))
        if not 1 <= self.revenue_drop_pct <= 100:
            out.append(("revenue_drop_pct", "out_of_range"))
        if not 1 <= self.due_days <= 90:
            out.append(("due_days", "out_of_range"))
        return out

    def to_json(self) -> dict:
        value = asdict(self)
        value["enabled"] = list(self.enabled)
        return value

    @classmethod
    def from_json(cls, value: dict) -> AlertRules:
        known = {k: v for k, v in value.items() if k in cls.__dataclass_fields__}
        if "enabled" in known:
            known["enabled"] = tuple(known["enabled"])
        return cls(**known)


def evaluate(signals: pd.DataFrame, rules: AlertRules, as_of: dt.date) -> pd.DataFrame:
    """Rules that fire, one row per account and rule: account_id, rule, value.

    ``signals`` has one row per active account: account_id, tier, health_now,
    health_before, last_detractor_on, last_detractor_score, last_contact_on, stage,
    last_sponsor_change_on, revenue_3m, revenue_prev_3m.
    """
    cols = ["account_id", "rule", "value"]
    if signals.empty:
        return pd.DataFrame(columns=cols)
    s = signals
    day = pd.Timestamp(as_of)
    found = []

    def add(rule: str, mask: pd.Series, value: pd.Series) -> None:
        if rule in rules.enabled and mask.any():
            found.append(
                pd.DataFrame(
                    {
                        "account_id": s.loc[mask, "account_id"],
                        "rule": rule,
                        "value": value[mask].astype(float),
                    }
                )
            )

    drop = s["health_before"] - s["health_now"]
    add("health_drop", drop > rules.health_drop_points, drop)
    detractor_age = (day - pd.to_datetime(s["last_detractor_on"])).dt.days
    add(
        "nps_detractor",
        detractor_age.between(0, rules.detractor_days),
        s["last_detractor_score"],
    )
    silent = (day - pd.to_datetime(s["last_contact_on"])).dt.days
    norm = s["tier"].map(rules.contact_norm_days).astype(float)
    never = s["last_contact_on"].isna()
    silent = silent.where(~never, np.inf)
    add("no_contact", silent > norm + rules.contact_grace_days, silent.where(~never, 999))
    add("stage_at_risk", s["stage"] == "at_risk", pd.Series(0.0, index=s.index))
    sponsor_age = (day - pd.to_datetime(s["last_sponsor_change_on"])).dt.days
    add(
        "sponsor_change",
        sponsor_age.between(0, rules.sponsor_change_days),
        sponsor_age,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        fall = 100 * (1 - s["revenue_3m"] / s["revenue_prev_3m"])
    add(
        "revenue_drop",
        (s["revenue_prev_3m"] > 0) & (fall > rules.revenue_drop_pct),
        fall,
    )
    if not found:
        return pd.DataFrame(columns=cols)
    return pd.concat(found, ignore_index=True)[cols]


def title_for(rule: str, value: float) -> str:
    """A bilingual title for a suggested intervention (stored once, read in both languages)."""
    en, zh = RULE_TITLES[rule]
    return f"{en.format(value=value)} · {zh.format(value=value)}"

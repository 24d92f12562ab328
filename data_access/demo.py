"""Deterministic demo portfolio with planted causal structure.

The generator simulates a corporate-banking portfolio month by month. What it plants
(churn drivers, intervention effects, targeting of interventions, a regional
satisfaction drop, seasonality, product affinities) is written to ``demo_truth`` so
that tests can check the analytics recover it.

Run ``python -m data_access demo-db`` to migrate and fill the configured database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_access import demo_catalog as cat
from data_access.auth import hash_password
from data_access.windows import period_rows

Progress = Callable[[str, float], None]

DEMO_PASSWORD = "strata-demo"
PRODUCT_CODES = tuple(p[0] for p in cat.PRODUCTS)
TIER_NAMES = ("basic", "value", "strategic")

# Planted parameters: key -> (value, description).  Monthly churn is a logistic
# model: logit(p) = alpha_tier + log(OR_product) * (products - 3) + log(OR_nps10) * nps / 10.
PLANTED: dict[str, tuple[float, str]] = {
    "churn.alpha.basic": (-4.1, "Monthly churn log-odds intercept, basic tier, 3 products, NPS 0"),
    "churn.alpha.value": (-4.7, "Monthly churn log-odds intercept, value tier"),
    "churn.alpha.strategic": (-5.4, "Monthly churn log-odds intercept, strategic tier"),
    "churn.or_per_product": (0.75, "Odds ratio of monthly churn per extra product held"),
    "churn.or_per_10_nps": (0.85, "Odds ratio of monthly churn per +10 points of true NPS"),
    "churn.pre_decline_months": (3.0, "Months of falling revenue before an account churns"),
    "churn.or_sponsor_change": (
        2.5,
        "Odds ratio of monthly churn in the 6 months after the decision maker changes",
    ),
    "sponsor.change_rate": (0.008, "Monthly probability that an account's decision maker changes"),
    "churn.pre_decline_factor": (0.75, "Monthly revenue factor in the months before churn"),
    "nps.ar1_phi": (0.6, "Autocorrelation of an account's monthly satisfaction shock"),
    "nps.shock_sd": (
        14.0,
        "Standard deviation of an account's monthly satisfaction shock (NPS points)",
    ),
    "nps.season_amplitude": (6.0, "Seasonal swing of true NPS: -A in January, +A in July"),
    "nps.region_drop.points": (
        -20.0,
        "Drop of true NPS in the south region from the drop month on",
    ),
    "nps.region_drop.month_index": (
        -9.0,
        "Month of the south drop, counted from the end month (0 = end month)",
    ),
    "intervention.targeting_multiplier": (
        10.0,
        "Intervention odds multiplier when satisfaction is 12+ points below its usual level",
    ),
    "intervention.effect_months": (
        6.0,
        "Months (1 to 6 after completion) an intervention's effect lasts",
    ),
    "effect.nps.care_visit": (4.0, "Effect of a completed care visit on true NPS (points)"),
    "effect.nps.business_review": (
        6.0,
        "Effect of a completed business review on true NPS (points)",
    ),
    "effect.nps.executive_sponsor_visit": (
        12.0,
        "Effect of an executive sponsor visit on true NPS (points)",
    ),
    "effect.nps.service_recovery": (8.0, "Effect of service recovery on true NPS (points)"),
    "effect.nps.training": (3.0, "Effect of training on true NPS (points)"),
    "effect.nps.event_invite": (0.0, "Effect of an event invitation on true NPS (zero by design)"),
    "effect.nps.pricing_offer": (0.0, "Effect of a pricing offer on true NPS"),
    "effect.nps.cross_sell_campaign": (0.0, "Effect of a cross-sell campaign on true NPS"),
    "effect.revenue.pricing_offer": (
        0.05,
        "Relative revenue uplift from a pricing offer while it lasts",
    ),
    "effect.adoption.cross_sell_campaign": (
        4.0,
        "Multiplier of product adoption hazard during a cross-sell campaign",
    ),
    "affinity.CASH->FX": (6.0, "Adoption hazard multiplier for FX when cash management is held"),
    "affinity.TRADE->FX": (6.0, "Adoption hazard multiplier for FX when trade finance is held"),
    "affinity.LOAN->SCF": (
        6.0,
        "Adoption hazard multiplier for supply-chain finance when a loan is held",
    ),
    "affinity.PAYROLL->WEALTH": (
        6.0,
        "Adoption hazard multiplier for wealth management when payroll is held",
    ),
    "affinity.CASH->PAYROLL": (
        4.0,
        "Adoption hazard multiplier for payroll when cash management is held",
    ),
}

BASE_ADOPTION = {
    "DEP": 0.0,
    "LOAN": 0.004,
    "CASH": 0.005,
    "TRADE": 0.003,
    "FX": 0.003,
    "PAYROLL": 0.004,
    "SCF": 0.002,
    "WEALTH": 0.003,
}
INITIAL_HOLD = {
    "DEP": 1.0,
    "LOAN": 0.5,
    "CASH": 0.35,
    "TRADE": 0.22,
    "FX": 0.12,
    "PAYROLL": 0.3,
    "SCF": 0.08,
    "WEALTH": 0.12,
}
KIND_WEIGHTS = {
    "care_visit": 0.28,
    "business_review": 0.18,
    "executive_sponsor_visit": 0.07,
    "pricing_offer": 0.08,
    "cross_sell_campaign": 0.12,
    "service_recovery": 0.10,
    "training": 0.07,
    "event_invite": 0.10,
}
OUTCOME_WEIGHTS = {"achieved": 0.6, "partly_achieved": 0.3, "not_achieved": 0.1}
INTERVENTION_RATE = {"basic": 0.012, "value": 0.025, "strategic": 0.05}
SURVEY_RATE = {"basic": 0.30, "value": 0.50, "strategic": 0.80}
INTERACTION_RATE = {"basic": 0.7, "value": 1.4, "strategic": 2.8}
CHANNEL_WEIGHTS = {
    "visit": 0.22,
    "phone": 0.25,
    "email": 0.15,
    "sms": 0.05,
    "wechat": 0.18,
    "video": 0.07,
    "event": 0.03,
    "online": 0.05,
}


@dataclass(frozen=True)
class DemoSpec:
    """What to generate: the same spec always gives the same portfolio."""

    n_accounts: int = 2000
    seed: int = 42
    end_month: dt.date | None = None
    months: int = 36

    def resolved_end_month(self) -> dt.date:
        """The last simulated month (first day); by default the last complete month."""
        if self.end_month is not None:
            return self.end_month.replace(day=1)
        first_this_month = dt.date.today().replace(day=1)
        return (first_this_month - dt.timedelta(days=1)).replace(day=1)


def month_starts(end_month: dt.date, months: int) -> list[dt.date]:
    """First days of ``months`` consecutive months ending with ``end_month``."""
    idx = pd.period_range(end=pd.Period(end_month, freq="M"), periods=months, freq="M")
    return [p.start_time.date() for p in idx]


def _planted(key: str) -> float:
    return PLANTED[key][0]


def _choice(rng: np.random.Generator, options: dict[str, float], size: int) -> np.ndarray:
    keys = list(options)
    w = np.array([options[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=size, p=w / w.sum())]


def _days(rng: np.random.Generator, months: np.ndarray, month_dates: np.ndarray) -> np.ndarray:
    """A random day (1-28) inside each given month index."""
    base = month_dates[months]
    return base + rng.integers(0, 28, size=len(months)).astype("timedelta64[D]")


class _Sim:
    """State of one simulation run; ``run`` returns one DataFrame per table."""

    def __init__(self, spec: DemoSpec, progress: Progress) -> None:
        self.spec = spec
        self.progress = progress
        self.rng = np.random.default_rng(spec.seed)
        self.N = spec.n_accounts
        self.T = spec.months
        self.P = len(cat.PRODUCTS)
        self.end_month = spec.resolved_end_month()
        self.months = month_starts(self.end_month, self.T)
        self.month_dates = np.array(self.months, dtype="datetime64[D]")

    # ----------------------------------------------------------------- people
    def teams_and_users(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        teams = pd.DataFrame(
            [
                {"id": i + 1, "code": c, "region": r, "name_en": en, "name_zh": zh}
                for i, (c, r, en, zh) in enumerate(cat.TEAMS)
            ]
        )
        # One hash for the shared demo password keeps generation fast.
        demo_hash = hash_password(DEMO_PASSWORD)
        now = dt.datetime.combine(self.end_month, dt.time(9, 0))
        rows = [
            ("exec", "Wang Wei 王伟", "executive", None, "zh"),
            ("exec2", "Emily Chen 陈思", "executive", None, "en"),
            ("admin", "Li Na 李娜", "admin", None, "en"),
            ("manager", "Zhang Min 张敏", "account_manager", 1, "zh"),
        ]
        rng = self.rng
        for team_id in teams["id"]:
            n_extra = 1 if team_id == 1 else 2
            for _ in range(n_extra):
                name = rng.choice(list(cat.SURNAMES)) + "".join(
                    rng.choice(list(cat.GIVEN_CHARS), size=2)
                )
                rows.append((f"am{len(rows):02d}", name, "account_manager", int(team_id), "zh"))
        for dept in cat.DEPARTMENTS:
            for k in (1, 2):
                name = rng.choice(list(cat.SURNAMES)) + "".join(
                    rng.choice(list(cat.GIVEN_CHARS), size=2)
                )
                rows.append((f"sp_{dept}{k}", name, "account_manager", None, "zh"))
        users = pd.DataFrame(
            [
                {
                    "id": i + 1,
                    "username": u,
                    "display_name": d,
                    "role": r,
                    "team_id": t,
                    "password_hash": demo_hash,
                    "locale": loc,
                    "active": True,
                    "created_at": now,
                }
                for i, (u, d, r, t, loc) in enumerate(rows)
            ]
        )
        users["team_id"] = users["team_id"].astype("Int64")
        return teams, users

    # -------------------------------------------------------------- accounts
    def accounts(self, teams: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
        rng, N, T = self.rng, self.N, self.T
        region = np.array(cat.REGIONS)[
            rng.choice(len(cat.REGIONS), size=N, p=np.array(cat.REGION_WEIGHTS))
        ]
        team_id = np.empty(N, dtype=int)
        owner_id = np.empty(N, dtype=int)
        for r in cat.REGIONS:
            idx = np.flatnonzero(region == r)
            region_teams = teams.loc[teams["region"] == r, "id"].to_numpy()
            team_id[idx] = rng.choice(region_teams, size=len(idx))
        for t_id in teams["id"]:
            idx = np.flatnonzero(team_id == t_id)
            ams = users.loc[
                (users["team_id"] == t_id) & (users["role"] == "account_manager"), "id"
            ].to_numpy()
            owner_id[idx] = rng.choice(ams, size=len(idx))
        industry = np.array(cat.INDUSTRIES)[
            rng.choice(len(cat.INDUSTRIES), size=N, p=np.array(cat.INDUSTRY_WEIGHTS))
        ]
        turnover = np.exp(rng.normal(np.log(3e8), 1.1, size=N))
        segment = np.where(turnover >= 1e9, "large", np.where(turnover >= 1e8, "mid", "sme"))
        potential = turnover * 0.006 * np.exp(rng.normal(0, 0.35, size=N))
        # Most accounts predate the window; a fifth are won during it.
        new_in_window = rng.random(N) < 0.2
        start_t = np.where(new_in_window, rng.integers(1, T - 5, size=N), 0)
        years_before = rng.uniform(0.3, 12, size=N)
        onboarded = np.where(
            new_in_window,
            _days(rng, start_t, self.month_dates),
            self.month_dates[0] - (years_before * 365.25).astype("timedelta64[D]"),
        )
        names = self._company_names(region, industry)
        codes = np.array([f"C{100001 + i}" for i in range(N)])
        acc = pd.DataFrame(
            {
                "id": np.arange(1, N + 1),
                "code": codes,
                "name": names,
                "industry": industry,
                "region": region,
                "segment": segment,
                "team_id": team_id,
                "owner_id": owner_id,
                "onboarded_on": onboarded,
                "annual_turnover": np.round(turnover, -3),
                "potential": np.round(potential, 0),
            }
        )
        # A few group structures: large accounts head groups of same-region subsidiaries.
        acc["parent_id"] = pd.array([pd.NA] * N, dtype="Int64")
        heads = acc.index[(acc["segment"] == "large")].to_numpy()
        heads = rng.choice(heads, size=min(len(heads), max(1, N // 60)), replace=False)
        for h in heads:
            cands = acc.index[(acc["region"] == acc.at[h, "region"]) & (acc["segment"] != "large")]
            cands = cands[acc.loc[cands, "parent_id"].isna()]
            k = min(len(cands), int(rng.integers(1, 4)))
            if k:
                subs = rng.choice(cands.to_numpy(), size=k, replace=False)
                acc.loc[subs, "parent_id"] = int(acc.at[h, "id"])
                acc.loc[subs, "team_id"] = acc.at[h, "team_id"]
                acc.loc[subs, "owner_id"] = acc.at[h, "owner_id"]
                acc.at[h, "name"] = acc.at[h, "name"].replace("有限公司", "集团有限公司")
        self.start_t = start_t
        return acc

    def _company_names(self, region: np.ndarray, industry: np.ndarray) -> np.ndarray:
        rng = self.rng
        seen: set[str] = set()
        out = []
        for r, ind in zip(region, industry, strict=True):
            for attempt in range(50):
                city = rng.choice(cat.CITIES[r])
                brand = "".join(rng.choice(list(cat.BRAND_CHARS), size=2))
                word = rng.choice(cat.INDUSTRY_WORDS[ind])
                suffix = "股份有限公司" if rng.random() < 0.25 else "有限公司"
                name = f"{city}{brand}{word}{suffix}"
                if attempt > 40:
                    name = f"{city}{brand}{word}（{len(out)}）{suffix}"
                if name not in seen:
                    break
            seen.add(name)
            out.append(name)
        return np.array(out, dtype=object)

    # ------------------------------------------------------------ simulation
    def simulate(self, acc: pd.DataFrame) -> None:
        """Month by month: satisfaction, interventions, product adoption, churn, tiers."""
        rng, N, T, P = self.rng, self.N, self.T, self.P
        pidx = {c: i for i, c in enumerate(PRODUCT_CODES)}
        share = np.array([p[5] for p in cat.PRODUCTS])
        base_rev = acc["potential"].to_numpy() / 12 * rng.uniform(0.15, 0.6, size=N) / share.sum()
        growth = np.exp(rng.normal(0.03, 0.06, size=N))  # yearly growth factor
        self.base_rev, self.growth = base_rev, growth

        # Initial holdings depend on industry, size and affinities.
        held = np.zeros((N, P), dtype=bool)
        size_boost = np.clip(np.log10(acc["annual_turnover"].to_numpy()) - 7.5, 0.5, 2.0)
        trade_ind = (
            acc["industry"].isin(["manufacturing", "wholesale_retail", "logistics"]).to_numpy()
        )
        for code, p0 in INITIAL_HOLD.items():
            p = np.full(N, p0) * (size_boost if code != "DEP" else 1.0)
            if code in ("TRADE", "SCF"):
                p = p * np.where(trade_ind, 1.8, 0.5)
            if code == "FX":
                p = p + 0.25 * (held[:, pidx["CASH"]] | held[:, pidx["TRADE"]])
            if code == "WEALTH":
                p = p + 0.2 * held[:, pidx["PAYROLL"]]
            held[:, pidx[code]] = rng.random(N) < np.clip(p, 0, 0.95)
        open_t = np.where(held, np.minimum(self.start_t, 0)[:, None] - 1, -9999)
        open_t = np.where(held & (self.start_t[:, None] > 0), self.start_t[:, None], open_t)
        holdings_log: list[tuple[int, int, int, int]] = []  # account, product, open_t, close_t

        # Tier from potential at the start.
        q = np.quantile(acc["potential"], [0.6, 0.9])
        tier = np.where(acc["potential"] >= q[1], 2, np.where(acc["potential"] >= q[0], 1, 0))
        tier_log = [(i, -1, int(tier[i]), None) for i in range(N)]
        alpha = np.array([_planted(f"churn.alpha.{t}") for t in TIER_NAMES])
        b_prod = np.log(_planted("churn.or_per_product"))
        b_sat = np.log(_planted("churn.or_per_10_nps"))

        mu = rng.normal(18, 18, size=N) + 6 * (tier == 2)
        phi, sd = _planted("nps.ar1_phi"), _planted("nps.shock_sd")
        shock = rng.normal(0, sd, size=N)
        south = (acc["region"] == "south").to_numpy()
        drop_t = T - 1 + int(_planted("nps.region_drop.month_index"))
        amp = _planted("nps.season_amplitude")
        moy = np.array([m.month for m in self.months])
        season = -amp * np.cos(2 * np.pi * (moy - 1) / 12)
        L = int(_planted("intervention.effect_months"))
        eff_nps = np.zeros((N, T + L + 1))
        eff_rev = np.zeros((N, T + L + 1))
        eff_adopt = np.ones((N, T + L + 1))
        kinds = list(KIND_WEIGHTS)
        kind_p = np.array([KIND_WEIGHTS[k] for k in kinds])
        kind_p = kind_p / kind_p.sum()
        sat = np.zeros((N, T))
        active = np.zeros((N, T), dtype=bool)
        held_hist = np.zeros((N, T, P), dtype=bool)
        tier_hist = np.zeros((N, T), dtype=int)
        churn_t = np.full(N, -1)
        # account, t, kind, targeted, completed
        interventions: list[tuple[int, int, str, bool, bool]] = []
        aff = [
            (pidx[a], pidx[b], _planted(f"affinity.{a}->{b}"))
            for a, b in (
                ("CASH", "FX"),
                ("TRADE", "FX"),
                ("LOAN", "SCF"),
                ("PAYROLL", "WEALTH"),
                ("CASH", "PAYROLL"),
            )
        ]
        base_adopt = np.array([BASE_ADOPTION[c] for c in PRODUCT_CODES])
        sponsor_rng = np.random.default_rng([self.spec.seed, 7])
        sponsor_log: list[tuple[int, int]] = []
        last_change = np.full(N, -100)
        for t in range(T):
            alive = (self.start_t <= t) & (churn_t < 0)
            active[:, t] = alive
            # Re-tier every 12 months on trailing expected revenue.
            if t in (12, 24):
                trailing = (held_hist[:, t - 12 : t, :] * share).sum(axis=(1, 2)) * base_rev
                qq = np.quantile(trailing[alive], [0.6, 0.9])
                new_tier = np.where(trailing >= qq[1], 2, np.where(trailing >= qq[0], 1, 0))
                changed = alive & (new_tier != tier)
                for i in np.flatnonzero(changed):
                    tier_log.append((int(i), t, int(new_tier[i]), int(tier[i])))
                tier = np.where(changed, new_tier, tier)
            tier_hist[:, t] = tier
            shock = phi * shock + sd * np.sqrt(1 - phi**2) * rng.normal(size=N)
            s = (
                mu
                + season[t]
                + shock
                + eff_nps[:, t]
                + np.where(south & (t >= drop_t), _planted("nps.region_drop.points"), 0)
            )
            s = np.clip(s, -75, 75)
            sat[:, t] = s
            # Interventions: preferentially where satisfaction just fell 12+ points below
            # the account's usual level (its own shock; season and known events excluded).
            fell = shock < -12
            rate = np.array([INTERVENTION_RATE[TIER_NAMES[k]] for k in range(3)])[tier]
            odds = (
                rate
                / (1 - rate)
                * np.where(fell, _planted("intervention.targeting_multiplier"), 1.0)
            )
            gets = alive & (t > 0) & (rng.random(N) < odds / (1 + odds))
            for i in np.flatnonzero(gets):
                k = kinds[rng.choice(len(kinds), p=kind_p)]
                completed = t < T - 2 and rng.random() < 0.9  # effect from the next month
                interventions.append((int(i), t, k, bool(fell[i]), completed))
                if completed:
                    eff_nps[i, t + 1 : t + 1 + L] += _planted(f"effect.nps.{k}")
                    if k == "pricing_offer":
                        eff_rev[i, t + 1 : t + 1 + L] += _planted("effect.revenue.pricing_offer")
                    if k == "cross_sell_campaign":
                        eff_adopt[i, t + 1 : t + 4] *= _planted(
                            "effect.adoption.cross_sell_campaign"
                        )
            # Product adoption and occasional closure.
            hz = np.tile(base_adopt, (N, 1)) * eff_adopt[:, t][:, None]
            for a, b, m in aff:
                hz[:, b] *= np.where(held[:, a], m, 1.0)
            opens = alive[:, None] & ~held & (rng.random((N, P)) < hz)
            closes = alive[:, None] & held & (rng.random((N, P)) < 0.002)
            closes[:, pidx["DEP"]] = False
            for i, p in zip(*np.nonzero(closes), strict=True):
                holdings_log.append((int(i), int(p), int(open_t[i, p]), t))
            held = (held & ~closes) | opens
            open_t = np.where(opens, t, open_t)
            held_hist[:, t, :] = held & alive[:, None]
            # Sponsor (decision maker) changes, from their own random stream.
            changes = alive & (t > 0) & (sponsor_rng.random(N) < _planted("sponsor.change_rate"))
            sponsor_log.extend((int(i), t) for i in np.flatnonzero(changes))
            recent_change = (t - last_change >= 1) & (t - last_change <= 6)
            last_change = np.where(changes, t, last_change)
            # Churn (not in an account's first month).
            n_prod = held.sum(axis=1)
            logit = alpha[tier] + b_prod * (n_prod - 3) + b_sat * s / 10
            logit = logit + np.log(_planted("churn.or_sponsor_change")) * recent_change
            churns = alive & (self.start_t < t) & (rng.random(N) < 1 / (1 + np.exp(-logit)))
            churn_t = np.where(churns, t, churn_t)
        for i, p in zip(*np.nonzero(held), strict=True):
            ct = int(churn_t[i]) if churn_t[i] >= 0 else -1
            holdings_log.append((int(i), int(p), int(open_t[i, p]), ct))
        self.sat, self.active, self.held_hist = sat, active, held_hist
        self.tier_hist, self.churn_t, self.tier = tier_hist, churn_t, tier
        self.eff_rev, self.interventions = eff_rev, interventions
        self.holdings_log, self.tier_log = holdings_log, tier_log
        self.sponsor_log = sponsor_log

    # --------------------------------------------------------------- tables
    def revenue(self) -> pd.DataFrame:
        rng, T = self.rng, self.T
        share = np.array([p[5] for p in cat.PRODUCTS])
        t_idx = np.arange(T)
        level = self.base_rev[:, None] * self.growth[:, None] ** (t_idx[None, :] / 12)
        level = level * (1 + self.eff_rev[:, :T])
        # Revenue falls in the months before an account churns.
        k = int(_planted("churn.pre_decline_months"))
        f = _planted("churn.pre_decline_factor")
        to_churn = self.churn_t[:, None] - t_idx[None, :]
        decline = np.where(
            (self.churn_t[:, None] >= 0) & (to_churn >= 0) & (to_churn < k),
            f ** (k - to_churn),
            1.0,
        )
        level = level * decline
        mask = self.held_hist & self.active[:, :, None]
        i, t, p = np.nonzero(mask)
        rev = level[i, t] * share[p] * np.exp(rng.normal(0, 0.12, size=len(i)))
        spread = np.array([0.015, 0.02, np.nan, 0.012, np.nan, np.nan, 0.018, 0.008])
        balance = rev * 12 / spread[p]
        return pd.DataFrame(
            {
                "account_id": i + 1,
                "product_id": p + 1,
                "month": self.month_dates[t],
                "revenue": np.round(rev, 2),
                "balance": np.round(balance, -2),
            }
        )

    def account_monthly(self, revenue: pd.DataFrame) -> pd.DataFrame:
        g = revenue.groupby(["account_id", "month"], as_index=False).agg(
            revenue=("revenue", "sum"), products_held=("product_id", "nunique")
        )
        g["revenue"] = g["revenue"].round(2)
        return g

    def holdings(self) -> pd.DataFrame:
        rng = self.rng
        log = np.array(self.holdings_log, dtype=int).reshape(-1, 4)
        i, p, ot, ct = log.T
        first = self.month_dates[0]
        opened = np.where(
            ot >= 0,
            _days(rng, np.clip(ot, 0, None), self.month_dates),
            first - rng.integers(30, 2000, size=len(i)).astype("timedelta64[D]"),
        )
        closed = np.where(
            ct >= 0, _days(rng, np.clip(ct, 0, None), self.month_dates), np.datetime64("NaT")
        )
        return pd.DataFrame(
            {"account_id": i + 1, "product_id": p + 1, "opened_on": opened, "closed_on": closed}
        ).drop_duplicates(["account_id", "product_id", "opened_on"])

    def loyalty(self, acc_monthly: pd.DataFrame) -> pd.DataFrame:
        """A points programme (积分): larger tiers join more often; points follow revenue.

        Membership has no planted effect on churn or purchases: it is confounded with
        tier and size, which the comparison on the growth page must adjust for.
        """
        rng = self.rng
        join_p = np.array([0.15, 0.35, 0.6])[self.tier_hist[:, 0]]
        member = rng.random(self.N) < join_p
        joined = rng.integers(0, self.T // 2, size=self.N)
        am = acc_monthly.copy()
        t = pd.to_datetime(am["month"]).dt.to_period("M") - pd.Period(self.months[0], "M")
        am["t"] = t.map(lambda d: d.n).astype(int)
        i = am["account_id"].to_numpy() - 1
        am = am[member[i] & (am["t"].to_numpy() >= joined[i])].copy()
        am["earned"] = np.round(am["revenue"] / 100 * rng.uniform(0.8, 1.2, len(am)))
        am = am.sort_values(["account_id", "month"], kind="stable")
        share = np.where(rng.random(len(am)) < 0.15, rng.uniform(0.3, 0.9, len(am)), 0.0)
        redeemed, balance, prev_acc, bal = [], [], None, 0.0
        for acc_id, earned, sh in zip(am["account_id"], am["earned"], share, strict=True):
            bal = 0.0 if acc_id != prev_acc else bal
            bal += earned
            r = round(bal * sh)
            bal -= r
            redeemed.append(float(r))
            balance.append(float(bal))
            prev_acc = acc_id
        am["redeemed"], am["balance"] = redeemed, balance
        return am[["account_id", "month", "earned", "redeemed", "balance"]].reset_index(drop=True)

    def contacts(self, acc: pd.DataFrame) -> pd.DataFrame:
        rng = self.rng
        n = rng.integers(2, 7, size=self.N)
        acc_idx = np.repeat(np.arange(self.N), n)
        pick = rng.integers(0, len(cat.CONTACT_TITLES), size=len(acc_idx))
        # The first contact of every account is a decision maker.
        first = np.r_[True, acc_idx[1:] != acc_idx[:-1]]
        pick = np.where(first, rng.integers(0, 2, size=len(acc_idx)), pick)
        roles = np.array([c[0] for c in cat.CONTACT_TITLES])[pick]
        titles = np.array([c[1] for c in cat.CONTACT_TITLES])[pick]
        names = [
            rng.choice(list(cat.SURNAMES))
            + "".join(rng.choice(list(cat.GIVEN_CHARS), size=int(rng.integers(1, 3))))
            for _ in range(len(acc_idx))
        ]
        last = self.month_dates[-1] - rng.integers(0, 200, size=len(acc_idx)).astype(
            "timedelta64[D]"
        )
        return pd.DataFrame(
            {
                "id": np.arange(1, len(acc_idx) + 1),
                "account_id": acc_idx + 1,
                "name": names,
                "title": titles,
                "buying_role": roles,
                "support": rng.integers(-1, 3, size=len(acc_idx)),
                "relationship_strength": rng.integers(1, 6, size=len(acc_idx)),
                "last_contacted_on": last,
                "version": 1,
            }
        )

    def _contact_for(self, contacts: pd.DataFrame, account_idx: np.ndarray) -> np.ndarray:
        counts = contacts.groupby("account_id").size().reindex(np.arange(1, self.N + 1)).to_numpy()
        first = np.r_[0, np.cumsum(counts)[:-1]]
        offset = (self.rng.random(len(account_idx)) * counts[account_idx]).astype(int)
        return contacts["id"].to_numpy()[first[account_idx] + offset]

    def surveys(self, contacts: pd.DataFrame) -> pd.DataFrame:
        rng = self.rng
        tiers = self.tier_hist
        frames = []
        for survey in ("nps", "csat", "ces"):
            if survey == "nps":
                rate = np.array([SURVEY_RATE[t] for t in TIER_NAMES])[tiers]
            else:
                rate = np.full(tiers.shape, 0.08 if survey == "csat" else 0.04)
            i, t = np.nonzero(self.active & (rng.random(self.active.shape) < rate))
            s = self.sat[i, t]
            u = rng.random(len(i))
            if survey == "nps":
                p_prom = 0.375 + s / 200
                p_det = 0.375 - s / 200
                cat_ = np.where(u < p_prom, 2, np.where(u < p_prom + 0.25, 1, 0))
                score = np.select(
                    [cat_ == 2, cat_ == 1],
                    [rng.integers(9, 11, size=len(i)), rng.integers(7, 9, size=len(i))],
                    rng.choice(
                        np.arange(7), size=len(i), p=[0.04, 0.04, 0.08, 0.12, 0.16, 0.26, 0.30]
                    ),
                )
                del p_det
            elif survey == "csat":
                score = np.clip(np.round(3.6 + s / 45 + rng.normal(0, 0.8, len(i))), 1, 5)
            else:
                score = np.clip(np.round(4.8 + s / 40 + rng.normal(0, 1.1, len(i))), 1, 7)
            band = np.where(score >= 9, "promoter", np.where(score >= 7, "passive", "detractor"))
            if survey != "nps":
                band = np.where(
                    score >= (4 if survey == "csat" else 6),
                    "promoter",
                    np.where(score >= (3 if survey == "csat" else 4), "passive", "detractor"),
                )
            has_comment = rng.random(len(i)) < 0.3
            comment = [
                rng.choice(cat.COMMENTS[b]) if c else None
                for b, c in zip(band, has_comment, strict=True)
            ]
            frames.append(
                pd.DataFrame(
                    {
                        "account_id": i + 1,
                        "contact_id": self._contact_for(contacts, i),
                        "survey": survey,
                        "score": score.astype(int),
                        "responded_on": _days(rng, t, self.month_dates),
                        "comment": comment,
                        "channel": rng.choice(["email", "sms", "wechat", "online"], size=len(i)),
                    }
                )
            )
        out = pd.concat(frames, ignore_index=True).sort_values(
            ["responded_on", "account_id"], kind="stable"
        )
        out.insert(0, "id", np.arange(1, len(out) + 1))
        return out

    def interactions_and_interventions(
        self, contacts: pd.DataFrame, acc: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        rng = self.rng
        rate = np.array([INTERACTION_RATE[t] for t in TIER_NAMES])[self.tier_hist]
        counts = rng.poisson(rate) * self.active
        i, t = np.nonzero(counts)
        rep = counts[i, t]
        i, t = np.repeat(i, rep), np.repeat(t, rep)
        channel = _choice(rng, CHANNEL_WEIGHTS, len(i))
        s = self.sat[i, t]
        sentiment = np.where(
            s + rng.normal(0, 20, len(i)) > 25,
            1,
            np.where(s + rng.normal(0, 20, len(i)) < -15, -1, 0),
        )
        owner = acc["owner_id"].to_numpy()
        inter = pd.DataFrame(
            {
                "account_id": i + 1,
                "contact_id": self._contact_for(contacts, i),
                "user_id": owner[i],
                "channel": channel,
                "occurred_on": _days(rng, t, self.month_dates),
                "subject": [cat.INTERACTION_SUBJECTS[c] for c in channel],
                "notes": [
                    rng.choice(cat.INTERACTION_NOTES[int(x)]) if rng.random() < 0.4 else None
                    for x in sentiment
                ],
                "sentiment": sentiment,
            }
        )
        # Interventions.
        T = self.T
        rows = []
        visits = []
        visit_kinds = {
            "care_visit",
            "business_review",
            "executive_sponsor_visit",
            "service_recovery",
        }
        # Product openings by account, to tell whether a cross-sell offer was accepted.
        opens: dict[int, list[tuple[int, int]]] = {}
        for acc_i, prod, open_t, _close_t in self.holdings_log:
            if open_t >= 0:
                opens.setdefault(acc_i, []).append((open_t, prod))
        for n, (a, t0, kind, targeted, completed_in_sim) in enumerate(self.interventions):
            # Created and due within the intervention's month, so its effect (from the
            # next month on) starts the month after completion.
            created = self.month_dates[t0] + np.timedelta64(int(rng.integers(0, 10)), "D")
            due = created + np.timedelta64(int(rng.integers(5, 17)), "D")
            if t0 >= T - 2:
                status = "planned" if rng.random() < 0.6 else "in_progress"
                completed = np.datetime64("NaT")
            else:
                status = "done" if completed_in_sim else "cancelled"
                completed = (
                    due - np.timedelta64(int(rng.integers(0, 5)), "D")
                    if status == "done"
                    else np.datetime64("NaT")
                )
            if status == "done" and kind in visit_kinds:
                visits.append((a, completed, cat.INTERVENTION_TITLES[kind]))
            offered, response = None, None
            if kind == "cross_sell_campaign":
                # Accepted when the client opened a product within three months after.
                taken = [p for t, p in opens.get(a, []) if t0 < t <= t0 + 3]
                not_held = np.flatnonzero(~self.held_hist[a, t0])
                if taken:
                    offered, response = taken[0] + 1, "accepted" if status == "done" else None
                elif len(not_held):
                    offered = int(rng.choice(not_held)) + 1
                    if status == "done":
                        response = "declined" if rng.random() < 0.6 else "no_answer"
            rows.append(
                {
                    "id": n + 1,
                    "account_id": a + 1,
                    "kind": kind,
                    "title": cat.INTERVENTION_TITLES[kind],
                    "owner_id": owner[a],
                    "due_on": due,
                    "status": status,
                    "priority": "high" if targeted else "normal",
                    "completed_on": completed,
                    "outcome": (_choice(rng, OUTCOME_WEIGHTS, 1)[0] if status == "done" else None),
                    "notes": None,
                    "trigger": "rule" if targeted else "manual",
                    "expected_effect": None,
                    "cost": cat.INTERVENTION_COST[kind],
                    "created_at": pd.Timestamp(created).to_pydatetime(),
                    "created_by": owner[a],
                    "version": 1,
                    "offered_product_id": offered,
                    "offer_response": response,
                }
            )
        if visits:
            a_idx = np.array([v[0] for v in visits])
            visit_rows = pd.DataFrame(
                {
                    "account_id": a_idx + 1,
                    "contact_id": self._contact_for(contacts, a_idx),
                    "user_id": owner[a_idx],
                    "channel": "visit",
                    "occurred_on": np.array([v[1] for v in visits], dtype="datetime64[D]"),
                    "subject": [v[2] for v in visits],
                    "notes": None,
                    "sentiment": 0,
                }
            )
            inter = pd.concat([inter, visit_rows], ignore_index=True)
        inter = inter.sort_values(["occurred_on", "account_id"], kind="stable").reset_index(
            drop=True
        )
        inter.insert(0, "id", np.arange(1, len(inter) + 1))
        return inter, pd.DataFrame(rows)

    def lifecycle(self, acc_monthly: pd.DataFrame) -> pd.DataFrame:
        """Stage events from documented rules over the simulated months."""
        rng, N, T = self.rng, self.N, self.T
        rev = np.zeros((N, T))
        t_of = {d: k for k, d in enumerate(self.months)}
        rev[
            acc_monthly["account_id"].to_numpy() - 1,
            acc_monthly["month"].map(lambda d: t_of[pd.Timestamp(d).date()]).to_numpy(),
        ] = acc_monthly["revenue"].to_numpy()
        r3 = pd.DataFrame(rev.T).rolling(3).sum().to_numpy().T
        prior3 = np.roll(r3, 3, axis=1)
        prior3[:, :6] = np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            falling = r3 < 0.75 * prior3
        risky = np.nan_to_num(falling, nan=0).astype(bool) | (self.sat < -35)
        rows = []
        first = self.month_dates[0]
        onboarded = self.onboarded
        for i in range(N):
            st = int(self.start_t[i])
            if st > 0:
                rows.append((i, "onboarding", onboarded[i], "account opened"))
            tenure0 = (first - onboarded[i]).astype(int)
            base_stage = (
                "mature" if tenure0 > 2 * 365 else ("growth" if tenure0 > 90 else "onboarding")
            )
            if st == 0:
                rows.append(
                    (
                        i,
                        base_stage,
                        max(onboarded[i], first - np.timedelta64(400, "D")),
                        "tenure rule",
                    )
                )
            stage = base_stage if st == 0 else "onboarding"
            calm = 0
            for t in range(max(st, 1), T):
                if not self.active[i, t]:
                    break
                day = self.month_dates[t] + np.timedelta64(int(rng.integers(0, 28)), "D")
                months_in = t - st
                if stage == "at_risk":
                    calm = calm + 1 if not risky[i, t] else 0
                    if calm >= 3:
                        stage = "mature" if months_in >= 18 or st == 0 else "growth"
                        rows.append((i, stage, day, "risk signals cleared for 3 months"))
                    continue
                if risky[i, t] and t > st + 3:
                    stage, calm = "at_risk", 0
                    reason = (
                        "revenue fell >25% vs prior 3 months"
                        if falling[i, t]
                        else "satisfaction collapse"
                    )
                    rows.append((i, "at_risk", day, reason))
                elif stage == "onboarding" and months_in >= 3:
                    stage = "growth"
                    rows.append((i, stage, day, "3 months since onboarding"))
                elif stage == "growth" and months_in >= 18:
                    stage = "mature"
                    rows.append((i, stage, day, "18 months since onboarding"))
            if self.churn_t[i] >= 0:
                rows.append((i, "churned", self.churned_on[i], "relationship ended"))
        ev = pd.DataFrame(rows, columns=["account_id", "stage", "entered_on", "reason"])
        ev["account_id"] += 1
        ev.insert(0, "id", np.arange(1, len(ev) + 1))
        return ev

    def transactions(self) -> pd.DataFrame:
        """FX deals as event-level purchases (for purchase-style CLV)."""
        rng = self.rng
        fx = PRODUCT_CODES.index("FX")
        lam = rng.gamma(2.0, 0.8, size=self.N)
        mask = self.held_hist[:, :, fx] & self.active
        counts = rng.poisson(lam[:, None] * mask)
        i, t = np.nonzero(counts)
        rep = counts[i, t]
        i, t = np.repeat(i, rep), np.repeat(t, rep)
        spend = np.exp(rng.normal(np.log(self.base_rev[i] * 0.05 + 1), 0.5))
        return pd.DataFrame(
            {
                "account_id": i + 1,
                "occurred_on": _days(rng, t, self.month_dates),
                "amount": np.round(spend, 2),
            }
        ).sort_values(["occurred_on", "account_id"], kind="stable")

    def account_team(
        self, users: pd.DataFrame, holdings: pd.DataFrame, contacts: pd.DataFrame
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Specialists serving each account's products, and their touchpoints."""
        rng = self.rng
        code_of = {k + 1: c for k, c in enumerate(PRODUCT_CODES)}
        dept_of = {p: d for d, prods in cat.DEPARTMENTS.items() for p in prods}
        h = holdings.assign(dept=holdings["product_id"].map(code_of).map(dept_of)).dropna(
            subset=["dept"]
        )
        first = h.groupby(["account_id", "dept"], as_index=False)["opened_on"].min()
        specialists = {
            d: users.loc[users["username"].str.startswith(f"sp_{d}"), "id"].to_numpy()
            for d in cat.DEPARTMENTS
        }
        first["user_id"] = [rng.choice(specialists[d]) for d in first["dept"]]
        team = pd.DataFrame(
            {
                "account_id": first["account_id"],
                "user_id": first["user_id"],
                "role": first["dept"],
                "since": first["opened_on"],
            }
        ).drop_duplicates(["account_id", "user_id"])
        team.insert(0, "id", np.arange(1, len(team) + 1))
        # Each specialist touches each served account about every four months.
        rows = []
        since_t = np.searchsorted(
            self.month_dates, team["since"].to_numpy().astype("datetime64[D]")
        )
        for (a, u, role), t0 in zip(
            team[["account_id", "user_id", "role"]].itertuples(index=False), since_t, strict=True
        ):
            months = np.arange(max(int(t0), 0), self.T)
            months = months[self.active[a - 1, months] & (rng.random(len(months)) < 0.25)]
            rows.extend((a, u, role, m) for m in months)
        if not rows:
            return team, pd.DataFrame()
        a_idx = np.array([r[0] for r in rows]) - 1
        touches = pd.DataFrame(
            {
                "account_id": a_idx + 1,
                "contact_id": self._contact_for(contacts, a_idx),
                "user_id": [r[1] for r in rows],
                "channel": rng.choice(["visit", "phone", "email", "video"], size=len(rows)),
                "occurred_on": _days(rng, np.array([r[3] for r in rows]), self.month_dates),
                "subject": [cat.SPECIALIST_SUBJECTS[r[2]] for r in rows],
                "notes": None,
                "sentiment": 0,
            }
        )
        return team, touches

    def stakeholder_changes(self, contacts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """New decision makers after each sponsor change, and the change records."""
        rng = np.random.default_rng([self.spec.seed, 8])
        if not self.sponsor_log:
            return contacts, pd.DataFrame()
        contacts = contacts.copy()
        next_id = int(contacts["id"].max()) + 1
        new_rows, changes = [], []
        current_dm = (
            contacts[contacts["buying_role"] == "decision_maker"]
            .groupby("account_id")["id"]
            .first()
            .to_dict()
        )
        for i, t in self.sponsor_log:
            aid = i + 1
            when = self.month_dates[t] + np.timedelta64(int(rng.integers(0, 28)), "D")
            name = rng.choice(list(cat.SURNAMES)) + "".join(rng.choice(list(cat.GIVEN_CHARS), 2))
            new_rows.append(
                {
                    "id": next_id,
                    "account_id": aid,
                    "name": name,
                    "title": "总经理",
                    "buying_role": "decision_maker",
                    "support": 0,
                    "relationship_strength": 1,
                    "last_contacted_on": when,
                    "version": 1,
                }
            )
            old = current_dm.get(aid)
            changes.append(
                {
                    "account_id": aid,
                    "changed_on": when,
                    "role": "decision_maker",
                    "previous_contact_id": old,
                    "new_contact_id": next_id,
                }
            )
            if old is not None:
                contacts.loc[contacts["id"] == old, "buying_role"] = "influencer"
            current_dm[aid] = next_id
            next_id += 1
        contacts = pd.concat([contacts, pd.DataFrame(new_rows)], ignore_index=True)
        for row in new_rows:  # an earlier new sponsor who was replaced again steps down
            if current_dm.get(row["account_id"]) != row["id"]:
                contacts.loc[contacts["id"] == row["id"], "buying_role"] = "influencer"
        ch = pd.DataFrame(changes)
        ch["previous_contact_id"] = ch["previous_contact_id"].astype("Int64")
        ch.insert(0, "id", np.arange(1, len(ch) + 1))
        return contacts, ch

    def tier_history(self) -> pd.DataFrame:
        rows = []
        for i, t, new, old in self.tier_log:
            when = self.onboarded[i] if t < 0 else self.month_dates[t]
            reason = (
                "initial assessment" if t < 0 else "annual review: trailing 12-month revenue rank"
            )
            rows.append(
                (i + 1, TIER_NAMES[new], None if old is None else TIER_NAMES[old], when, reason)
            )
        th = pd.DataFrame(
            rows, columns=["account_id", "tier", "previous_tier", "changed_on", "reason"]
        )
        th.insert(0, "id", np.arange(1, len(th) + 1))
        return th

    def run(self) -> dict[str, pd.DataFrame]:
        self.progress("Teams and users", 0.02)
        teams, users = self.teams_and_users()
        products = pd.DataFrame(
            [
                {
                    "id": k + 1,
                    "code": c,
                    "name_en": en,
                    "name_zh": zh,
                    "category": g,
                    "margin_rate": m,
                }
                for k, (c, en, zh, g, m, _s) in enumerate(cat.PRODUCTS)
            ]
        )
        self.progress("Accounts", 0.05)
        acc = self.accounts(teams, users)
        self.onboarded = acc["onboarded_on"].to_numpy().astype("datetime64[D]")
        self.progress("Simulating 36 months of the portfolio", 0.10)
        self.simulate(acc)
        self.churned_on = np.where(
            self.churn_t >= 0,
            _days(self.rng, np.clip(self.churn_t, 0, None), self.month_dates),
            np.datetime64("NaT"),
        )
        acc["tier"] = np.array(TIER_NAMES)[self.tier]
        acc["status"] = np.where(self.churn_t >= 0, "churned", "active")
        acc["churned_on"] = self.churned_on
        self.progress("Revenue facts", 0.25)
        revenue = self.revenue()
        acc_monthly = self.account_monthly(revenue)
        self.progress("Contacts, surveys and interactions", 0.35)
        contacts = self.contacts(acc)
        surveys = self.surveys(contacts)
        interactions, interventions = self.interactions_and_interventions(contacts, acc)
        holdings = self.holdings()
        team, touches = self.account_team(users, holdings, contacts)
        if len(touches):
            interactions = pd.concat([interactions.drop(columns="id"), touches], ignore_index=True)
            interactions = interactions.sort_values(["occurred_on", "account_id"], kind="stable")
            interactions.insert(0, "id", np.arange(1, len(interactions) + 1))
        contacts, sponsor_changes = self.stakeholder_changes(contacts)
        self.progress("Lifecycle events and tiers", 0.45)
        lifecycle = self.lifecycle(acc_monthly)
        truth = pd.DataFrame(
            [{"key": k, "value": v, "description": d} for k, (v, d) in PLANTED.items()]
            + [
                {
                    "key": "demo.seed",
                    "value": float(self.spec.seed),
                    "description": "Seed of the generator",
                },
                {
                    "key": "demo.n_accounts",
                    "value": float(self.N),
                    "description": "Accounts generated",
                },
                {"key": "demo.months", "value": float(self.T), "description": "Months simulated"},
            ]
        )
        return {
            "teams": teams,
            "users": users,
            "products": products,
            "accounts": acc,
            "account_team_members": team,
            "holdings": holdings,
            "revenue_monthly": revenue,
            "account_monthly": acc_monthly,
            "account_periods": period_rows(acc_monthly),
            "transactions": self.transactions(),
            "contacts": contacts,
            "stakeholder_changes": sponsor_changes,
            "interactions": interactions,
            "survey_responses": surveys,
            "lifecycle_events": lifecycle,
            "tier_history": self.tier_history(),
            "interventions": interventions,
            "loyalty_points": self.loyalty(acc_monthly),
            "demo_truth": truth,
        }


def generate(spec: DemoSpec, progress: Progress | None = None) -> dict[str, pd.DataFrame]:
    """Generate the demo portfolio for ``spec``.

    Parameters
    ----------
    spec : DemoSpec
        Size, seed and end month; the same spec gives the same tables.
    progress : callable, optional
        Called with a message and a fraction in [0, 1] as work proceeds.

    Returns
    -------
    dict of str to DataFrame
        One frame per table, columns named as in the schema, in insertion order.
    """
    if spec.n_accounts < 100:
        raise ValueError(f"n_accounts must be at least 100, got {spec.n_accounts}")
    if spec.months < 24:
        raise ValueError(f"months must be at least 24, got {spec.months}")
    return _Sim(spec, progress or (lambda _m, _f: None)).run()

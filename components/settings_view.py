"""Admin settings: tiers (names, number, thresholds) and the value score's weights."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.lifecycle import LifecycleRules
from analytics.tiering import FACTORS, TieringSettings, TierSpec
from components.i18n import fmt_int, t
from data_access import cached
from data_access.writes import NotPermitted, ValidationError

FLASH = "settings_flash"


def _editor_frame(current: TieringSettings) -> pd.DataFrame:
    return pd.DataFrame(
        [vars(x) for x in current.tiers], columns=["code", "name_en", "name_zh", "min_score"]
    )


def _from_editor(frame: pd.DataFrame, weights: dict[str, float]) -> TieringSettings:
    rows = frame.dropna(how="all").fillna({"code": "", "name_en": "", "name_zh": ""})
    tiers = tuple(
        TierSpec(
            str(r.code).strip(),
            str(r.name_en).strip(),
            str(r.name_zh).strip(),
            float(r.min_score) if pd.notna(r.min_score) else -1.0,
        )
        for r in rows.sort_values("min_score").itertuples()
    )
    return TieringSettings(tiers=tiers, weights=weights)


def _run_refresh() -> None:
    with st.status(t("settings.refreshing"), expanded=True) as status:
        bar = st.progress(0.0)

        def progress(message: str, fraction: float) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        result = cached.run_refresh_now(progress)
        status.update(
            label=t("settings.refreshed", n=fmt_int(result["snapshots"])), state="complete"
        )


def _render_lifecycle_rules(data: dict, ctx) -> None:
    rules: LifecycleRules = data["lifecycle"]
    st.subheader(t("settings.lifecycle_title"))
    st.caption(t("settings.lifecycle_note", version=data["lifecycle_version"]))
    a, b, c, d = st.columns(4)
    new = LifecycleRules(
        onboarding_months=int(
            a.number_input(
                t("settings.onboarding_months"), 1, 60, rules.onboarding_months, key="_w_lc_onb"
            )
        ),
        growth_months=int(
            b.number_input(
                t("settings.growth_months"), 2, 120, rules.growth_months, key="_w_lc_growth"
            )
        ),
        at_risk_health_below=float(
            c.number_input(
                t("settings.health_below"),
                0.0,
                100.0,
                rules.at_risk_health_below,
                key="_w_lc_health",
            )
        ),
        at_risk_revenue_drop=float(
            d.number_input(
                t("settings.revenue_drop"),
                0.01,
                0.99,
                rules.at_risk_revenue_drop,
                step=0.05,
                key="_w_lc_drop",
            )
        ),
    )
    if st.button(t("settings.save_rules"), key="save_lifecycle"):
        try:
            version = cached.save_lifecycle_rules(ctx.scope, new)
        except ValidationError as exc:
            for _field, code in exc.problems:
                st.error(t(f"settings.error.{code}"))
        else:
            st.session_state[FLASH] = t("settings.saved", version=version)
            st.rerun()


def render_settings(data: dict, ctx) -> None:
    """Render the settings page for the current tiering settings."""
    st.title(t("settings.title"))
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message)
    current: TieringSettings = data["settings"]
    st.subheader(t("settings.tiers_title"))
    st.caption(t("settings.tiers_note", version=data["version"]))
    edited = st.data_editor(
        _editor_frame(current),
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        key="_w_tier_editor",
        column_config={
            "code": st.column_config.TextColumn(t("settings.code"), required=True, max_chars=20),
            "name_en": st.column_config.TextColumn(t("settings.name_en"), required=True),
            "name_zh": st.column_config.TextColumn(t("settings.name_zh"), required=True),
            "min_score": st.column_config.NumberColumn(
                t("settings.min_score"), min_value=0, max_value=99.99, required=True
            ),
        },
    )
    st.markdown(f"**{t('settings.weights_title')}**")
    cols = st.columns(len(FACTORS))
    weights = {
        f: col.number_input(
            t(f"settings.factor.{f}"),
            min_value=0.0,
            max_value=1.0,
            value=float(current.weights[f]),
            step=0.05,
            key=f"_w_wt_{f}",
        )
        for f, col in zip(FACTORS, cols, strict=True)
    }
    if st.button(t("settings.save"), type="primary", key="save_tiering"):
        try:
            version = cached.save_tiering(ctx.scope, _from_editor(edited, weights))
        except ValidationError as exc:
            for _field, code in exc.problems:
                st.error(t(f"settings.error.{code}"))
        except NotPermitted:
            st.error(t("form.not_permitted"))
        else:
            st.session_state[FLASH] = t("settings.saved", version=version)
            st.rerun()
    _render_lifecycle_rules(data, ctx)
    st.subheader(t("settings.apply_title"))
    st.caption(t("settings.apply_note"))
    left, right = st.columns(2)
    if left.button(t("settings.recompute"), key="recompute"):
        _run_refresh()
    if right.button(t("settings.apply"), key="apply_tiers"):
        moved = cached.apply_tiers(ctx.scope)
        st.session_state[FLASH] = t("settings.applied", n=fmt_int(moved))
        st.rerun()
    if data["history"]:
        with st.expander(t("settings.history", n=len(data["history"]))):
            rows = [
                {
                    "version": h["version"],
                    "saved": h["created_at"],
                    "tiers": " < ".join(
                        f"{x['code']} ≥ {x['min_score']:g}" for x in h["value"]["tiers"]
                    ),
                }
                for h in data["history"]
            ]
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

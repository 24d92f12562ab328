"""Admin settings: tiers and weights, lifecycle stage rules, alert rules and playbooks."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.alerts import RULES, AlertRules
from analytics.health import COMPONENTS
from analytics.lifecycle import LifecycleRules
from analytics.playbooks import KINDS, PRIORITIES, Playbook, PlaybookStep
from analytics.tiering import FACTORS, TieringSettings, TierSpec
from components import cards
from components.i18n import current_language, fmt_int, label, t
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


def run_refresh(ctx) -> None:
    """Run the refresh job here for an admin, with its progress shown."""
    with st.status(t("settings.refreshing"), expanded=True) as status:
        bar = st.progress(0.0)

        def progress(message: str, fraction: float) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        result = cached.run_refresh_now(ctx.scope, progress)
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


def _weight_inputs(
    names: tuple[str, ...], current: dict[str, float], label_group: str, key: str
) -> dict[str, float]:
    """One 0–1 weight input per name, side by side."""
    cols = st.columns(len(names))
    return {
        n: col.number_input(
            t(f"{label_group}.{n}"),
            min_value=0.0,
            max_value=1.0,
            value=float(current[n]),
            step=0.05,
            key=f"{key}_{n}",
        )
        for n, col in zip(names, cols, strict=True)
    }


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
    weights = _weight_inputs(FACTORS, current.weights, "settings.factor", "_w_wt")
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
    _render_health_settings(ctx)
    _render_lifecycle_rules(data, ctx)
    info = cached.load_intervention_settings(ctx.data_version)
    _render_alert_rules(info, ctx)
    _render_playbooks(info, ctx)
    _render_satisfaction_settings(ctx)
    st.subheader(t("settings.apply_title"))
    st.caption(t("settings.apply_note"))
    left, right = st.columns(2)
    if left.button(t("settings.recompute"), key="recompute"):
        run_refresh(ctx)
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
            cards.render_table(pd.DataFrame(rows), "strata-tier-settings-history")


def _show_problems(problems: list[tuple[str, str]], group: str) -> None:
    for field, code in problems:
        st.error(
            t("form.problem", field=t(f"settings.{group}.{field}"), problem=t(f"form.error.{code}"))
        )


def _render_alert_rules(info: dict, ctx) -> None:
    rules: AlertRules = info["alert_rules"]
    lang = current_language()
    st.subheader(t("settings.alerts_title"))
    st.caption(t("settings.alerts_note", version=info["alert_rules_version"]))
    enabled = st.multiselect(
        t("settings.alert.enabled"),
        list(RULES),
        default=list(rules.enabled),
        format_func=lambda r: label("rule", r, lang),
        key="_w_al_enabled",
    )
    a, b, c, d = st.columns(4)
    values = {
        "health_drop_points": a.number_input(
            t("settings.alert.health_drop_points"),
            1.0,
            100.0,
            rules.health_drop_points,
            key="_w_al_hp",
        ),
        "health_drop_months": b.number_input(
            t("settings.alert.health_drop_months"), 1, 12, rules.health_drop_months, key="_w_al_hm"
        ),
        "detractor_days": c.number_input(
            t("settings.alert.detractor_days"), 1, 365, rules.detractor_days, key="_w_al_dd"
        ),
        "revenue_drop_pct": d.number_input(
            t("settings.alert.revenue_drop_pct"),
            1.0,
            100.0,
            rules.revenue_drop_pct,
            key="_w_al_rp",
        ),
    }
    a, b, c, d = st.columns(4)
    values["sponsor_change_days"] = a.number_input(
        t("settings.alert.sponsor_change_days"), 1, 365, rules.sponsor_change_days, key="_w_al_sd"
    )
    values["contact_grace_days"] = b.number_input(
        t("settings.alert.contact_grace_days"), 0, 365, rules.contact_grace_days, key="_w_al_cg"
    )
    values["due_days"] = c.number_input(
        t("settings.alert.due_days"), 1, 90, rules.due_days, key="_w_al_due"
    )
    norms = {}
    cols = st.columns(len(rules.contact_norm_days))
    for col, (tier, days) in zip(cols, rules.contact_norm_days.items(), strict=True):
        norms[tier] = int(
            col.number_input(
                t("settings.alert.norm_for", tier=label("tier", tier, lang)),
                1,
                730,
                int(days),
                key=f"_w_al_norm_{tier}",
            )
        )
    new = AlertRules(enabled=tuple(enabled), contact_norm_days=norms, **values)
    if st.button(t("settings.save_alerts"), key="save_alerts"):
        try:
            version = cached.save_alert_rules(ctx.scope, new)
        except ValidationError as exc:
            _show_problems(exc.problems, "alert")
        else:
            st.session_state[FLASH] = t("settings.saved", version=version)
            st.rerun()


PLAYBOOK_COLUMNS = [
    "code",
    "name_en",
    "name_zh",
    "kind",
    "title_en",
    "title_zh",
    "offset_days",
    "priority",
]


def _playbook_frame(playbooks: tuple[Playbook, ...]) -> pd.DataFrame:
    rows = [
        {
            "code": p.code,
            "name_en": p.name_en,
            "name_zh": p.name_zh,
            "kind": s.kind,
            "title_en": s.title_en,
            "title_zh": s.title_zh,
            "offset_days": s.offset_days,
            "priority": s.priority,
        }
        for p in playbooks
        for s in p.steps
    ]
    return pd.DataFrame(rows, columns=PLAYBOOK_COLUMNS)


def _playbooks_from(frame: pd.DataFrame) -> tuple[Playbook, ...]:
    rows = frame.dropna(how="all").fillna(
        {c: "" for c in PLAYBOOK_COLUMNS if c != "offset_days"} | {"offset_days": -1}
    )
    out = []
    for code, steps in rows.groupby("code", sort=False):
        first = steps.iloc[0]
        out.append(
            Playbook(
                str(code).strip(),
                str(first["name_en"]).strip(),
                str(first["name_zh"]).strip(),
                tuple(
                    PlaybookStep(
                        str(s.kind),
                        str(s.title_en).strip(),
                        str(s.title_zh).strip(),
                        int(s.offset_days),
                        "account_owner",
                        str(s.priority),
                    )
                    for s in steps.sort_values("offset_days").itertuples()
                ),
            )
        )
    return tuple(out)


def _render_playbooks(info: dict, ctx) -> None:
    lang = current_language()
    st.subheader(t("settings.playbooks_title"))
    st.caption(t("settings.playbooks_note", version=info["playbooks_version"]))
    edited = st.data_editor(
        _playbook_frame(info["playbooks"]),
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        key="_w_pb_editor",
        column_config={
            "code": st.column_config.TextColumn(t("settings.pb.code"), required=True, max_chars=40),
            "name_en": st.column_config.TextColumn(t("settings.name_en"), required=True),
            "name_zh": st.column_config.TextColumn(t("settings.name_zh"), required=True),
            "kind": st.column_config.SelectboxColumn(
                t("form.field.kind"),
                options=list(KINDS),
                format_func=lambda k: label("intervention", k, lang),
                required=True,
            ),
            "title_en": st.column_config.TextColumn(t("settings.pb.title_en"), required=True),
            "title_zh": st.column_config.TextColumn(t("settings.pb.title_zh"), required=True),
            "offset_days": st.column_config.NumberColumn(
                t("settings.pb.offset_days"), min_value=0, max_value=365, step=1, required=True
            ),
            "priority": st.column_config.SelectboxColumn(
                t("form.field.priority"),
                options=list(PRIORITIES),
                format_func=lambda p: label("priority", p, lang),
                required=True,
            ),
        },
    )
    if st.button(t("settings.save_playbooks"), key="save_playbooks"):
        try:
            version = cached.save_playbooks(ctx.scope, _playbooks_from(edited))
        except ValidationError as exc:
            _show_problems(exc.problems, "pb")
        else:
            st.session_state[FLASH] = t("settings.saved", version=version)
            st.rerun()


def _render_health_settings(ctx) -> None:
    version, current = cached.load_health_settings(ctx.data_version)
    st.subheader(t("settings.health_title"))
    st.caption(t("settings.health_note", version=version))
    weights = _weight_inputs(COMPONENTS, current.weights, "health", "_w_hw")
    a, b = st.columns(2)
    healthy = a.number_input(
        t("settings.healthy_from"), 0.0, 100.0, float(current.healthy_from), key="_w_hw_healthy"
    )
    watch = b.number_input(
        t("settings.watch_from"), 0.0, 100.0, float(current.watch_from), key="_w_hw_watch"
    )
    if st.button(t("settings.save_health"), key="save_health"):
        try:
            saved = cached.save_health_settings(ctx.scope, weights, healthy, watch)
        except ValidationError as exc:
            _show_problems(exc.problems, "health_set")
        else:
            st.session_state[FLASH] = t("settings.saved", version=saved)
            st.rerun()


def _render_satisfaction_settings(ctx) -> None:
    current = cached.load_satisfaction_settings(ctx.data_version)
    st.subheader(t("settings.sat_title"))
    st.caption(t("settings.sat_note", version=current["version"]))
    a, b = st.columns(2)
    min_n = a.number_input(
        t("settings.sat.min_n"), 5, 1000, int(current["min_n"]), key="_w_sat_min_n"
    )
    days = b.number_input(
        t("settings.sat.followup_days"), 1, 90, int(current["followup_days"]), key="_w_sat_days"
    )
    if st.button(t("settings.save_sat"), key="save_satisfaction"):
        try:
            version = cached.save_satisfaction_settings(ctx.scope, int(min_n), int(days))
        except ValidationError as exc:
            _show_problems(exc.problems, "sat")
        else:
            st.session_state[FLASH] = t("settings.saved", version=version)
            st.rerun()

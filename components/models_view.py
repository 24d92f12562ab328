"""Model validation lab: how well health and churn risk predicted churn that happened later."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.health import COMPONENTS
from components import cards, charts
from components.i18n import fmt_date, fmt_int, fmt_month, fmt_number, fmt_pct, t

SCORES = ("expert", "fitted", "risk")
COLORS = {"expert": "#aed6f1", "fitted": "#2e86c1", "risk": "#1f4e79"}


def _ratios(stats: dict) -> pd.DataFrame:
    return pd.DataFrame(
        stats["odds_ratios"], index=["odds_ratio", "ci_low", "ci_high", "p_value"]
    ).T


def _render_weights(run: dict | None) -> None:
    st.subheader(t("models.weights_title"))
    if not run:
        st.info(t("lifecycle.no_model"))
        return
    s = run["stats"]
    ratios = _ratios(s)
    rows = []
    for c in COMPONENTS:
        r = ratios.loc[c] if c in ratios.index else None
        rows.append(
            {
                "component": t(f"health.{c}"),
                "expert": s["expert_weights"][c],
                "fitted": s["weights"][c],
                "or": (
                    t(
                        "models.or_ci",
                        value=fmt_number(r["odds_ratio"], 3),
                        low=fmt_number(r["ci_low"], 3),
                        high=fmt_number(r["ci_high"], 3),
                    )
                    if r is not None
                    else "—"
                ),
            }
        )
    cards.render_table(
        pd.DataFrame(rows),
        "strata-models-weights",
        column_config={
            "component": t("models.component"),
            "expert": st.column_config.NumberColumn(t("models.expert_weight"), format="percent"),
            "fitted": st.column_config.NumberColumn(t("models.fitted_weight"), format="percent"),
            "or": t("models.or_per_10"),
        },
    )
    st.caption(
        t(
            "models.weights_note",
            months=run["params"]["horizon_months"],
            n=fmt_int(s["n_obs"]),
            events=fmt_int(s["n_events"]),
            date=fmt_date(run["as_of"]),
        )
    )


def _render_validation(run: dict | None) -> None:
    st.subheader(t("models.validation_title"))
    if not run:
        st.info(t("models.no_validation"))
        return
    s = run["stats"]
    eval_month = pd.Timestamp(s["eval_month"]).date()
    st.caption(
        t(
            "models.validation_note",
            month=fmt_month(eval_month),
            n=fmt_int(s["n"]),
            events=fmt_int(s["events"]),
        )
    )
    names = [t(f"models.score.{k}") for k in SCORES]
    auc = [s[f"auc_{k}"] for k in SCORES]
    left, right = st.columns(2)
    with left:
        fig = go.Figure(
            go.Bar(
                x=names,
                y=[a[0] for a in auc],
                marker_color=[COLORS[k] for k in SCORES],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [a[2] - a[0] for a in auc],
                    "arrayminus": [a[0] - a[1] for a in auc],
                },
                text=[fmt_number(a[0], 3) for a in auc],
                textposition="outside",
            )
        )
        fig.add_hline(y=0.5, line={"dash": "dot", "color": "#999"})
        fig.update_layout(yaxis={"range": [0.4, 1.0], "title": "AUC"}, showlegend=False)
        st.plotly_chart(
            charts.titled(fig, t("models.auc_title")), key="auc", config={"displayModeBar": False}
        )
        st.caption(
            " · ".join(
                t(
                    "models.auc_ci",
                    name=n,
                    auc=fmt_number(a[0], 3),
                    low=fmt_number(a[1], 3),
                    high=fmt_number(a[2], 3),
                )
                for n, a in zip(names, auc, strict=True)
            )
        )
    with right:
        cal = pd.DataFrame(s["calibration_risk"])
        fig = go.Figure()
        fig.add_scatter(
            x=[0, cal["predicted"].max()],
            y=[0, cal["predicted"].max()],
            mode="lines",
            line={"dash": "dot", "color": "#999"},
            showlegend=False,
        )
        fig.add_scatter(
            x=cal["predicted"],
            y=cal["observed"],
            mode="markers+lines",
            marker={"color": "#1f4e79"},
            showlegend=False,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": cal["ci_high"] - cal["observed"],
                "arrayminus": cal["observed"] - cal["ci_low"],
            },
        )
        fig.update_layout(
            xaxis={"title": t("models.predicted"), "tickformat": ".0%"},
            yaxis={"title": t("models.observed"), "tickformat": ".0%"},
        )
        st.plotly_chart(
            charts.titled(fig, t("models.calibration_title")),
            key="calibration",
            config={"displayModeBar": False},
        )
    fig = go.Figure()
    for k, name in zip(SCORES, names, strict=True):
        lift = pd.DataFrame(s[f"lift_{k}"])
        fig.add_bar(x=lift["decile"], y=lift["lift"], name=name, marker_color=COLORS[k])
    fig.add_hline(y=1, line={"dash": "dot", "color": "#999"})
    fig.update_layout(
        barmode="group",
        xaxis={"title": t("models.decile"), "dtick": 1},
        yaxis={"title": t("models.lift")},
    )
    st.plotly_chart(
        charts.titled(fig, t("models.lift_title")), key="lift", config={"displayModeBar": False}
    )
    risk_lift = pd.DataFrame(s["lift_risk"])
    top = risk_lift.iloc[0]
    st.caption(
        t(
            "models.lift_note",
            rate=fmt_pct(top["rate"]),
            low=fmt_pct(top["ci_low"]),
            high=fmt_pct(top["ci_high"]),
            lift=fmt_number(top["lift"], 1),
        )
    )


def _render_risk_model(run: dict | None) -> None:
    st.subheader(t("models.risk_title"))
    if not run:
        st.info(t("lifecycle.no_model"))
        return
    ratios = _ratios(run["stats"])
    table = pd.DataFrame(
        {
            "driver": [t(f"driver.{k}") for k in ratios.index],
            "or": ratios["odds_ratio"],
            "low": ratios["ci_low"],
            "high": ratios["ci_high"],
            "p": ratios["p_value"],
        }
    )
    cards.render_table(
        table,
        "strata-models-risk-model",
        column_config={
            "driver": t("models.driver"),
            "or": st.column_config.NumberColumn(t("lifecycle.odds_ratio"), format="%.3g"),
            "low": st.column_config.NumberColumn(t("models.ci_low"), format="%.3g"),
            "high": st.column_config.NumberColumn(t("models.ci_high"), format="%.3g"),
            "p": st.column_config.NumberColumn("p", format="%.3g"),
        },
    )
    st.caption(
        t(
            "models.risk_note",
            n=fmt_int(run["stats"]["n_obs"]),
            events=fmt_int(run["stats"]["n_events"]),
        )
    )


def render_models(runs: dict) -> None:
    """Render the model validation lab from the newest model runs."""
    st.title(t("models.title"))
    st.caption(t("models.subtitle"))
    _render_validation(runs.get("validation"))
    left, right = st.columns(2)
    with left:
        _render_weights(runs.get("health_fitted"))
    with right:
        _render_risk_model(runs.get("churn_risk"))

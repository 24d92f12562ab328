"""Lifecycle & retention: stages over time, transitions, time in stage, retention, drivers, risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components import cards, charts
from components.i18n import (
    current_language,
    fmt_date,
    fmt_int,
    fmt_money,
    fmt_month,
    fmt_number,
    fmt_pct,
    label,
    t,
)

STAGE_COLORS = {
    "onboarding": "#aed6f1",
    "growth": "#2e86c1",
    "mature": "#1f4e79",
    "at_risk": "#c0392b",
    "won_back": "#27ae60",
    "churned": "#7f8c8d",
    "not_yet": "#d5d8dc",
}
GROUP_COLORS = ["#1f4e79", "#2e86c1", "#aed6f1", "#c0392b"]


def _stage_label(code: str) -> str:
    return t("lifecycle.not_yet") if code == "not_yet" else label("stage", code)


def sankey_figure(flows: pd.DataFrame, name: callable, title: str) -> go.Figure:
    """Flows from the period-start state (left) to the period-end state (right)."""
    left = sorted(flows["from_stage"].unique())
    right = sorted(flows["to_stage"].unique())
    labels = [name(x) for x in left] + [name(x) for x in right]
    index_left = {x: i for i, x in enumerate(left)}
    index_right = {x: len(left) + i for i, x in enumerate(right)}
    fig = go.Figure(
        go.Sankey(
            node={
                "label": labels,
                "pad": 14,
                "thickness": 14,
                "color": [STAGE_COLORS.get(x, "#2e86c1") for x in left + right],
            },
            link={
                "source": [index_left[x] for x in flows["from_stage"]],
                "target": [index_right[x] for x in flows["to_stage"]],
                "value": flows["n"].tolist(),
            },
        )
    )
    return charts.titled(fig, title, height=360)


def retention_figure(
    curves: pd.DataFrame, name: callable, title: str, x_title: str, y_title: str
) -> go.Figure:
    """Kaplan–Meier steps with shaded 95% bands per group."""
    fig = go.Figure()
    for k, (group, steps) in enumerate(curves.groupby("group", sort=True)):
        g = _on_grid(steps)
        color = GROUP_COLORS[k % len(GROUP_COLORS)]
        fig.add_scatter(
            x=g["month"],
            y=g["ci_high"],
            mode="lines",
            line={"width": 0},
            line_shape="hv",
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=g["month"],
            y=g["ci_low"],
            mode="lines",
            line={"width": 0},
            line_shape="hv",
            fill="tonexty",
            fillcolor=_rgba(color, 0.18),
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=g["month"],
            y=g["retention"],
            mode="lines",
            line_shape="hv",
            line={"color": color, "width": 2.5},
            name=name(group),
            hovertemplate=f"{name(group)}: %{{y:.1%}} @ %{{x:.0f}}<extra></extra>",
        )
    fig.update_layout(
        xaxis={"title": x_title}, yaxis={"title": y_title, "tickformat": ".0%", "range": [0, 1.02]}
    )
    return charts.titled(fig, title, height=360)


def _on_grid(steps: pd.DataFrame, step: float = 0.5) -> pd.DataFrame:
    """A step curve read every ``step`` months: what a chart can show of it.

    Kaplan–Meier curves step at every distinct event time; at 100,000 accounts that is
    thousands of points per group (over 500 KB sent for one chart). Each grid point
    takes the curve's value at or before it, so the drawn steps stay the same at the
    chart's resolution.
    """
    steps = steps.sort_values("month")
    months = steps["month"].to_numpy(dtype=float)
    if len(months) <= 2 * (months[-1] - months[0]) / step + 2:
        return steps
    grid = np.arange(months[0], months[-1] + step, step)
    at = np.searchsorted(months, grid, side="right") - 1
    return steps.iloc[at].assign(month=np.minimum(grid, months[-1]))


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def forest_figure(table: pd.DataFrame, names: list[str], title: str, x_title: str) -> go.Figure:
    """Odds ratios with 95% intervals on a log axis; 1 marks no effect."""
    fig = go.Figure(
        go.Scatter(
            x=table["odds_ratio"],
            y=names,
            mode="markers",
            marker={"size": 10, "color": "#1f4e79"},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": table["ci_high"] - table["odds_ratio"],
                "arrayminus": table["odds_ratio"] - table["ci_low"],
            },
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.add_vline(x=1, line={"dash": "dot", "color": "#999"})
    fig.update_xaxes(type="log", title=x_title)
    fig.update_yaxes(autorange="reversed")
    return charts.titled(fig, title, height=80 + 45 * len(names))


def _render_retention(block, by: str, name: callable) -> None:
    if block.curves.empty:
        st.info(t("common.no_data"))
        return
    st.plotly_chart(
        retention_figure(
            block.curves,
            name,
            t(f"lifecycle.km_title_{by}"),
            t("lifecycle.tenure_months"),
            t("lifecycle.retention"),
        ),
        key=f"km_{by}",
        config={"displayModeBar": False},
    )
    counts = " · ".join(
        t("lifecycle.group_n", group=name(g), n=fmt_int(n), events=fmt_int(block.events[g]))
        for g, n in block.n.items()
    )
    st.caption(counts)
    if block.p_value is not None:
        p = "< 0.001" if block.p_value < 0.001 else fmt_number(block.p_value, 3)
        st.caption(
            t(
                "lifecycle.logrank",
                chi2=fmt_number(block.chi2, 1),
                p=p,
                df=fmt_int(len(block.n) - 1),
            )
        )


def _render_flows(d, flows: pd.DataFrame, name: callable, title_key: str, key: str) -> None:
    """A Sankey of transitions over the period, with its count."""
    title = t(title_key, start=fmt_month(d.period_start), end=fmt_month(d.period_end))
    st.plotly_chart(sankey_figure(flows, name, title), key=key, config={"displayModeBar": False})
    st.caption(t("lifecycle.flow_note", n=fmt_int(int(flows["n"].sum()))))


def render_lifecycle(d, ctx) -> None:
    """Render the lifecycle & retention page."""
    lang = current_language()
    st.title(t("lifecycle.title"))
    st.caption(
        t(
            "lifecycle.subtitle",
            start=fmt_month(d.period_start),
            end=fmt_month(d.period_end),
            n=fmt_int(d.n_accounts),
        )
    )
    dist = d.distribution
    if dist.empty:
        st.info(t("common.no_data"))
        return
    fig = go.Figure()
    for stage in [
        s for s in ("onboarding", "growth", "mature", "at_risk", "won_back") if s in dist.columns
    ]:
        fig.add_scatter(
            x=dist.index,
            y=dist[stage],
            stackgroup="one",
            mode="lines",
            name=_stage_label(stage),
            line={"color": STAGE_COLORS[stage]},
        )
    fig.update_layout(xaxis={"tickformat": "%Y-%m"}, yaxis={"title": t("overview.accounts")})
    st.plotly_chart(
        charts.titled(fig, t("lifecycle.distribution_title")),
        key="stage_dist",
        config={"displayModeBar": False},
    )

    left, right = st.columns(2)
    with left:
        _render_flows(d, d.stage_flows, _stage_label, "lifecycle.stage_flow_title", "stage_sankey")
    with right:

        def tier_name(c: str) -> str:
            return t("lifecycle.not_yet") if c == "not_yet" else label("tier", c, lang)

        _render_flows(d, d.tier_flows, tier_name, "lifecycle.tier_flow_title", "tier_sankey")

    st.subheader(t("lifecycle.time_in_stage_title"))
    tis = d.time_in_stage.assign(stage=d.time_in_stage["stage"].map(_stage_label))
    cards.render_table(
        tis,
        "strata-time-in-stage",
        column_config={
            "stage": t("col.stage"),
            "n": st.column_config.NumberColumn(t("col.accounts"), format="%d"),
            "p25": st.column_config.NumberColumn(t("lifecycle.p25"), format="%.0f"),
            "median": st.column_config.NumberColumn(t("lifecycle.median"), format="%.0f"),
            "p75": st.column_config.NumberColumn(t("lifecycle.p75"), format="%.0f"),
            "p90": st.column_config.NumberColumn(t("lifecycle.p90"), format="%.0f"),
        },
    )
    st.caption(t("lifecycle.time_note", date=fmt_date(d.period_end)))
    if len(d.stuck):
        with st.expander(t("lifecycle.stuck_title", n=fmt_int(len(d.stuck)))):
            stuck = d.stuck.assign(
                link=cards.profile_links(d.stuck["code"]), stage=d.stuck["stage"].map(_stage_label)
            )
            cards.render_table(
                stuck[["link", "name", "stage", "days", "p90"]],
                "strata-beyond-p90-in-stage",
                column_config={
                    "link": cards.profile_link_column(),
                    "name": t("col.name"),
                    "stage": t("col.stage"),
                    "days": st.column_config.NumberColumn(t("lifecycle.days"), format="%d"),
                    "p90": st.column_config.NumberColumn(t("lifecycle.p90"), format="%.0f"),
                },
            )

    st.subheader(t("lifecycle.retention_title"))
    left, right = st.columns(2)
    with left:
        _render_retention(d.by_tier, "tier", lambda c: label("tier", c, lang))
    with right:
        _render_retention(d.by_depth, "depth", lambda c: t("lifecycle.depth_band", band=c))
    st.caption(t("lifecycle.km_note"))

    left, right = st.columns(2)
    with left:
        st.subheader(t("lifecycle.drivers_title"))
        _render_drivers(d.drivers)
    with right:
        st.subheader(t("lifecycle.at_risk_title"))
        _render_at_risk(d.at_risk, d.period_end)


def _render_drivers(run: dict | None) -> None:
    if not run:
        st.info(t("lifecycle.no_model"))
        return
    stats = run["stats"]
    table = pd.DataFrame(
        stats["odds_ratios"], index=["odds_ratio", "ci_low", "ci_high", "p_value"]
    ).T
    names = [t(f"driver.{k}") for k in table.index]
    st.plotly_chart(
        forest_figure(table, names, t("lifecycle.forest_title"), t("lifecycle.odds_ratio")),
        key="forest",
        config={"displayModeBar": False},
    )
    st.caption(
        t(
            "lifecycle.drivers_note",
            n=fmt_int(stats["n_obs"]),
            events=fmt_int(stats["n_events"]),
            accounts=fmt_int(stats["n_accounts"]),
            date=fmt_date(run["as_of"]),
        )
    )


def _render_at_risk(df: pd.DataFrame, period_end) -> None:
    if df.empty:
        st.info(t("lifecycle.no_model"))
        return
    table = df.assign(
        risk_ci=[
            f"{fmt_pct(lo, 0)} – {fmt_pct(hi, 0)}"
            for lo, hi in zip(df["churn_risk_low"], df["churn_risk_high"], strict=True)
        ],
        link=cards.profile_links(df["code"]),
        tier=df["tier"].map(lambda c: label("tier", c)),
    )
    cards.render_table(
        table[
            ["link", "name", "tier", "churn_risk", "risk_ci", "revenue_12m", "revenue_at_risk"]
        ].round({"revenue_12m": 0, "revenue_at_risk": 0}),
        "strata-lifecycle-at-risk",
        column_config={
            "link": cards.profile_link_column(),
            "name": t("col.name"),
            "tier": t("col.tier"),
            "churn_risk": st.column_config.ProgressColumn(
                t("lifecycle.churn_risk"), format="percent", min_value=0, max_value=1
            ),
            "risk_ci": t("lifecycle.risk_ci"),
            "revenue_12m": st.column_config.NumberColumn(t("col.revenue_12m"), format="localized"),
            "revenue_at_risk": st.column_config.NumberColumn(
                t("lifecycle.expected_loss"), format="localized"
            ),
        },
    )
    st.caption(
        t(
            "lifecycle.at_risk_note",
            total=fmt_money(df.attrs.get("total_expected")),
            n=fmt_int(df.attrs.get("n_scored")),
            date=fmt_date(period_end),
        )
    )

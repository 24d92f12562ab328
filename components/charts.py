"""Plotly figure builders: data and translated labels in, ``go.Figure`` out, no Streamlit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import plotly.graph_objects as go

TIER_COLORS = {"strategic": "#1f4e79", "value": "#2e86c1", "basic": "#aed6f1"}
BAND_COLORS = {
    "healthy": "#27ae60",
    "watch": "#f39c12",
    "at_risk": "#c0392b",
    "unscored": "#bdc3c7",
}
GAIN, LOSS = "#27ae60", "#c0392b"
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"


def _layout(fig: go.Figure, title: str, height: int = 340) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}},
        height=height,
        margin={"l": 10, "r": 10, "t": 48, "b": 10},
        font={"family": FONT},
        # Below the x-axis title, so the two never overlap.
        legend={"orientation": "h", "y": -0.28, "yanchor": "top"},
    )
    return fig


def tier_mix_figure(
    mix: pd.DataFrame,
    tier_label: Callable[[str], str],
    title: str,
    accounts_label: str,
    revenue_label: str,
) -> go.Figure:
    """Share of accounts and of revenue per tier, as two stacked 100% bars."""
    fig = go.Figure()
    for row in mix.itertuples():
        fig.add_bar(
            name=tier_label(row.tier),
            y=[accounts_label, revenue_label],
            x=[row.account_share, row.revenue_share],
            orientation="h",
            marker_color=TIER_COLORS.get(row.tier),
            text=[f"{row.account_share:.0%}", f"{row.revenue_share:.0%}"],
            textposition="inside",
            customdata=[[row.accounts], [row.revenue]],
            hovertemplate="%{y}: %{x:.1%}<extra>%{fullData.name}</extra>",
        )
    fig.update_layout(barmode="stack", xaxis={"tickformat": ".0%", "range": [0, 1]})
    return _layout(fig, title, height=260)


def tier_health_figure(
    matrix: pd.DataFrame,
    tier_label: Callable[[str], str],
    band_label: Callable[[str], str],
    title: str,
    hover: str,
) -> go.Figure:
    """Heatmap of active accounts by tier (rows) and health band (columns), counts shown."""
    z = matrix.to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[band_label(c) for c in matrix.columns],
            y=[tier_label(r) for r in matrix.index],
            text=z,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate=hover + "<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=300)


def pareto_figure(
    pareto: pd.DataFrame, title: str, x_title: str, y_title: str, marker_text: str | None
) -> go.Figure:
    """Cumulative revenue share against account share, with the 20% mark."""
    fig = go.Figure()
    fig.add_scatter(
        x=pareto["account_share"],
        y=pareto["revenue_share"],
        mode="lines",
        line={"color": "#1f4e79", "width": 3},
        fill="tozeroy",
        fillcolor="rgba(46,134,193,0.15)",
        hovertemplate="%{x:.0%} → %{y:.1%}<extra></extra>",
        name=y_title,
    )
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        line={"dash": "dot", "color": "#999"},
        hoverinfo="skip",
        showlegend=False,
    )
    if marker_text:
        y20 = float(
            pd.Series(pareto["revenue_share"]).iloc[(pareto["account_share"] - 0.2).abs().argmin()]
        )
        fig.add_annotation(
            x=0.2, y=y20, text=marker_text, showarrow=True, arrowhead=2, ax=60, ay=30
        )
    fig.update_layout(
        showlegend=False,
        xaxis={"tickformat": ".0%", "title": x_title},
        yaxis={"tickformat": ".0%", "title": y_title, "range": [0, 1.02]},
    )
    return _layout(fig, title)


def bar_figure(
    categories: Sequence[str],
    values: Sequence[float],
    title: str,
    value_title: str,
    colors: Sequence[str] | str = "#2e86c1",
    text: Sequence[str] | None = None,
) -> go.Figure:
    """A plain vertical bar chart."""
    fig = go.Figure(
        go.Bar(
            x=list(categories),
            y=list(values),
            marker_color=colors,
            text=list(text) if text is not None else None,
            textposition="outside",
            hovertemplate="%{x}: %{y:,}<extra></extra>",
        )
    )
    fig.update_layout(yaxis={"title": value_title}, showlegend=False)
    return _layout(fig, title)


def movers_figure(
    names: Sequence[str],
    changes: Sequence[float],
    text: Sequence[str],
    title: str,
    change_title: str,
) -> go.Figure:
    """Horizontal bars of revenue change: gains green, losses red."""
    fig = go.Figure(
        go.Bar(
            y=list(names),
            x=list(changes),
            orientation="h",
            marker_color=[GAIN if c >= 0 else LOSS for c in changes],
            text=list(text),
            textposition="auto",
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(xaxis={"title": change_title}, showlegend=False)
    return _layout(fig, title, height=max(320, 26 * len(names) + 80))


def revenue_trend_figure(
    months: Sequence,
    revenue: Sequence[float],
    month_labels: Sequence[str],
    text: Sequence[str],
    title: str,
    value_title: str,
) -> go.Figure:
    """Monthly revenue over time."""
    fig = go.Figure(
        go.Scatter(
            x=list(months),
            y=list(revenue),
            mode="lines+markers",
            line={"color": "#1f4e79"},
            customdata=list(zip(month_labels, text, strict=True)),
            hovertemplate="%{customdata[0]}: %{customdata[1]}<extra></extra>",
        )
    )
    # Start at zero so the slope is not exaggerated.
    # Month names come from the caller (Babel), not Plotly, so they follow the language.
    ticks = list(range(0, len(months), 3))
    fig.update_layout(
        yaxis={"title": value_title, "rangemode": "tozero"},
        xaxis={
            "tickvals": [list(months)[i] for i in ticks],
            "ticktext": [list(month_labels)[i] for i in ticks],
        },
        showlegend=False,
    )
    return _layout(fig, title, height=300)


def titled(fig: go.Figure, title: str, height: int = 340) -> go.Figure:
    """Apply the house layout and a title to a figure built elsewhere."""
    return _layout(fig, title, height=height)

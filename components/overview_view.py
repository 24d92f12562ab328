"""The portfolio overview: KPI cards and charts for the data a loader returned."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.periods import add_months
from components import cards, charts
from components.i18n import (
    fmt_int,
    fmt_money,
    fmt_month,
    fmt_number,
    fmt_pct,
    label,
    money_unit,
    t,
)


def _kpi_specs(data, ctx) -> list[cards.KpiSpec]:
    k = data.kpis
    nps = k.nps
    period = t("overview.period", start=fmt_month(k.period_start), end=fmt_month(k.period_end))
    if nps.sufficient:
        nps_value = fmt_number(nps.nps, 1)
        nps_caption = t(
            "overview.nps_ci",
            low=fmt_number(nps.ci_low, 1),
            high=fmt_number(nps.ci_high, 1),
            n=fmt_int(nps.n),
        )
    else:
        nps_value = t("common.insufficient")
        nps_caption = t("overview.nps_insufficient", n=fmt_int(nps.n))
    churn_caption = (
        t(
            "overview.churn_ci",
            low=fmt_pct(k.churn_ci[0]),
            high=fmt_pct(k.churn_ci[1]),
            churned=fmt_int(k.churned_12m),
            base=fmt_int(k.churn_base),
        )
        if k.churn_ci
        else None
    )
    return [
        cards.KpiSpec(
            t("kpi.active_accounts"),
            fmt_int(k.active_accounts),
            help=t("kpi.active_accounts_help"),
            caption=t("overview.at_end", day=fmt_month(k.period_end)),
        ),
        cards.KpiSpec(
            t("kpi.revenue_12m"),
            fmt_money(k.revenue_12m),
            delta=(
                t("kpi.yoy", value=fmt_pct(k.revenue_yoy, signed=True))
                if k.revenue_yoy is not None
                else None
            ),
            help=t("kpi.revenue_12m_help"),
            caption=period,
        ),
        cards.KpiSpec(
            t("kpi.nrr"),
            fmt_pct(k.nrr),
            help=t("kpi.nrr_help"),
            caption=period,
        ),
        cards.KpiSpec(t("kpi.grr"), fmt_pct(k.grr), help=t("kpi.grr_help"), caption=period),
        cards.KpiSpec(
            t("kpi.churn_rate"),
            fmt_pct(k.churn_rate),
            help=t("kpi.churn_help"),
            caption=churn_caption,
        ),
        cards.KpiSpec(t("kpi.nps"), nps_value, help=t("kpi.nps_help"), caption=nps_caption),
        cards.KpiSpec(
            t("kpi.revenue_at_risk"),
            fmt_money(k.revenue_at_risk),
            help=t("kpi.revenue_at_risk_help"),
            caption=t("kpi.accounts_at_risk", n=fmt_int(k.accounts_at_risk)),
        ),
        cards.KpiSpec(
            t("kpi.top20"), fmt_pct(data.top20_share), help=t("kpi.top20_help"), caption=period
        ),
    ]


def _render_movers(data) -> None:
    movers = data.movers
    if movers.empty:
        st.info(t("common.no_data"))
        return
    divisor, unit = money_unit(movers["change"].abs().max())
    fig = charts.movers_figure(
        names=[f"{r.name}" for r in movers.itertuples()],
        changes=(movers["change"] / divisor).tolist(),
        text=[fmt_money(c) for c in movers["change"]],
        title=t("overview.movers_title"),
        change_title=t("overview.change_12m", unit=unit),
    )
    st.plotly_chart(fig, key="movers", config={"displayModeBar": False})
    table = movers.round({"revenue_prev_12m": 0, "revenue_12m": 0, "change": 0}).assign(
        link=cards.profile_links(movers["code"]),
        tier=movers["tier"].map(lambda c: label("tier", c)),
    )[["link", "name", "tier", "revenue_prev_12m", "revenue_12m", "change"]]
    cards.render_table(
        table,
        "strata-overview-movers",
        column_config={
            "link": cards.profile_link_column(),
            "name": t("col.name"),
            "tier": t("col.tier"),
            "revenue_prev_12m": st.column_config.NumberColumn(
                t("col.revenue_prev_12m"), format="localized"
            ),
            "revenue_12m": st.column_config.NumberColumn(t("col.revenue_12m"), format="localized"),
            "change": st.column_config.NumberColumn(t("col.change"), format="localized"),
        },
    )


def _render_matrix_links(matrix) -> None:
    """Each cell of the tier x health matrix as a link to the accounts behind it."""
    bands = [b for b in matrix.columns if b != "unscored"]
    table = pd.DataFrame(
        {
            "tier": [label("tier", tier) for tier in matrix.index],
            **{
                band: [
                    f"/accounts?tier={tier}&band={band}&n={int(matrix.loc[tier, band])}"
                    for tier in matrix.index
                ]
                for band in bands
            },
        }
    )
    cards.render_table(
        table,
        "strata-overview-matrix-links",
        column_config={
            "tier": t("overview.matrix_links"),
            **{
                b: st.column_config.LinkColumn(label("band", b), display_text=r"n=(\d+)$")
                for b in bands
            },
        },
    )


def render_overview(data, ctx) -> None:
    """Render the whole overview for one loader result and page context."""
    k = data.kpis
    title = t("overview.title_team") if ctx.scope.is_team_bound else t("overview.title")
    st.title(title)
    st.caption(
        t(
            "overview.subtitle",
            start=fmt_month(k.period_start),
            end=fmt_month(k.period_end),
            n=fmt_int(data.accounts_in_view),
        )
    )
    if data.accounts_in_view == 0:
        st.warning(t("overview.empty"))
        return
    cards.render_kpi_row(_kpi_specs(data, ctx))
    if k.unscored_accounts:
        st.caption(t("overview.unscored", n=fmt_int(k.unscored_accounts)))

    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            charts.tier_mix_figure(
                data.tier_mix,
                lambda c: label("tier", c),
                t("overview.tier_mix_title"),
                t("overview.accounts"),
                t("overview.revenue"),
            ),
            key="tier_mix",
            config={"displayModeBar": False},
        )
        mix = data.tier_mix.assign(
            tier=data.tier_mix["tier"].map(lambda c: label("tier", c)),
            revenue=data.tier_mix["revenue"].round(0),
        )
        cards.render_table(
            mix[["tier", "accounts", "revenue", "revenue_share"]],
            "strata-tier-mix",
            column_config={
                "tier": t("col.tier"),
                "accounts": st.column_config.NumberColumn(t("col.accounts"), format="localized"),
                "revenue": st.column_config.NumberColumn(t("col.revenue_12m"), format="localized"),
                "revenue_share": st.column_config.NumberColumn(
                    t("col.revenue_share"), format="percent"
                ),
            },
        )
    with right:
        st.plotly_chart(
            charts.tier_health_figure(
                data.tier_health,
                lambda c: label("tier", c),
                lambda c: label("band", c),
                t("overview.matrix_title"),
                t("overview.matrix_hover"),
            ),
            key="tier_health",
            config={"displayModeBar": False},
        )
        st.caption(t("overview.matrix_note"))
        _render_matrix_links(data.tier_health)

    left, right = st.columns(2)
    with left:
        marker = (
            t("overview.pareto_marker", share=fmt_pct(data.top20_share, 0))
            if data.top20_share is not None
            else None
        )
        st.plotly_chart(
            charts.pareto_figure(
                data.pareto,
                t("overview.pareto_title"),
                t("overview.pareto_x"),
                t("overview.pareto_y"),
                marker,
            ),
            key="pareto",
            config={"displayModeBar": False},
        )
    with right:
        stages = data.stages
        st.plotly_chart(
            charts.bar_figure(
                [label("stage", s) for s in stages["stage"]],
                stages["accounts"].tolist(),
                t("overview.stages_title"),
                t("overview.accounts"),
                text=[fmt_int(v) for v in stages["accounts"]],
            ),
            key="stages",
            config={"displayModeBar": False},
        )

    left, right = st.columns(2)
    with left:
        _render_movers(data)
    with right:
        monthly = data.monthly_revenue
        divisor, unit = money_unit(monthly["revenue"].max() if len(monthly) else 0)
        st.plotly_chart(
            charts.revenue_trend_figure(
                monthly["month"].tolist(),
                (monthly["revenue"] / divisor).tolist(),
                [fmt_month(m.date()) for m in monthly["month"]],
                [fmt_money(v) for v in monthly["revenue"]],
                t(
                    "overview.trend_title",
                    start=fmt_month(add_months(k.period_end, -23)),
                    end=fmt_month(k.period_end),
                ),
                t("overview.revenue_month", unit=unit),
            ),
            key="trend",
            config={"displayModeBar": False},
        )

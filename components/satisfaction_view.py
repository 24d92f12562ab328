"""Satisfaction: NPS / CSAT / CES trends with intervals, drops, aggregation, comments, loop."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics import satisfaction as sa
from analytics.periods import add_months, month_end
from components import cards, charts
from components.i18n import (
    current_language,
    fmt_date,
    fmt_int,
    fmt_month,
    fmt_number,
    fmt_pct,
    label,
    t,
)
from data_access import cached
from data_access.satisfaction import CommentQuery
from data_access.writes import NotPermitted

SEGMENTS = ("none", "tier", "region", "industry", "team_id", "product")
COLORS = ["#1f4e79", "#2e86c1", "#27ae60", "#f39c12", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d"]
FLASH = "satisfaction_flash"


def _fmt(value: float | None, survey: str) -> str:
    if value is None or pd.isna(value):
        return "—"
    if survey == "csat":
        return f"{fmt_number(value, 1)}%"
    return fmt_number(value, 2 if survey == "ces" else 1)


def _segment_name(dim: str, code: object, data, lang: str) -> str:
    if dim == "team_id":
        names = data.teams.get(int(code))
        return (names[1] if lang == "zh" else names[0]) if names else str(code)
    if dim == "product":
        names = data.product_names.get(code)
        return (names[1] if lang == "zh" else names[0]) if names else str(code)
    if dim in ("tier", "region", "industry"):
        return label(dim, code, lang)
    return t("sat.portfolio", lang=lang)


def _period_cells(cells: pd.DataFrame, filters) -> pd.DataFrame:
    start = pd.Timestamp(add_months(filters.period_month, -11))
    return cells[cells["month"] >= start]


# ------------------------------------------------------------------ trends
def trend_figure(frame: pd.DataFrame, survey: str, name, title: str) -> go.Figure:
    """The figure per period (and segment) with 95% error bars; insufficient points left out."""
    fig = go.Figure()
    for k, (seg, g) in enumerate(frame.groupby("segment", sort=True)):
        ok = g[g["sufficient"]]
        fig.add_scatter(
            x=ok["period"],
            y=ok["value"],
            mode="lines+markers",
            name=name(seg),
            line={"color": COLORS[k % len(COLORS)]},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": ok["high"] - ok["value"],
                "arrayminus": ok["value"] - ok["low"],
                "thickness": 1,
            },
            customdata=np.stack([ok["n"], ok["low"], ok["high"]], axis=-1) if len(ok) else None,
            hovertemplate="%{x|%Y-%m}: %{y:.1f} (%{customdata[1]:.1f} … %{customdata[2]:.1f}),"
            " n=%{customdata[0]}<extra>" + str(name(seg)) + "</extra>",
        )
    fig.update_yaxes(title=t(f"sat.unit.{survey}"))
    return charts.titled(fig, title, height=380)


def split_figure(frame: pd.DataFrame, title: str) -> go.Figure:
    """Promoter / passive / detractor shares per period (portfolio)."""
    fig = go.Figure()
    for col, color in (
        ("promoters", "#27ae60"),
        ("passives", "#bdc3c7"),
        ("detractors", "#c0392b"),
    ):
        fig.add_bar(x=frame["period"], y=100 * frame[col], name=t(f"sat.{col}"), marker_color=color)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title="%", range=[0, 100])
    return charts.titled(fig, title, height=320)


def _render_kpis(frame: pd.DataFrame, cells: pd.DataFrame, survey: str, freq: str) -> None:
    portfolio = frame[frame["segment"] == "all"].sort_values("period")
    if portfolio.empty:
        st.info(t("common.no_data"))
        return
    last = portfolio.iloc[-1]
    specs = [
        cards.KpiSpec(
            t("sat.latest", survey=t(f"sat.survey.{survey}")),
            _fmt(last["value"], survey) if last["sufficient"] else t("common.insufficient"),
            help=t(f"sat.help.{survey}"),
            caption=t(
                "sat.latest_caption",
                period=_period_label(last["period"], freq),
                low=_fmt(last["low"], survey),
                high=_fmt(last["high"], survey),
                n=fmt_int(last["n"]),
            ),
        )
    ]
    if len(portfolio) >= 2:
        prev = portfolio.iloc[-2]
        period = pd.to_datetime(cells["month"]).dt.to_period(freq).dt.start_time
        test = sa.difference_test(
            cells[period == prev["period"]], cells[period == last["period"]], survey
        )
        if test is not None:
            significant = test["p"] < 0.05
            worse_is_up = survey == "ces"  # a higher effort score is worse
            specs.append(
                cards.KpiSpec(
                    t("sat.change", period=_period_label(prev["period"], freq)),
                    f"{test['diff']:+.1f}",
                    delta=(f"{test['diff']:+.1f}" if significant else None),
                    delta_color="inverse" if worse_is_up else "normal",
                    help=t("sat.change_help"),
                    caption=t(
                        "sat.significant" if significant else "sat.not_significant",
                        p=f"{test['p']:.3f}",
                    ),
                )
            )
    cards.render_kpi_row(specs, per_row=4)


def _period_label(period: pd.Timestamp, freq: str) -> str:
    if freq == "Q":
        return f"{period.year} Q{(period.month - 1) // 3 + 1}"
    return fmt_month(period.date())


def render_seasonality(data, ctx) -> None:
    st.markdown(f"**{t('sat.seasonality_title')}**")
    monthly = sa.series(data.cells, "nps", "M", None, int(data.settings["min_n"]))
    series = monthly[monthly["segment"] == "all"].set_index("period")["value"]
    reg = cached.load_seasonality(ctx.scope, ctx.filters, ctx.data_version)
    comp = sa.stl_components(series)
    if reg is None or comp is None:
        st.info(t("sat.seasonality_short"))
        return
    fig = go.Figure()
    fig.add_scatter(
        x=comp.index, y=comp["observed"], name=t("sat.observed"), line={"color": "#aed6f1"}
    )
    fig.add_scatter(x=comp.index, y=comp["trend"], name=t("sat.trend"), line={"color": "#1f4e79"})
    fig.add_scatter(
        x=comp.index,
        y=comp["trend"] + comp["seasonal"],
        name=t("sat.trend_season"),
        line={"color": "#f39c12", "dash": "dot"},
    )
    fig.update_yaxes(title=t("sat.unit.nps"))
    st.plotly_chart(charts.titled(fig, t("sat.stl_title")), key="sat_stl", width="stretch")
    st.caption(
        t(
            "sat.seasonality_text",
            amp=fmt_number(reg["amplitude"], 1),
            peak=fmt_number(reg["peak_month"], 1),
            cos=fmt_number(reg["cos"], 1),
            cos_low=fmt_number(reg["cos_low"], 1),
            cos_high=fmt_number(reg["cos_high"], 1),
            trend=fmt_number(reg["trend_per_year"], 1),
            trend_low=fmt_number(reg["trend_low"], 1),
            trend_high=fmt_number(reg["trend_high"], 1),
            n=fmt_int(reg["n"]),
        )
    )


def render_trends(data, ctx) -> None:
    lang = current_language()
    a, b, c = st.columns([2, 1, 2])
    survey = a.radio(
        t("sat.survey_label"),
        list(sa.SURVEYS),
        horizontal=True,
        format_func=lambda s: t(f"sat.survey.{s}", lang=lang),
        key="_w_sat_survey",
    )
    freq = b.radio(
        t("sat.granularity"),
        ["M", "Q"],
        horizontal=True,
        format_func=lambda f: t(f"sat.freq.{f}", lang=lang),
        key="_w_sat_freq",
    )
    by = c.selectbox(
        t("sat.segment_by"),
        list(SEGMENTS),
        format_func=lambda s: t(f"sat.segment.{s}", lang=lang),
        key="_w_sat_by",
    )
    min_n = int(data.settings["min_n"])
    cells = data.cells
    portfolio = sa.series(cells, survey, freq, None, min_n)
    _render_kpis(portfolio, cells[cells["survey"] == survey], survey, freq)
    if by == "none":
        frame = portfolio
    elif by == "product":
        products = cached.load_product_cells(ctx.scope, ctx.filters, ctx.data_version)
        frame = sa.series(products, survey, freq, "product", min_n)
    else:
        frame = sa.series(cells, survey, freq, by, min_n)
    if frame.empty:
        st.info(t("common.no_data"))
        return
    title = t("sat.trend_title", survey=t(f"sat.survey.{survey}"))
    st.plotly_chart(
        trend_figure(frame, survey, lambda s: _segment_name(by, s, data, lang), title),
        key="sat_trend",
        width="stretch",
    )
    short = frame[~frame["sufficient"]]
    st.caption(t("sat.min_n_note", min_n=min_n, k=fmt_int(len(short)), total=fmt_int(len(frame))))
    table = frame.assign(
        segment=frame["segment"].map(lambda s: _segment_name(by, s, data, lang)),
        period=frame["period"].map(lambda p: _period_label(p, freq)),
        value=[
            _fmt(v, survey) if ok else t("common.insufficient")
            for v, ok in zip(frame["value"], frame["sufficient"], strict=True)
        ],
        interval=[
            f"{_fmt(lo, survey)} … {_fmt(hi, survey)}" if ok else "—"
            for lo, hi, ok in zip(frame["low"], frame["high"], frame["sufficient"], strict=True)
        ],
    )[["period", "segment", "value", "interval", "n"]]
    with st.expander(t("sat.table")):
        cards.render_table(
            table,
            "strata-satisfaction-trends",
            column_config={
                "period": t("sat.period"),
                "segment": t("sat.segment_col"),
                "value": t(f"sat.survey.{survey}"),
                "interval": t("sat.interval"),
                "n": st.column_config.NumberColumn(t("sat.n")),
            },
        )
    if survey == "nps":
        split = portfolio[portfolio["sufficient"]]
        if len(split):
            st.plotly_chart(
                split_figure(split, t("sat.split_title")), key="sat_split", width="stretch"
            )


# ------------------------------------------------------------------- drops
def render_drops(data, ctx) -> None:
    lang = current_language()
    scans = cached.load_drop_scans(ctx.scope, ctx.filters, ctx.data_version)
    scan, onsets = scans.segment_scan, scans.onsets
    st.caption(
        t(
            "sat.scan_caption",
            tests=fmt_int(len(scan)),
            flagged=fmt_int(int(scan["flagged"].sum()) if len(scan) else 0),
        )
    )
    if onsets.empty:
        st.success(t("sat.no_drops"))
    else:
        shown = pd.DataFrame(
            {
                "dimension": onsets["dimension"].map(lambda d: t(f"sat.segment.{d}")),
                "segment": [
                    _segment_name(d, s, data, lang)
                    for d, s in zip(onsets["dimension"], onsets["segment"], strict=True)
                ],
                "month": onsets["month"].map(lambda m: fmt_month(pd.Timestamp(m).date())),
                "before": onsets["before"].round(1),
                "after": onsets["after"].round(1),
                "contrast": onsets["contrast"].round(1),
                "q": onsets["q"].map(lambda q: f"{q:.4f}"),
            }
        )
        cards.render_table(
            shown,
            "strata-satisfaction-drops",
            column_config={
                "dimension": t("sat.dimension"),
                "segment": t("sat.segment_col"),
                "month": t("sat.onset"),
                "before": t("sat.before"),
                "after": t("sat.after"),
                "contrast": t("sat.contrast"),
                "q": t("sat.q"),
            },
        )
    st.markdown(f"**{t('sat.accounts_title')}**")
    acc = scans.account_scan
    survivors = acc[acc["flagged"]] if len(acc) else acc
    st.caption(t("sat.account_caption", tested=fmt_int(len(acc)), flagged=fmt_int(len(survivors))))
    if len(survivors):
        cards.render_table(
            pd.DataFrame(
                {
                    "code": cards.profile_links(survivors["code"]),
                    "name": survivors["name"],
                    "before": survivors["before"].round(1),
                    "after": survivors["after"].round(1),
                    "n": survivors["n_before"].astype(str)
                    + " / "
                    + survivors["n_after"].astype(str),
                    "q": survivors["q"].map(lambda q: f"{q:.4f}"),
                }
            ),
            "strata-satisfaction-drops-2",
            column_config={
                "code": cards.profile_link_column(),
                "name": t("col.name"),
                "before": t("sat.before"),
                "after": t("sat.after"),
                "n": t("sat.n_pair"),
                "q": t("sat.q"),
            },
        )
    with st.expander(t("sat.scan_method_title"), icon=":material/info:"):
        st.markdown(t("sat.scan_method", min_n=data.settings["min_n"]))


# ------------------------------------------------------------- aggregation
def render_aggregation(data, ctx) -> None:
    coverage = cached.load_coverage(ctx.scope, ctx.filters, ctx.data_version)
    period = _period_cells(data.cells, ctx.filters)
    per_account = coverage.account_cells
    nps = per_account[per_account["survey"] == "nps"]
    accounts = coverage.accounts
    revenue = accounts.set_index("account_id")["revenue_12m"]
    min_n = int(data.settings["min_n"])
    resp = sa.estimate_cells(period[period["survey"] == "nps"], "nps", min_n)
    acc = sa.account_level_nps(nps)
    weighted = sa.account_level_nps(nps, revenue)
    active = accounts[
        accounts["churned_on"].isna()
        | (pd.to_datetime(accounts["churned_on"]) > pd.Timestamp(ctx.filters.period_end))
    ]

    def spec(key: str, est: sa.Estimate, n_label: str) -> cards.KpiSpec:
        ok = est.value is not None and est.n >= (min_n if key == "respondent" else 10)
        return cards.KpiSpec(
            t(f"sat.agg.{key}"),
            fmt_number(est.value, 1) if ok else t("common.insufficient"),
            help=t(f"sat.agg.{key}_help"),
            caption=(
                t(
                    "sat.agg_caption",
                    low=fmt_number(est.low, 1),
                    high=fmt_number(est.high, 1),
                    n=fmt_int(est.n),
                    unit=t(n_label),
                )
                if ok
                else None
            ),
        )

    cards.render_kpi_row(
        [
            spec("respondent", resp, "sat.answers"),
            spec("account", acc, "sat.accounts"),
            spec("revenue", weighted, "sat.accounts"),
        ],
        per_row=3,
    )
    responded = set(per_account["account_id"])
    total_rev = float(active["revenue_12m"].sum())
    covered_rev = float(active.loc[active["account_id"].isin(responded), "revenue_12m"].sum())
    rev_cov = covered_rev / total_rev if total_rev > 0 else None
    acc_cov = len(responded & set(active["account_id"])) / len(active) if len(active) else None
    contacts = coverage.responding_contacts
    con_cov = contacts / coverage.contacts if coverage.contacts else None
    cards.render_kpi_row(
        [
            cards.KpiSpec(
                t("sat.cov.revenue"), fmt_pct(rev_cov, 1), help=t("sat.cov.revenue_help")
            ),
            cards.KpiSpec(
                t("sat.cov.accounts"), fmt_pct(acc_cov, 1), help=t("sat.cov.accounts_help")
            ),
            cards.KpiSpec(
                t("sat.cov.contacts"), fmt_pct(con_cov, 1), help=t("sat.cov.contacts_help")
            ),
        ],
        per_row=3,
    )
    if (rev_cov is not None and rev_cov < 0.5) or (acc_cov is not None and acc_cov < 0.5):
        st.warning(t("sat.nonresponse_warning", rev=fmt_pct(rev_cov, 0), acc=fmt_pct(acc_cov, 0)))
    st.caption(t("sat.agg_note"))


# ----------------------------------------------------------------- comments
def render_comments(data, ctx) -> None:
    lang = current_language()
    a, b, c, d = st.columns([2, 2, 3, 2])
    bands = a.multiselect(
        t("sat.band"),
        ["promoter", "passive", "detractor"],
        format_func=lambda x: t(f"sat.band_name.{x}", lang=lang),
        placeholder=t("filter.all"),
        key="_w_cm_bands",
    )
    surveys = b.multiselect(
        t("sat.survey_label"),
        list(sa.SURVEYS),
        default=["nps"],
        format_func=lambda s: t(f"sat.survey.{s}", lang=lang),
        key="_w_cm_surveys",
    )
    text = c.text_input(t("sat.search"), key="_w_cm_text", max_chars=100)
    since = d.date_input(
        t("sat.since"), value=add_months(ctx.filters.period_month, -11), key="_w_cm_since"
    )
    query = CommentQuery(bands=tuple(bands), surveys=tuple(surveys), text=text, since=since)
    comments = cached.load_comments(ctx.scope, ctx.filters, query, ctx.data_version)
    st.caption(t("sat.comments_caption", n=fmt_int(len(comments)), limit=fmt_int(query.limit)))
    if comments.empty:
        st.info(t("sat.no_comments"))
        return
    themes = sa.theme_counts(comments["comment"])
    fig = go.Figure(
        go.Bar(
            x=themes["comments"],
            y=[t(f"sat.theme.{x}") for x in themes["theme"]],
            orientation="h",
            marker_color="#2e86c1",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=t("sat.comment_count"))
    st.plotly_chart(
        charts.titled(fig, t("sat.themes_title"), height=280), key="sat_themes", width="stretch"
    )
    shown = pd.DataFrame(
        {
            "date": comments["responded_on"].dt.date,
            "code": cards.profile_links(comments["code"]),
            "name": comments["name"],
            "survey": comments["survey"].map(lambda s: t(f"sat.survey.{s}")),
            "score": comments["score"],
            "comment": comments["comment"],
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="tbl_comments",
        column_config={
            "date": st.column_config.DateColumn(t("col.date")),
            "code": cards.profile_link_column(),
            "name": t("col.name"),
            "survey": t("sat.survey_label"),
            "score": st.column_config.NumberColumn(t("sat.score")),
            "comment": st.column_config.TextColumn(t("sat.comment"), width="large"),
        },
    )
    cards.render_downloads(
        comments.assign(responded_on=comments["responded_on"].dt.date), "comments"
    )


# ----------------------------------------------------------------- outcomes
def render_outcomes(data, ctx) -> None:
    lang = current_language()
    as_of = pd.Timestamp(month_end(add_months(ctx.filters.period_month, -12)))
    table = cached.load_outcomes(ctx.scope, ctx.filters, ctx.data_version)
    st.caption(
        t(
            "sat.outcomes_caption",
            as_of=fmt_date(as_of.date()),
            end=fmt_date(ctx.filters.period_end),
        )
    )
    shown = pd.DataFrame(
        {
            "band": table["band"].map(lambda b: t(f"sat.band_name.{b}", lang=lang)),
            "accounts": table["accounts"],
            "churn": [
                "—"
                if r is None or pd.isna(r)
                else f"{fmt_pct(r, 1)} ({fmt_pct(lo, 1)}–{fmt_pct(hi, 1)})"
                for r, lo, hi in zip(
                    table["churn_rate"], table["churn_low"], table["churn_high"], strict=True
                )
            ],
            "revenue": [
                "—"
                if r is None or pd.isna(r)
                else f"{fmt_pct(r, 1, signed=True)} ({fmt_pct(lo, 1, signed=True)} … "
                f"{fmt_pct(hi, 1, signed=True)})"
                for r, lo, hi in zip(
                    table["revenue_change"],
                    table["revenue_low"],
                    table["revenue_high"],
                    strict=True,
                )
            ],
        }
    )
    cards.render_table(
        shown,
        "strata-satisfaction-outcomes",
        column_config={
            "band": t("sat.band"),
            "accounts": st.column_config.NumberColumn(t("sat.accounts_col")),
            "churn": t("sat.churn_next"),
            "revenue": t("sat.revenue_next"),
        },
    )
    runs = cached.load_model_runs(ctx.data_version)
    drivers = (runs.get("churn_drivers") or {}).get("stats") or {}
    odds = (drivers.get("odds_ratios") or {}).get("nps_per_10")
    if odds:
        st.markdown(
            t(
                "sat.model_or",
                value=fmt_number(odds[0], 3),
                low=fmt_number(odds[1], 3),
                high=fmt_number(odds[2], 3),
            )
        )
    st.info(t("sat.reliability_note"))


# --------------------------------------------------------------- closed loop
def render_loop(data, ctx) -> None:
    days = int(data.settings["followup_days"])
    today = dt.date.today()
    open_rows = cached.load_open_detractors(ctx.scope, ctx.filters, days, today, ctx.data_version)
    overdue = int(open_rows["overdue"].sum()) if len(open_rows) else 0
    st.caption(
        t("sat.loop_caption", n=fmt_int(len(open_rows)), overdue=fmt_int(overdue), days=days)
    )
    if open_rows.empty:
        st.success(t("sat.loop_empty"))
        return
    shown = pd.DataFrame(
        {
            "date": open_rows["responded_on"].dt.date,
            "code": cards.profile_links(open_rows["code"]),
            "name": open_rows["name"],
            "score": open_rows["score"],
            "owner": open_rows["owner"].fillna("—"),
            "days": open_rows["days_open"],
            "overdue": open_rows["overdue"],
            "comment": open_rows["comment"].fillna(""),
        }
    )
    cards.render_table(
        shown,
        "strata-satisfaction-loop",
        key="tbl_loop",
        column_config={
            "date": st.column_config.DateColumn(t("col.date")),
            "code": cards.profile_link_column(),
            "name": t("col.name"),
            "score": st.column_config.NumberColumn(t("sat.score")),
            "owner": t("form.field.owner_id"),
            "days": st.column_config.NumberColumn(t("sat.days_open")),
            "overdue": st.column_config.CheckboxColumn(t("iv.overdue")),
            "comment": st.column_config.TextColumn(t("sat.comment"), width="large"),
        },
    )
    if not ctx.scope.can_write_accounts:
        return
    labels = {
        int(r.id): f"{fmt_date(r.responded_on.date())} · {r.code} · {r.name} · {r.score}"
        for r in open_rows.itertuples()
    }
    left, right = st.columns([3, 1])
    chosen = left.selectbox(
        t("sat.pick_answer"), list(labels), format_func=labels.__getitem__, key="_w_loop_pick"
    )
    right.write("")
    if right.button(t("sat.create_followup"), type="primary", key="_w_loop_create"):
        try:
            new_id, created = cached.save_followup(ctx.scope, int(chosen))
        except NotPermitted:
            st.error(t("form.not_permitted"))
        else:
            key = "sat.followup_created" if created else "iv.already_saved"
            st.session_state[FLASH] = t(key, id=new_id)
            st.rerun()


def render_page(ctx) -> None:
    """The whole satisfaction page."""
    st.title(t("nav.satisfaction"))
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message)
    data = cached.load_satisfaction(ctx.scope, ctx.filters, ctx.data_version)
    if data.cells.empty:
        st.info(t("common.no_data"))
        return
    cards.render_sections(
        "sat.tab",
        {
            "trends": lambda: render_trends(data, ctx),
            "seasonality": lambda: render_seasonality(data, ctx),
            "drops": lambda: render_drops(data, ctx),
            "aggregation": lambda: render_aggregation(data, ctx),
            "comments": lambda: render_comments(data, ctx),
            "outcomes": lambda: render_outcomes(data, ctx),
            "loop": lambda: render_loop(data, ctx),
        },
    )

"""The account list: search, narrowing, the table and its export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.overview import tier_order
from components import cards
from components.i18n import fmt_int, fmt_month, label, t
from data_access import cached

# Rows sent to the browser at most: a table of 100,000 accounts would be megabytes that
# nobody scrolls through; search, filters and the download cover the rest.
TABLE_ROWS = 1_000
BANDS = ("healthy", "watch", "at_risk")
COLUMNS = [
    "code",
    "name",
    "tier",
    "stage",
    "health_score",
    "health_trend",
    "health_band",
    "revenue_12m",
    "products_held",
    "latest_nps",
    "owner",
    "days_since_contact",
    "open_interventions",
]


def select_accounts(
    accounts: pd.DataFrame,
    query: str,
    bands: list[str],
    include_churned: bool,
    period_end: pd.Timestamp,
    tiers: list[str] | None = None,
) -> pd.DataFrame:
    """Rows matching a name/code search (case-insensitive, Chinese or Latin), bands and tiers."""
    out = accounts
    if tiers:
        out = out.loc[out["tier"].isin(tiers)]
    if not include_churned:
        out = out.loc[out["churned_on"].isna() | (out["churned_on"] > period_end)]
    q = query.strip().lower()
    if q:
        hit = out["name"].str.lower().str.contains(q, regex=False) | out[
            "code"
        ].str.lower().str.contains(q, regex=False)
        out = out.loc[hit]
    if bands:
        out = out.loc[out["health_band"].isin(bands)]
    return out.sort_values("revenue_12m", ascending=False)


def render_account_list(accounts: pd.DataFrame, ctx) -> None:
    """Render the list page for one loader result."""
    st.title(t("accounts.title"))
    st.caption(t("accounts.subtitle", end=fmt_month(ctx.filters.period_end)))
    if accounts.empty:
        st.info(t("common.no_data"))
        return
    if "_w_q" not in st.session_state and "q" in st.query_params:
        st.session_state["_w_q"] = st.query_params["q"]
    # Links from the overview's tier x health matrix preset these two.
    params = st.query_params
    tiers_known = tier_order(accounts["tier"])
    preset_tiers = [x for x in params.get_all("tier") if x in tiers_known]
    preset_bands = [x for x in params.get_all("band") if x in BANDS]
    search, tiers_col, bands_col, churned_col = st.columns([3, 2, 2, 1])
    query = search.text_input(
        t("accounts.search"), key="_w_q", placeholder=t("accounts.search_placeholder")
    )
    lang = ctx.lang
    tiers = tiers_col.multiselect(
        t("filter.tiers"),
        tiers_known,
        default=preset_tiers,
        format_func=lambda c: label("tier", c, lang),
        placeholder=t("filter.all"),
    )
    bands = bands_col.multiselect(
        t("accounts.bands"),
        list(BANDS),
        default=preset_bands,
        format_func=lambda b: label("band", b, lang),
        placeholder=t("filter.all"),
    )
    include_churned = churned_col.toggle(t("accounts.include_churned"))
    shown = select_accounts(
        accounts, query, bands, include_churned, pd.Timestamp(ctx.filters.period_end), tiers
    )
    st.caption(t("accounts.count", shown=fmt_int(len(shown)), total=fmt_int(len(accounts))))
    if len(shown) > TABLE_ROWS:
        st.caption(t("accounts.capped", limit=fmt_int(TABLE_ROWS), shown=fmt_int(len(shown))))
    # Labels of tiers and bands looked up here, in the page run (the download below builds
    # its file later, outside it, where configured tier names are out of reach).
    names = {
        "tier": {c: label("tier", c, lang) for c in tiers_known},
        "band": {b: label("band", b, lang) for b in BANDS},
    }
    table = _display(_with_details(shown.head(TABLE_ROWS), ctx), names, lang)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=560,
        column_config={
            "code": cards.profile_link_column(),
            "name": t("col.name"),
            "tier": t("col.tier"),
            "stage": t("col.stage"),
            "health_score": st.column_config.ProgressColumn(
                t("col.health"), min_value=0, max_value=100, format="%.0f"
            ),
            "health_trend": st.column_config.TextColumn(t("col.trend"), help=t("col.trend_help")),
            "health_band": t("col.band"),
            "revenue_12m": st.column_config.NumberColumn(t("col.revenue_12m"), format="localized"),
            "products_held": st.column_config.NumberColumn(t("col.products")),
            "latest_nps": st.column_config.NumberColumn(t("col.latest_nps")),
            "owner": t("col.owner"),
            "days_since_contact": st.column_config.NumberColumn(t("col.days_since_contact")),
            "open_interventions": st.column_config.NumberColumn(t("col.open_interventions")),
        },
    )
    if query.strip() and 0 < len(shown) <= 10:
        # A short search result gets direct links, handy on a phone or with a keyboard.
        st.caption(t("accounts.open_profiles"))
        for row in shown.itertuples():
            st.page_link(
                "pages/profile.py",
                label=f"{row.name} ({row.code})",
                query_params={"account": row.code},
                icon=":material/arrow_forward:",
            )
    headers = {c: t(f"col.export.{c}") for c in COLUMNS}
    cards.render_downloads(
        # Every matching row, built only when a download is asked for.
        lambda: (
            _display(_with_details(shown, ctx), names, lang)
            .assign(code=shown["code"].to_numpy())
            .rename(columns=headers)
        ),
        f"strata-accounts-{ctx.filters.period_end:%Y%m}",
    )


def _with_details(rows: pd.DataFrame, ctx) -> pd.DataFrame:
    """``rows`` with the columns the list only shows, read for these accounts alone."""
    details = cached.load_account_details(
        ctx.scope, ctx.filters, tuple(rows["account_id"]), ctx.data_version
    )
    return rows.merge(details, on="account_id", how="left", validate="one_to_one")


def _display(rows: pd.DataFrame, names: dict, lang: str) -> pd.DataFrame:
    """The list's columns as shown: translated ``names`` of tiers and bands and stage names
    in ``lang``, trend arrows, rounded revenue."""
    stages = {c: label("stage", c, lang) for c in rows["stage"].dropna().unique()}
    return (
        rows[COLUMNS]
        .round({"revenue_12m": 0})
        .assign(
            code=cards.profile_links(rows["code"]),
            tier=rows["tier"].map(names["tier"]).fillna(""),
            stage=rows["stage"].map(stages).fillna(""),
            health_trend=rows["health_trend"].map({"up": "▲", "down": "▼"}).fillna(""),
            health_band=rows["health_band"].map(names["band"]).fillna(""),
        )
    )

"""Growth (价值提升): whitespace, next best product, its backtest, depth, offers, loyalty."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics import growth as gr
from components import cards, charts
from components.i18n import (
    current_language,
    fmt_date,
    fmt_int,
    fmt_money,
    fmt_number,
    fmt_pct,
    label,
    t,
)
from data_access import cached

MATRIX_ROWS = 300
# Suggestions shown in the next-best-product table (the download holds all of them).
NBP_ROWS = 1_000
GROUPS = ("tier", "industry", "team_id")


def _product_names(products: pd.DataFrame, lang: str) -> dict[str, str]:
    col = "name_zh" if lang == "zh" else "name_en"
    return dict(zip(products["code"], products[col], strict=True))


def _ci(
    value: float | None, low: float | None, high: float | None, digits: int = 1, pct: bool = True
) -> str:
    if value is None or pd.isna(value):
        return "—"
    f = (lambda v: fmt_pct(v, digits)) if pct else (lambda v: fmt_number(v, 2))
    return f"{f(value)} ({f(low)} – {f(high)})"


def render_matrix(data, ctx) -> None:
    """Accounts × products: ✓ where held, else propensity and expected revenue if opened."""
    lang = current_language()
    names = _product_names(data.products, lang)
    summary = data.summary
    if not summary["accounts"]:
        st.info(t("growth.no_scores"))
        return
    a, b, c = st.columns([2, 3, 2])
    group = a.selectbox(
        t("growth.group_by"),
        list(GROUPS),
        format_func=lambda g: t(f"sat.segment.{g}", lang=lang),
        key="_w_gr_group",
    )
    products = summary["products"]
    chosen = b.multiselect(
        t("growth.products"),
        products,
        format_func=names.get,
        placeholder=t("filter.all"),
        key="_w_gr_products",
    )
    floor = c.number_input(
        t("growth.min_expected"), min_value=0.0, value=0.0, step=1000.0, key="_w_gr_floor"
    )
    shown_products = chosen or products
    # The database sums, filters and sorts every account's scores; the largest few
    # hundred come back with their scores.
    accounts, matching, shown_scores = cached.load_whitespace(
        ctx.scope, ctx.filters, tuple(shown_products), float(floor), MATRIX_ROWS, ctx.data_version
    )
    accounts = accounts.set_index("account_id")
    st.caption(
        t(
            "growth.matrix_caption",
            n=fmt_int(matching),
            shown=fmt_int(len(accounts)),
        )
    )
    # Only the shown accounts' holdings and scores are looked at (a few hundred rows).
    shown_holdings = cached.load_holdings(
        ctx.scope, ctx.filters, tuple(accounts.index), ctx.data_version
    )
    held = set(zip(shown_holdings["account_id"], shown_holdings["product"], strict=True))
    score = {
        (a, p): f"{fmt_pct(pr, 0)} · {fmt_money(ev)}"
        for a, p, pr, ev in zip(
            shown_scores["account_id"],
            shown_scores["product"],
            shown_scores["propensity"],
            shown_scores["expected_revenue"],
            strict=True,
        )
    }
    grid = {
        names[p]: ["✓" if (aid, p) in held else score.get((aid, p), "") for aid in accounts.index]
        for p in shown_products
    }
    if group == "team_id":
        teams = cached.load_filter_options(ctx.scope, ctx.data_version)["teams"]
        team_names = {x["id"]: x["name_zh" if lang == "zh" else "name_en"] for x in teams}
        group_values = accounts["team_id"].map(lambda i: team_names.get(i, str(i)))
    else:
        group_values = accounts[group].map(lambda v: label(group, v, lang))
    table = pd.DataFrame(
        {
            "code": cards.profile_links(accounts["code"]).to_numpy(),
            "name": accounts["name"].to_numpy(),
            "group": group_values.to_numpy(),
            "total": accounts["total"].round(0).to_numpy(),
            **grid,
        }
    ).sort_values(["group", "total"], ascending=[True, False], kind="stable")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="tbl_matrix",
        column_config={
            "code": cards.profile_link_column(),
            "name": t("col.name"),
            "group": t(f"sat.segment.{group}"),
            "total": st.column_config.NumberColumn(t("growth.total_expected"), format="%.0f"),
        },
    )
    cards.render_downloads(
        table.assign(code=table["code"].str.extract(r"account=(.*)$")[0]), "whitespace"
    )
    st.caption(t("growth.matrix_note"))


def _reasons(
    top: pd.DataFrame, holdings: pd.DataFrame, peer_shares: pd.DataFrame, names: dict, lang: str
) -> list[str]:
    """Why each suggestion: its peers' penetration, and the held product whose holders
    most often hold it too (ties go to the alphabetically first product)."""
    keys = ["tier", "industry", "product"]
    rows = top[["account_id", *keys]].reset_index(drop=True).assign(row=lambda f: f.index)
    overall = peer_shares[peer_shares["given"] == ""][[*keys, "share"]]
    rows = rows.merge(overall, on=keys, how="left")
    known = set(peer_shares[keys].itertuples(index=False, name=None))
    held = holdings[["account_id", "product"]].rename(columns={"product": "given"})
    cond = (
        rows[["row", "account_id", *keys]]
        .merge(held.drop_duplicates(), on="account_id")
        .merge(peer_shares[peer_shares["given"] != ""], on=[*keys, "given"])
        .sort_values(["row", "share", "given"], ascending=[True, False, True])
        .drop_duplicates("row")
        .set_index("row")
    )
    out = []
    for r in rows.itertuples():
        if (r.tier, r.industry, r.product) not in known:
            out.append(t("growth.reason_none", lang=lang))
            continue
        share = fmt_pct(r.share, 0) if pd.notna(r.share) else "—"
        if r.row in cond.index:
            best = cond.loc[r.row]
            out.append(
                t(
                    "growth.reason_because",
                    lang=lang,
                    share=share,
                    cond=fmt_pct(best["share"], 0),
                    because=names.get(best["given"], best["given"]),
                )
            )
        else:
            out.append(t("growth.reason_peers", lang=lang, share=share))
    return out


def render_nbp(data, ctx) -> None:
    """Every account's ranked suggestions with propensity, expected revenue and the reason."""
    lang = current_language()
    names = _product_names(data.products, lang)
    summary = data.summary
    if not summary["accounts"]:
        st.info(t("growth.no_scores"))
        return
    st.caption(
        t(
            "growth.nbp_caption",
            n=fmt_int(summary["accounts"]),
            total=fmt_money(summary["top1_total"]),
        )
    )
    if summary["suggestions"] > NBP_ROWS:
        st.caption(
            t("growth.nbp_capped", limit=fmt_int(NBP_ROWS), total=fmt_int(summary["suggestions"]))
        )

    shares = cached.load_peer_shares(ctx.filters.period_month, ctx.data_version)

    def table(rows: pd.DataFrame) -> pd.DataFrame:
        # Holdings of these rows' accounts only: the shown ones, or all for the download.
        held = cached.load_holdings(
            ctx.scope, ctx.filters, tuple(rows["account_id"].unique()), ctx.data_version
        )
        return pd.DataFrame(
            {
                "code": cards.profile_links(rows["code"]).to_numpy(),
                "name": rows["name"].to_numpy(),
                "tier": rows["tier"].map(lambda v: label("tier", v, lang)).to_numpy(),
                "rank": rows["rank"].to_numpy(),
                "product": rows["product"].map(names).to_numpy(),
                "propensity": rows["propensity"].to_numpy(),
                "expected": rows["expected_revenue"].round(0).to_numpy(),
                "reason": _reasons(rows, held, shares, names, lang),
            }
        )

    # The table shows the largest suggestions; reasons for all of them are only worked
    # out when the download is asked for.
    shown = table(cached.load_suggestions(ctx.scope, ctx.filters, NBP_ROWS, ctx.data_version))
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="tbl_nbp",
        column_config={
            "code": cards.profile_link_column(),
            "name": t("col.name"),
            "tier": t("filter.tiers"),
            "rank": st.column_config.NumberColumn(t("growth.rank")),
            "product": t("growth.product"),
            "propensity": st.column_config.ProgressColumn(
                t("growth.propensity"), min_value=0.0, max_value=1.0, format="percent"
            ),
            "expected": st.column_config.NumberColumn(t("growth.expected"), format="%.0f"),
            "reason": st.column_config.TextColumn(t("growth.reason"), width="large"),
        },
    )

    def every_suggestion() -> pd.DataFrame:
        rows = cached.load_suggestions(ctx.scope, ctx.filters, None, ctx.data_version)
        return table(rows).assign(code=rows["code"].to_numpy())

    cards.render_downloads(every_suggestion, "next_best_products")


def render_backtest(data, ctx) -> None:
    run = data.run
    if run is None:
        st.info(t("growth.no_scores"))
        return
    s = run["stats"]
    rows = []
    for b, r in zip(s["backtest"], s["backtest_recent"], strict=True):
        rows.append(
            {
                "k": b["k"],
                "model": _ci(b["precision"], b["precision_low"], b["precision_high"]),
                "popular": _ci(b["baseline"], b["baseline_low"], b["baseline_high"]),
                "lift": _ci(b["lift"], b["lift_low"], b["lift_high"], pct=False),
                "recent": _ci(r["lift"], r["lift_low"], r["lift_high"], pct=False),
            }
        )
    st.caption(
        t(
            "growth.backtest_caption",
            as_of=fmt_date(pd.Timestamp(s["backtest_as_of"]).date()),
            accounts=fmt_int(s["backtest"][0]["accounts"]),
        )
    )
    cards.render_table(
        pd.DataFrame(rows),
        "strata-growth-backtest",
        column_config={
            "k": st.column_config.NumberColumn(t("growth.k")),
            "model": t("growth.precision_model"),
            "popular": t("growth.precision_popular"),
            "lift": t("growth.lift"),
            "recent": t("growth.lift_recent"),
        },
    )
    st.markdown(t("growth.method"))


def render_depth(data, ctx) -> None:
    run = data.run
    if run is None:
        st.info(t("growth.no_scores"))
        return
    s = run["stats"]
    table = pd.DataFrame(s["churn_by_depth"])
    fig = go.Figure(
        go.Bar(
            x=table["depth"].astype(str),
            y=100 * table["rate"],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": 100 * (table["high"] - table["rate"]),
                "arrayminus": 100 * (table["rate"] - table["low"]),
            },
            marker_color="#2e86c1",
            customdata=table["accounts"],
            hovertemplate="%{x}: %{y:.1f}% (n=%{customdata})<extra></extra>",
        )
    )
    fig.update_xaxes(title=t("growth.products_held"))
    fig.update_yaxes(title=t("growth.churn_12m"))
    st.plotly_chart(
        charts.titled(
            fig, t("growth.depth_title", start=fmt_date(pd.Timestamp(s["depth_start"]).date()))
        ),
        key="gr_depth",
        width="stretch",
    )
    d = s.get("depth")
    if d:
        cards.render_kpi_row(
            [
                cards.KpiSpec(
                    t("growth.or_raw"),
                    fmt_number(d["raw"]["odds_ratio"], 3),
                    caption=t(
                        "growth.or_ci",
                        low=fmt_number(d["raw"]["low"], 3),
                        high=fmt_number(d["raw"]["high"], 3),
                    ),
                ),
                cards.KpiSpec(
                    t("growth.or_adjusted"),
                    fmt_number(d["adjusted"]["odds_ratio"], 3),
                    caption=t(
                        "growth.or_ci",
                        low=fmt_number(d["adjusted"]["low"], 3),
                        high=fmt_number(d["adjusted"]["high"], 3),
                    ),
                ),
            ],
            per_row=2,
        )
    st.info(t("growth.depth_note"))
    st.caption(t("growth.depth_km"))


def render_offers(data, ctx) -> None:
    lang = current_language()
    names = _product_names(data.products, lang)
    offers = cached.load_offers(ctx.scope, ctx.filters, ctx.data_version)
    if offers.empty:
        st.info(t("growth.no_offers"))
        return
    st.caption(
        t(
            "growth.offers_caption",
            n=fmt_int(len(offers)),
            accepted=fmt_int(int((offers["offer_response"] == "accepted").sum())),
        )
    )
    left, right = st.columns(2)
    for col, by, name in (
        (left, "product", names.get),
        (right, "tier", lambda v: label("tier", v, lang)),
    ):
        table = gr.acceptance(offers, by)
        with col:
            cards.render_table(
                pd.DataFrame(
                    {
                        "what": table[by].map(name),
                        "offers": table["n"],
                        "rate": [
                            _ci(r, lo, hi, 0)
                            for r, lo, hi in zip(
                                table["rate"], table["low"], table["high"], strict=True
                            )
                        ],
                    }
                ),
                f"strata-offer-acceptance-by-{by}",
                column_config={
                    "what": t(f"growth.by_{by}"),
                    "offers": t("growth.offers"),
                    "rate": t("growth.acceptance"),
                },
            )


def render_loyalty(data, ctx) -> None:
    lang = current_language()
    loyalty = cached.load_loyalty(ctx.scope, ctx.filters, ctx.data_version)
    comp = gr.member_comparison(loyalty)
    st.caption(
        t(
            "growth.loyalty_caption",
            members=fmt_int(int(loyalty["member"].sum())),
            others=fmt_int(int((loyalty["member"] == 0).sum())),
        )
    )
    rows = []
    for outcome in ("churned", "repurchased"):
        raw = {r["member"]: r for r in comp[outcome]["raw"]}
        adj = comp[outcome]["adjusted"]
        rows.append(
            {
                "outcome": t(f"growth.outcome.{outcome}", lang=lang),
                "members": _ci(
                    raw.get(1, {}).get("rate"),
                    raw.get(1, {}).get("low"),
                    raw.get(1, {}).get("high"),
                ),
                "others": _ci(
                    raw.get(0, {}).get("rate"),
                    raw.get(0, {}).get("low"),
                    raw.get(0, {}).get("high"),
                ),
                "adjusted": _ci(adj["odds_ratio"], adj["low"], adj["high"], pct=False)
                if adj
                else "—",
            }
        )
    cards.render_table(
        pd.DataFrame(rows),
        "strata-growth-loyalty",
        column_config={
            "outcome": t("growth.outcome_col"),
            "members": t("growth.members"),
            "others": t("growth.non_members"),
            "adjusted": t("growth.adjusted_or"),
        },
    )
    st.info(t("growth.loyalty_note"))


def render_page(ctx) -> None:
    """The whole growth page."""
    st.title(t("nav.growth"))
    data = cached.load_growth(ctx.scope, ctx.filters, ctx.data_version)
    run = data.run
    if run is not None:
        b = run["stats"]["backtest"][0]
        d = run["stats"].get("depth") or {}
        top1 = data.summary["top1_total"]
        cards.render_kpi_row(
            [
                cards.KpiSpec(
                    t("growth.kpi_expected"), fmt_money(top1), help=t("growth.kpi_expected_help")
                ),
                cards.KpiSpec(
                    t("growth.kpi_lift"),
                    fmt_number(b["lift"], 2),
                    help=t("growth.kpi_lift_help"),
                    caption=t(
                        "growth.or_ci",
                        low=fmt_number(b["lift_low"], 2),
                        high=fmt_number(b["lift_high"], 2),
                    ),
                ),
                cards.KpiSpec(
                    t("growth.or_adjusted"),
                    fmt_number(d["adjusted"]["odds_ratio"], 3) if d else "—",
                    help=t("growth.or_help"),
                    caption=t(
                        "growth.or_ci",
                        low=fmt_number(d["adjusted"]["low"], 3),
                        high=fmt_number(d["adjusted"]["high"], 3),
                    )
                    if d
                    else None,
                ),
            ],
            per_row=3,
        )
    cards.render_sections(
        "growth.tab",
        {
            "matrix": lambda: render_matrix(data, ctx),
            "nbp": lambda: render_nbp(data, ctx),
            "backtest": lambda: render_backtest(data, ctx),
            "depth": lambda: render_depth(data, ctx),
            "offers": lambda: render_offers(data, ctx),
            "loyalty": lambda: render_loyalty(data, ctx),
        },
    )

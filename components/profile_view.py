"""The account profile (客户画像): header, key figures, what changed, and six sections."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.health import COMPONENTS, HealthSettings, compute_score_change
from analytics.periods import add_months
from components import account_list, brief, cards, charts, interventions_view, profile_forms
from components.i18n import (
    current_language,
    fmt_date,
    fmt_int,
    fmt_money,
    fmt_month,
    fmt_number,
    fmt_pct,
    label,
    money_unit,
    t,
)

# Accounts the picker offers at most: every account of a large portfolio would be
# megabytes of names in the browser; a search reaches the rest.
PICKER_OPTIONS = 200
SECTION_KEYS = (
    "value",
    "behaviour",
    "needs",
    "relationships",
    "team",
    "interventions",
    "timeline",
)


def product_name(row: object) -> str:
    """A product's name in the viewer's language."""
    return row.name_zh if current_language() == "zh" else row.name_en  # type: ignore[attr-defined]


def key_figures(p) -> list[cards.KpiSpec]:
    """The profile's key figures; the brief prints exactly these."""
    v, clv, h = p.value, p.clv, p.header
    period = t(
        "overview.period",
        start=fmt_month(add_months(p.as_of.replace(day=1), -11)),
        end=fmt_month(p.as_of),
    )
    if clv.sufficient:
        clv_value = fmt_money(clv.value)
        clv_caption = t(
            "profile.clv_ci",
            low=fmt_money(clv.low),
            high=fmt_money(clv.high),
            years=clv.horizon_years,
            rate=fmt_pct(clv.discount_rate, 0),
        )
    else:
        clv_value, clv_caption = t("common.insufficient"), t("profile.clv_insufficient")
    latest = p.health["health_score"].iloc[-1] if len(p.health) else None
    if p.health_direction:
        health_delta = t("profile.health_delta", delta=fmt_number(p.health_delta, 1))
        health_caption = t("profile.health_noise", noise=fmt_number(p.health_noise, 1))
    else:
        health_delta = None
        health_caption = (
            t(
                "profile.health_stable",
                delta=fmt_number(p.health_delta, 1),
                noise=fmt_number(p.health_noise, 1),
            )
            if p.health_delta is not None and p.health_noise is not None
            else None
        )
    risk = p.health.dropna(subset=["churn_risk"]).tail(1)
    churned = h["churned_on"] is not None and h["churned_on"] <= p.as_of
    if churned:
        risk_value, risk_caption = label("stage", "churned"), fmt_date(h["churned_on"])
    elif len(risk):
        r = risk.iloc[0]
        risk_value = fmt_pct(r["churn_risk"], 0)
        risk_caption = t(
            "profile.risk_ci",
            low=fmt_pct(r["churn_risk_low"], 0),
            high=fmt_pct(r["churn_risk_high"], 0),
        )
    else:
        risk_value, risk_caption = "—", None
    rank = (
        t("profile.rank", rank=fmt_int(p.tier_rank[0]), n=fmt_int(p.tier_rank[1]))
        if p.tier_rank
        else None
    )
    stage, days = current_stage(p)
    return [
        cards.KpiSpec(
            t("kpi.revenue_12m"),
            fmt_money(v.revenue_12m),
            delta=(
                t("kpi.yoy", value=fmt_pct(v.revenue_change, signed=True))
                if v.revenue_change is not None
                else None
            ),
            caption=period,
        ),
        cards.KpiSpec(
            t("profile.margin_12m"),
            fmt_money(v.margin_12m),
            caption=t("profile.prior", value=fmt_money(v.margin_prev_12m)),
        ),
        cards.KpiSpec(
            t("profile.share_of_wallet"),
            fmt_pct(v.share_of_wallet),
            help=t("profile.share_of_wallet_help"),
            caption=t("profile.potential", value=fmt_money(v.potential)),
        ),
        cards.KpiSpec(t("profile.clv"), clv_value, help=t("profile.clv_help"), caption=clv_caption),
        cards.KpiSpec(
            t("col.health"),
            fmt_number(latest, 0) if latest is not None else "—",
            delta=health_delta,
            help=t("profile.health_help"),
            caption=health_caption,
        ),
        cards.KpiSpec(
            t("lifecycle.churn_risk"), risk_value, help=t("profile.risk_help"), caption=risk_caption
        ),
        cards.KpiSpec(t("col.tier"), label("tier", h["tier"]), caption=rank),
        cards.KpiSpec(
            t("col.stage"),
            label("stage", stage) if stage else "—",
            caption=t("profile.days_in_stage", days=fmt_int(days)) if days else None,
        ),
        cards.KpiSpec(
            t("profile.interactions_12m"),
            fmt_int(p.interactions_12m),
            caption=(
                t(
                    "profile.vs_norm",
                    ratio=fmt_pct(p.contact_ratio, 0),
                    norm=fmt_number(p.tier_norm, 0),
                )
                if p.contact_ratio is not None
                else None
            ),
        ),
    ]


def current_stage(p) -> tuple[str | None, int | None]:
    """Stage at the as-of date and days in it."""
    st_hist = p.stage_history
    if st_hist.empty:
        return None, None
    past = st_hist[pd.to_datetime(st_hist["entered_on"]) <= pd.Timestamp(p.as_of)]
    if past.empty:
        return None, None
    last = past.iloc[-1]
    return last["stage"], (pd.Timestamp(p.as_of) - pd.Timestamp(last["entered_on"])).days


def change_sentences(p) -> list[str]:
    """What changed since the last meeting, as translated sentences."""
    out = []
    for c in p.changes:
        v = c.values
        if c.code == "no_meeting":
            out.append(t("change.no_meeting"))
        elif c.code == "since":
            out.append(t("change.since", date=fmt_date(v["date"]), days=fmt_int(v["days"])))
        elif c.code == "revenue":
            out.append(
                t(
                    "change.revenue",
                    before=fmt_money(v["before"]),
                    after=fmt_money(v["after"]),
                    change=fmt_pct(v["change"], signed=True),
                )
            )
        elif c.code == "health":
            out.append(
                t(
                    "change.health",
                    before=fmt_number(v["before"], 0),
                    after=fmt_number(v["after"], 0),
                )
            )
        elif c.code == "nps":
            out.append(
                t(
                    "change.nps",
                    n=fmt_int(v["n"]),
                    promoters=fmt_int(v["promoters"]),
                    detractors=fmt_int(v["detractors"]),
                )
            )
        elif c.code == "products":
            names = product_names(p)
            opened = "、".join(names.get(x, x) for x in v["opened"]) or "—"
            closed = "、".join(names.get(x, x) for x in v["closed"]) or "—"
            out.append(t("change.products", opened=opened, closed=closed))
        elif c.code == "stakeholders":
            out.append(
                t("change.stakeholders", stale=fmt_int(v["stale"]), total=fmt_int(v["total"]))
            )
        elif c.code == "open_items":
            out.append(
                t("change.open_items", open=fmt_int(v["open"]), completed=fmt_int(v["completed"]))
            )
    return out


def gap_sentences(p) -> list[str]:
    """Relationship coverage gaps as translated sentences."""
    out = []
    for code, v in p.gaps:
        if code == "sponsor_not_contacted":
            days = v["days"]
            out.append(
                t(
                    "gap.sponsor_not_contacted",
                    days=fmt_int(days) if days is not None else "—",
                    limit=v["limit"],
                )
            )
        else:
            out.append(t(f"gap.{code}"))
    return out


def whitespace_rows(p) -> pd.DataFrame:
    """Suggested products with their reason, in the viewer's language."""
    names = product_names(p)
    rows = []
    for r in p.whitespace.itertuples():
        if r.because is not None and r.because_share is not None:
            reason = t(
                "whitespace.reason_because",
                share=fmt_pct(r.peer_share, 0),
                cond=fmt_pct(r.because_share, 0),
                because=names.get(r.because, r.because),
            )
        else:
            reason = t("whitespace.reason", share=fmt_pct(r.peer_share, 0))
        rows.append(
            {
                "product": names.get(r.product, r.product),
                "peer_share": r.peer_share,
                "reason": reason,
            }
        )
    return pd.DataFrame(rows, columns=["product", "peer_share", "reason"])


def product_names(p) -> dict[str, str]:
    """Product code to name in the viewer's language."""
    zh = current_language() == "zh"
    return {c: (names[1] if zh else names[0]) for c, names in p.product_names.items()}


def _render_header(p) -> None:
    h = p.header
    st.title(cards.escape_markdown(h["name"]))
    team = h["team_zh"] if current_language() == "zh" else h["team_en"]
    st.caption(
        " · ".join(
            [
                h["code"],
                label("industry", h["industry"]),
                label("region", h["region"]),
                t(f"segment.{h['segment']}"),
                team or "—",
                t("profile.owner", name=h["owner_name"] or "—"),
                t("profile.onboarded", date=fmt_date(h["onboarded_on"])),
            ]
        )
    )
    if h["status"] == "churned":
        st.warning(t("profile.churned", date=fmt_date(h["churned_on"])))


def _render_changes(p) -> None:
    with st.container(border=True):
        st.markdown(f"**{t('profile.changes_title')}**")
        for sentence in change_sentences(p):
            st.markdown(f"- {cards.escape_markdown(sentence)}")


def _render_health(p) -> None:
    """Health over time with its bands, and the latest components (missing ones said so)."""
    h = p.health.dropna(subset=["health_score"])
    if h.empty:
        st.caption(t("profile.no_health"))
        return
    left, right = st.columns(2)
    with left:
        fig = go.Figure(
            go.Scatter(
                x=h["as_of"],
                y=h["health_score"],
                mode="lines+markers",
                line={"color": "#1f4e79"},
                hovertemplate="%{x|%Y-%m}: %{y:.0f}<extra></extra>",
            )
        )
        for y, color in ((65, "#27ae60"), (45, "#c0392b")):
            fig.add_hline(y=y, line={"dash": "dot", "color": color})
        fig.update_layout(
            yaxis={"range": [0, 100], "title": t("col.health")},
            xaxis={"tickformat": "%Y-%m"},  # language-neutral month labels
            showlegend=False,
        )
        st.plotly_chart(
            charts.titled(fig, t("profile.health_over_time"), height=300),
            key="health_history",
            config={"displayModeBar": False},
        )
    with right:
        last = h.iloc[-1]
        names = [t(f"health.{c}") for c in COMPONENTS]
        values = [last[c] for c in COMPONENTS]
        fig = go.Figure(
            go.Bar(
                y=names,
                x=[0 if pd.isna(v) else v for v in values],
                orientation="h",
                marker_color=["#bdc3c7" if pd.isna(v) else "#2e86c1" for v in values],
                text=[t("health.missing") if pd.isna(v) else fmt_number(v, 0) for v in values],
                textposition="auto",
                hovertemplate="%{y}: %{text}<extra></extra>",
            )
        )
        fig.update_layout(xaxis={"range": [0, 100]}, showlegend=False)
        fig.update_yaxes(autorange="reversed")
        st.plotly_chart(
            charts.titled(fig, t("profile.health_components"), height=300),
            key="health_components",
            config={"displayModeBar": False},
        )
        st.caption(t("profile.health_confidence", share=fmt_pct(last["score_confidence"], 0)))
    if len(h) > 3:
        _render_why_it_moved(h.iloc[-4], h.iloc[-1], p.health_weights or HealthSettings().weights)


def _render_why_it_moved(before: pd.Series, after: pd.Series, weights: dict[str, float]) -> None:
    """Each component's share of the health change over the last 3 snapshots.

    ``weights`` are those the snapshots were scored with, so the parts sum to the change.
    """
    change = compute_score_change(before, after, weights)
    fig = go.Figure(
        go.Bar(
            x=change["change"],
            y=[t(f"health.{c}") for c in change["component"]],
            orientation="h",
            marker_color=["#27ae60" if v >= 0 else "#c0392b" for v in change["change"]],
            text=[fmt_number(v, 1) for v in change["change"]],
            textposition="auto",
            hovertemplate="%{y}: %{x:+.1f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(xaxis={"title": t("profile.points")}, showlegend=False)
    st.plotly_chart(
        charts.titled(
            fig,
            t(
                "profile.why_moved",
                before=fmt_number(before["health_score"], 0),
                after=fmt_number(after["health_score"], 0),
                start=fmt_month(before["as_of"].date()),
                end=fmt_month(after["as_of"].date()),
            ),
            height=260,
        ),
        key="why_moved",
        config={"displayModeBar": False},
    )


def _render_points(p) -> None:
    pts = p.points
    if not pts:
        return
    st.markdown(f"**{t('profile.points_title')}**")
    st.caption(
        t(
            "profile.points_text",
            since=fmt_date(pd.Timestamp(pts["since"]).date()),
            earned=fmt_int(pts["earned_12m"]),
            redeemed=fmt_int(pts["redeemed_12m"]),
            balance=fmt_int(pts["balance"]),
        )
    )


def _render_value(p) -> None:
    _render_health(p)
    _render_points(p)
    rev = p.revenue
    if rev.empty:
        st.info(t("common.no_data"))
        return
    divisor, unit = money_unit(rev.groupby("month")["revenue"].sum().max())
    fig = go.Figure()
    for _code, part in rev.groupby("product", sort=True):
        name = product_name(part.iloc[0])
        fig.add_scatter(
            x=part["month"],
            y=part["revenue"] / divisor,
            name=name,
            stackgroup="one",
            mode="lines",
            hovertemplate=f"{name}: %{{y:.2f}} {unit}<extra></extra>",
        )
    months = sorted(rev["month"].unique())
    ticks = months[::3]
    fig.update_layout(
        yaxis={"title": t("profile.revenue_axis", unit=unit)},
        xaxis={"tickvals": ticks, "ticktext": [fmt_month(pd.Timestamp(m).date()) for m in ticks]},
    )
    st.plotly_chart(
        charts.titled(fig, t("profile.revenue_by_product")),
        key="rev_by_product",
        config={"displayModeBar": False},
    )
    if len(p.group):
        st.markdown(f"**{t('profile.group_title')}**")
        group = p.group.assign(
            role=p.group["parent_id"].map(
                lambda x: t("profile.subsidiary") if pd.notna(x) else t("profile.parent")
            )
        )
        total = float(group["revenue_12m"].sum())
        cards.render_table(
            group[["code", "name", "role", "revenue_12m"]].round({"revenue_12m": 0}),
            "strata-account-group",
            column_config={
                "code": t("col.code"),
                "name": t("col.name"),
                "role": t("profile.role"),
                "revenue_12m": st.column_config.NumberColumn(
                    t("col.revenue_12m"), format="localized"
                ),
            },
        )
        st.caption(t("profile.group_total", total=fmt_money(total), n=fmt_int(len(group))))
    st.markdown(f"**{t('profile.tier_history')}**")
    th = p.tier_history.assign(
        tier=p.tier_history["tier"].map(lambda c: label("tier", c)),
        previous_tier=p.tier_history["previous_tier"].map(
            lambda c: label("tier", c) if isinstance(c, str) else "—"
        ),
        changed_on=p.tier_history["changed_on"].map(fmt_date),
    )
    cards.render_table(
        th[["changed_on", "previous_tier", "tier", "reason"]],
        "strata-tier-history",
        column_config={
            "changed_on": t("col.date"),
            "previous_tier": t("profile.from_tier"),
            "tier": t("profile.to_tier"),
            "reason": t("col.reason"),
        },
    )
    if p.purchase:
        _render_purchase(p.purchase)
    if p.clv.sufficient:
        st.caption(
            t(
                "profile.clv_method",
                retention=fmt_pct(p.clv.retention),
                low=fmt_pct(p.clv.retention_ci[0]),
                high=fmt_pct(p.clv.retention_ci[1]),
                rate=fmt_pct(p.clv.discount_rate, 0),
                years=p.clv.horizon_years,
            )
        )


def _render_purchase(o: dict) -> None:
    """Purchase-style outlook of the account's FX deals (BG/NBD + Gamma-Gamma)."""
    st.markdown(f"**{t('profile.purchase_title')}**")
    cols = st.columns(3)
    cols[0].metric(t("profile.expected_deals"), fmt_number(o["expected_52w"], 1))
    cols[1].metric(t("profile.p_alive"), fmt_pct(o["p_alive"], 0))
    cols[2].metric(t("profile.expected_spend"), fmt_money(o["expected_spend_52w"]))
    st.caption(t("profile.purchase_note", n=fmt_int(o["transactions"]), date=o["fitted_on"]))


def _render_behaviour(p) -> None:
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('profile.products_title')}**")
        h = p.holdings.assign(
            product=[product_name(r) for r in p.holdings.itertuples()],
            opened_on=p.holdings["opened_on"].map(fmt_date),
            closed_on=p.holdings["closed_on"].map(lambda d: fmt_date(d) if pd.notna(d) else "—"),
        )
        cards.render_table(
            h[["product", "opened_on", "closed_on"]],
            "strata-profile-behaviour",
            column_config={
                "product": t("col.product"),
                "opened_on": t("col.opened"),
                "closed_on": t("col.closed"),
            },
        )
        bal = p.revenue.dropna(subset=["balance"])
        if len(bal):
            divisor, unit = money_unit(bal["balance"].max())
            fig = go.Figure()
            for _code, part in bal.groupby("product"):
                fig.add_scatter(
                    x=part["month"],
                    y=part["balance"] / divisor,
                    name=product_name(part.iloc[0]),
                    mode="lines",
                )
            fig.update_layout(
                yaxis={"title": t("profile.balance_axis", unit=unit), "rangemode": "tozero"}
            )
            st.plotly_chart(
                charts.titled(fig, t("profile.balances_title")),
                key="balances",
                config={"displayModeBar": False},
            )
    with right:
        mix = p.channel_mix
        if len(mix):
            st.plotly_chart(
                charts.bar_figure(
                    [label("channel", c) for c in mix["channel"]],
                    mix["n"].tolist(),
                    t("profile.channel_mix"),
                    t("profile.interactions"),
                    text=[fmt_pct(s, 0) for s in mix["share"]],
                ),
                key="channels",
                config={"displayModeBar": False},
            )
        if p.contact_ratio is not None:
            st.caption(
                t(
                    "profile.frequency_note",
                    n=fmt_int(p.interactions_12m),
                    norm=fmt_number(p.tier_norm, 0),
                    tier=label("tier", p.header["tier"]),
                )
            )


def _render_needs(p) -> None:
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('profile.surveys_title')}**")
        s = p.surveys.head(15)
        if s.empty:
            st.caption(t("profile.no_surveys"))
        else:
            cards.render_table(
                s.assign(
                    responded_on=s["responded_on"].map(lambda d: fmt_date(d.date())),
                    survey=s["survey"].str.upper(),
                )[["responded_on", "survey", "score", "comment", "contact"]],
                "strata-survey-answers",
                column_config={
                    "responded_on": t("col.date"),
                    "survey": t("col.survey"),
                    "score": t("col.score"),
                    "comment": t("col.comment"),
                    "contact": t("col.contact"),
                },
            )
        st.markdown(f"**{t('profile.notes_title')}**")
        notes = p.interactions.dropna(subset=["notes"]).head(8)
        if notes.empty:
            st.caption(t("profile.no_notes"))
        for r in notes.itertuples():
            st.markdown(
                f"- {fmt_date(r.occurred_on.date())} · "
                f"{cards.escape_markdown(r.by or '—')}: {cards.escape_markdown(r.notes)}"
            )
    with right:
        st.markdown(f"**{t('profile.service_issues')}**")
        issues = p.interventions[
            (p.interventions["kind"] == "service_recovery")
            & p.interventions["status"].isin(["planned", "in_progress"])
        ]
        if issues.empty:
            st.caption(t("profile.no_service_issues"))
        for r in issues.itertuples():
            st.markdown(
                f"- {cards.escape_markdown(r.title)} · {label('status', r.status)} · "
                f"{t('profile.due', date=fmt_date(r.due_on.date()) if pd.notna(r.due_on) else '—')}"
            )
        st.markdown(f"**{t('profile.whitespace_title')}**")
        rows = whitespace_rows(p)
        if rows.empty:
            st.caption(t("profile.no_whitespace", n=fmt_int(p.n_peers)))
        else:
            cards.render_table(
                rows,
                "strata-whitespace",
                column_config={
                    "product": t("col.product"),
                    "peer_share": st.column_config.ProgressColumn(
                        t("profile.peer_share"), format="percent", min_value=0, max_value=1
                    ),
                    "reason": t("col.reason"),
                },
            )
            st.caption(
                t(
                    "profile.whitespace_note",
                    n=fmt_int(p.n_peers),
                    tier=label("tier", p.header["tier"]),
                    industry=label("industry", p.header["industry"]),
                )
            )


def _render_relationships(p, ctx) -> None:
    for sentence in gap_sentences(p):
        st.warning(sentence)
    c = p.contacts
    table = c.assign(
        buying_role=c["buying_role"].map(lambda r: label("buying_role", r)),
        support=c["support"].map(lambda s: label("support", s)),
        last_contacted_on=c["last_contacted_on"].map(
            lambda d: fmt_date(d.date()) if pd.notna(d) else "—"
        ),
    )
    cards.render_table(
        table[
            [
                "name",
                "title",
                "buying_role",
                "support",
                "relationship_strength",
                "last_contacted_on",
            ]
        ],
        "strata-profile-relationships",
        column_config={
            "name": t("col.name"),
            "title": t("col.title"),
            "buying_role": t("col.buying_role"),
            "support": t("col.support"),
            "relationship_strength": st.column_config.NumberColumn(
                t("col.strength"), format="%d / 5"
            ),
            "last_contacted_on": t("col.last_contact"),
        },
    )
    if ctx.scope.can_write_accounts:
        profile_forms.render_contact_forms(p, ctx)


def _render_team(p) -> None:
    team = p.team.assign(
        role=p.team["role"].map(lambda r: label("team_role", r)),
        since=p.team["since"].map(lambda d: fmt_date(d) if isinstance(d, dt.date) else "—"),
        last_touch=p.team["last_touch"].map(lambda d: fmt_date(d.date()) if pd.notna(d) else "—"),
    )
    cards.render_table(
        team[["role", "name", "since", "last_touch"]],
        "strata-profile-team",
        column_config={
            "role": t("profile.role"),
            "name": t("col.name"),
            "since": t("profile.since"),
            "last_touch": t("col.last_contact"),
        },
    )
    st.markdown(f"**{t('profile.peers_title', industry=label('industry', p.header['industry']))}**")
    if not p.peers:
        st.caption(t("profile.no_peers"))
        return
    rows = [
        (
            t("kpi.revenue_12m"),
            fmt_money(p.peers["revenue_12m"][0]),
            fmt_money(p.peers["revenue_12m"][1]),
        ),
        (t("col.products"), fmt_int(p.peers["products"][0]), fmt_number(p.peers["products"][1], 1)),
        (
            t("col.health"),
            fmt_number(p.peers["health"][0], 0) if p.peers["health"][0] else "—",
            fmt_number(p.peers["health"][1], 0),
        ),
    ]
    cards.render_table(
        pd.DataFrame(
            rows, columns=[t("profile.metric"), t("profile.this_account"), t("profile.peer_median")]
        ),
        "strata-profile-team-2",
    )
    st.caption(t("profile.peers_note", n=fmt_int(p.peers["n"])))


def _render_timeline(p) -> None:
    tl = p.timeline
    kinds = ["interaction", "survey", "intervention", "stage", "tier"]
    lang = current_language()
    chosen = st.multiselect(
        t("profile.timeline_filter"),
        kinds,
        default=kinds,
        format_func=lambda k: t(f"timeline.{k}", lang=lang),
        key="_w_timeline_kinds",
    )
    shown = tl[tl["kind"].isin(chosen)]
    if shown.empty:
        st.info(t("profile.timeline_empty"))
        return
    fig = go.Figure()
    for kind, part in shown.groupby("kind"):
        fig.add_scatter(
            x=part["when"],
            y=[t(f"timeline.{kind}")] * len(part),
            mode="markers",
            name=t(f"timeline.{kind}"),
            text=part["text"].astype(str),
            hovertemplate="%{x|%Y-%m-%d}: %{text}<extra></extra>",
        )
    fig.update_layout(showlegend=False, height=280, xaxis={"tickformat": "%Y-%m"})
    st.plotly_chart(
        charts.titled(fig, t("profile.timeline_title")),
        key="timeline",
        config={"displayModeBar": False},
    )
    table = shown.assign(
        when=shown["when"].map(lambda d: fmt_date(d.date()) if pd.notna(d) else "—"),
        kind=shown["kind"].map(lambda k: t(f"timeline.{k}")),
        code=[timeline_label(r.kind, r.code) for r in shown.itertuples()],
    )
    cards.render_table(
        table[["when", "kind", "code", "text", "detail"]].head(300),
        "strata-profile-timeline",
        column_config={
            "when": t("col.date"),
            "kind": t("profile.event"),
            "code": t("profile.type"),
            "text": t("profile.what"),
            "detail": t("profile.detail"),
        },
    )


def timeline_label(kind: str, code: str) -> str:
    """Translated type of a timeline event."""
    group = {
        "interaction": "channel",
        "intervention": "intervention",
        "stage": "stage",
        "tier": "tier",
    }.get(kind)
    return label(group, code) if group else str(code).upper()


def render_profile(p, ctx) -> None:
    """Render the whole profile page for one account."""
    _render_header(p)
    cards.render_kpi_row(key_figures(p), per_row=3)
    left, right = st.columns([3, 1])
    with left:
        _render_changes(p)
    with right:
        brief.render_brief_downloads(p)
        if ctx.scope.can_write_accounts:
            profile_forms.render_interaction_form(p, ctx)
    renderers = (
        lambda: _render_value(p),
        lambda: _render_behaviour(p),
        lambda: _render_needs(p),
        lambda: _render_relationships(p, ctx),
        lambda: _render_team(p),
        lambda: interventions_view.render_account_interventions(p, ctx),
        lambda: _render_timeline(p),
    )
    cards.render_sections("profile.section", dict(zip(SECTION_KEYS, renderers, strict=True)))


def account_from_url() -> str | None:
    """The account code of a shareable link (``?account=C100123``)."""
    code = st.query_params.get("account", "").strip()
    return code or None


def render_account_picker(accounts: pd.DataFrame) -> str | None:
    """Choose an account when the link names none; the choice goes into the URL.

    The largest accounts by revenue are offered, at most ``PICKER_OPTIONS``; a search by
    name or code looks through all of them.
    """
    st.title(t("nav.profile"))
    if accounts.empty:
        st.info(t("common.no_data"))
        return None
    query = st.text_input(
        t("accounts.search"), key="_w_pick_q", placeholder=t("accounts.search_placeholder")
    )
    # Churned accounts too: their profile stays open; the list sorts by revenue.
    matches = account_list.select_accounts(
        accounts, query, bands=[], include_churned=True, period_end=pd.Timestamp.max
    )
    if len(matches) > PICKER_OPTIONS:
        st.caption(
            t(
                "profile.pick_capped",
                limit=fmt_int(PICKER_OPTIONS),
                total=fmt_int(len(matches)),
            )
        )
    ordered = matches.head(PICKER_OPTIONS)
    names = dict(zip(ordered["code"], ordered["name"], strict=True))
    code = st.selectbox(
        t("profile.pick"),
        list(names),
        index=None,
        format_func=lambda c: f"{names[c]} ({c})",
        placeholder=t("accounts.search_placeholder"),
    )
    if code:
        st.query_params["account"] = code
    return code


def render_not_found() -> None:
    """The only thing shown for an unknown account or one outside the viewer's scope."""
    st.error(t("profile.not_found"))

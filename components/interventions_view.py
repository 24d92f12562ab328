"""Interventions page: my list, team board, overdue, calendar, effectiveness, execution.

Lists read the viewer's scope through the cache boundary; effectiveness shows the latest
model run (portfolio-level statistics, no account rows).
"""

from __future__ import annotations

import calendar
import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics import tracking
from components import cards, charts, intervention_forms
from components.i18n import current_language, fmt_date, fmt_int, fmt_number, fmt_pct, label, t
from data_access import cached
from data_access.interventions import OPEN, InterventionQuery
from data_access.schema import INTERVENTION_KINDS, INTERVENTION_STATUSES

DETAIL_URL = "/interventions?id="
BOARD_LIMIT = 25
OUTCOME_UNITS = {"nps": "iv.unit.nps", "revenue": "iv.unit.revenue", "churn": "iv.unit.churn"}


def today() -> dt.date:
    return dt.date.today()


def selected_id() -> int | None:
    """The intervention named in the URL (``?id=123``), if any."""
    raw = st.query_params.get("id", "").strip()
    return int(raw) if raw.isdigit() else None


def display_title(title: str, trigger: str, lang: str) -> str:
    """Rule and playbook titles are stored in both languages ("English · 中文"): show one."""
    if trigger in ("rule", "playbook") and " · " in title:
        en, _, zh = title.partition(" · ")
        return zh if lang == "zh" else en
    return title


def _link_column() -> object:
    return st.column_config.LinkColumn(t("iv.col.id"), display_text=r"id=(\d+)$")


def _table(
    frame: pd.DataFrame, key: str, export: str | None = None, with_account: bool = True
) -> None:
    """The house table of interventions, with links to each record and to the account."""
    lang = current_language()
    if frame.empty:
        st.info(t("iv.none"))
        return
    now = pd.Timestamp(today())
    shown = pd.DataFrame(
        {
            "link": DETAIL_URL + frame["id"].astype(str),
            "account": cards.profile_links(frame["account_code"]),
            "account_name": frame["account_name"],
            "kind": frame["kind"].map(lambda k: label("intervention", k, lang)),
            "title": [
                display_title(x, g, lang)
                for x, g in zip(frame["title"], frame["trigger"], strict=True)
            ],
            "owner": frame["owner"].fillna("—"),
            "due_on": frame["due_on"].dt.date,
            "status": frame["status"].map(lambda s: label("status", s, lang)),
            "priority": frame["priority"].map(lambda p: label("priority", p, lang)),
            "overdue": frame["status"].isin(OPEN) & (frame["due_on"] < now),
            "trigger": frame["trigger"].map(lambda g: label("trigger", g, lang)),
        }
    )
    if not with_account:
        shown = shown.drop(columns=["account", "account_name"])
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key=key,
        column_config={
            "link": _link_column(),
            "account": cards.profile_link_column(),
            "account_name": st.column_config.TextColumn(t("col.name")),
            "kind": st.column_config.TextColumn(t("form.field.kind")),
            "title": st.column_config.TextColumn(t("form.field.subject"), width="large"),
            "owner": st.column_config.TextColumn(t("form.field.owner_id")),
            "due_on": st.column_config.DateColumn(t("form.field.due_on")),
            "status": st.column_config.TextColumn(t("form.field.status")),
            "priority": st.column_config.TextColumn(t("form.field.priority")),
            "overdue": st.column_config.CheckboxColumn(t("iv.overdue")),
            "trigger": st.column_config.TextColumn(t("iv.trigger")),
        },
    )
    if export:
        out = frame[
            [
                "id",
                "account_code",
                "account_name",
                "kind",
                "title",
                "owner",
                "due_on",
                "status",
                "priority",
                "trigger",
                "rule",
                "outcome",
                "completed_on",
                "cost",
            ]
        ].assign(due_on=frame["due_on"].dt.date, completed_on=frame["completed_on"].dt.date)
        cards.render_downloads(out, export)


def render_filters(ctx, owners: pd.DataFrame) -> InterventionQuery:
    """Kind, tier, owner and due-period filters of the list views."""
    lang = current_language()
    cols = st.columns([2, 2, 2, 3])
    kinds = cols[0].multiselect(
        t("form.field.kind"),
        list(INTERVENTION_KINDS),
        format_func=lambda k: label("intervention", k, lang),
        placeholder=t("filter.all"),
        key="_w_iv_kinds",
    )
    tiers = cols[1].multiselect(
        t("filter.tiers"),
        ["strategic", "value", "basic"],
        format_func=lambda c: label("tier", c, lang),
        placeholder=t("filter.all"),
        key="_w_iv_tiers",
    )
    names = dict(zip(owners["id"], owners["display_name"], strict=True))
    owner_ids = cols[2].multiselect(
        t("form.field.owner_id"),
        list(names),
        format_func=lambda i: names.get(i, str(i)),
        placeholder=t("filter.all"),
        key="_w_iv_owners",
    )
    start = today() - dt.timedelta(days=180)
    end = today() + dt.timedelta(days=90)
    period = cols[3].date_input(t("iv.due_between"), value=(start, end), key="_w_iv_period")
    chosen = tuple(period) if isinstance(period, tuple | list) else (period,)
    due_from = chosen[0] if chosen else None
    due_to = chosen[1] if len(chosen) == 2 else None
    return InterventionQuery(
        kinds=tuple(kinds),
        tiers=tuple(tiers),
        owner_ids=tuple(int(i) for i in owner_ids),
        due_from=due_from,
        due_to=due_to,
    )


def render_mine(ctx, frame: pd.DataFrame) -> None:
    """The viewer's own open items (writers) or every open item (readers)."""
    if ctx.scope.can_write_accounts:
        mine = frame[(frame["owner_id"] == ctx.user.id) & frame["status"].isin(OPEN)]
        st.caption(t("iv.mine_caption", n=fmt_int(len(mine))))
    else:
        mine = frame[frame["status"].isin(OPEN)]
        st.caption(t("iv.open_caption", n=fmt_int(len(mine))))
    _table(mine.sort_values(["due_on", "id"], kind="stable"), "tbl_iv_mine", "interventions_mine")


def render_board(frame: pd.DataFrame) -> None:
    """Team board: one column per status (done and cancelled: the last 30 days)."""
    lang = current_language()
    recent = pd.Timestamp(today() - dt.timedelta(days=30))
    st.caption(t("iv.board_caption"))
    cols = st.columns(len(INTERVENTION_STATUSES))
    now = pd.Timestamp(today())
    for col, status in zip(cols, INTERVENTION_STATUSES, strict=True):
        items = frame[frame["status"] == status]
        if status not in OPEN:
            items = items[items["completed_on"].fillna(items["due_on"]) >= recent]
        items = items.sort_values(["due_on", "id"], kind="stable")
        col.markdown(f"**{label('status', status, lang)}** · {fmt_int(len(items))}")
        for row in items.head(BOARD_LIMIT).itertuples(index=False):
            box = col.container(border=True)
            late = status in OPEN and pd.notna(row.due_on) and row.due_on < now
            flag = " :red[●]" if late else ""
            box.markdown(
                f"[#{row.id}]({DETAIL_URL}{row.id}){flag} · {label('intervention', row.kind, lang)}"
            )
            box.text(f"{row.account_name}\n{row.title}")
            box.caption(f"{row.owner or '—'} · {fmt_date(row.due_on)}")
        if len(items) > BOARD_LIMIT:
            col.caption(t("iv.more", n=fmt_int(len(items) - BOARD_LIMIT)))


def render_overdue(frame: pd.DataFrame) -> None:
    overdue = frame[tracking.overdue_mask(frame, today())].sort_values("due_on", kind="stable")
    st.caption(t("iv.overdue_caption", n=fmt_int(len(overdue))))
    _table(overdue, "tbl_iv_overdue", "interventions_overdue")


def render_calendar(frame: pd.DataFrame) -> None:
    """A month grid of open items by due date; the month's list below."""
    lang = current_language()
    first = today().replace(day=1)
    months = [(pd.Timestamp(first) + pd.DateOffset(months=k)).date() for k in range(-3, 4)]
    month = st.selectbox(
        t("iv.month"),
        months,
        index=3,
        format_func=lambda m: f"{m.year}-{m.month:02d}",
        key="_w_iv_month",
    )
    due = frame[frame["due_on"].dt.to_period("M") == pd.Period(month, "M")]
    open_due = due[due["status"].isin(OPEN)]
    counts = open_due.groupby(open_due["due_on"].dt.day).size()
    late = (
        open_due[open_due["due_on"] < pd.Timestamp(today())]
        .groupby(open_due["due_on"].dt.day)
        .size()
    )
    weeks = calendar.Calendar(firstweekday=0).monthdayscalendar(month.year, month.month)
    days = [t(f"iv.weekday.{d}") for d in range(7)]
    grid = []
    for week in weeks:
        cells = []
        for d in week:
            if d == 0:
                cells.append("")
                continue
            n = int(counts.get(d, 0))
            text = f"{d}" if n == 0 else t("iv.cal_cell", day=d, n=n)
            if late.get(d, 0):
                text += " " + t("iv.cal_late", n=int(late.get(d, 0)))
            cells.append(text)
        grid.append(cells)
    st.dataframe(pd.DataFrame(grid, columns=days), hide_index=True, width="stretch")
    st.caption(
        t("iv.calendar_caption", n=fmt_int(len(open_due)), month=f"{month.year}-{month.month:02d}")
    )
    _table(due.sort_values(["due_on", "id"], kind="stable"), "tbl_iv_month")
    del lang


def render_alerts(ctx, rules_info: dict) -> None:
    """Open rule suggestions in scope; admins can evaluate the rules now."""
    frame = cached.load_interventions(
        ctx.scope, InterventionQuery(statuses=OPEN, triggers=("rule",)), ctx.data_version
    )
    frame = frame[frame["rule"].notna()]
    lang = current_language()
    rules = rules_info["alert_rules"]
    st.caption(
        t(
            "iv.alerts_caption",
            n=fmt_int(len(frame)),
            version=rules_info["alert_rules_version"],
            rules=", ".join(label("rule", r, lang) for r in rules.enabled),
        )
    )
    if len(frame):
        by_rule = frame.groupby("rule").size().rename(lambda r: label("rule", r, lang))
        st.bar_chart(by_rule, horizontal=True, height=220, x_label=t("iv.alert_count"), y_label="")
    if ctx.user.role == "admin" and st.button(t("iv.run_rules"), key="_w_run_rules"):
        with st.status(t("iv.running_rules"), expanded=False) as status:
            counts = cached.run_alert_rules(ctx.scope)
            status.update(label=t("iv.rules_done", **counts), state="complete")
        st.session_state[intervention_forms.FLASH] = t("iv.rules_done", **counts)
        st.rerun()
    _table(frame.sort_values(["due_on", "id"], kind="stable"), "tbl_iv_alerts", "alerts")


# ----------------------------------------------------------- effectiveness
def _unit_value(value: float, outcome: str) -> str:
    if outcome == "revenue":
        return fmt_pct(value, 1, signed=True)
    if outcome == "churn":
        return t("iv.pp", value=fmt_number(100 * value, 1))
    return fmt_number(value, 1)


def _interval(row: dict, outcome: str) -> str:
    low, high = _unit_value(row["low"], outcome), _unit_value(row["high"], outcome)
    return f"{_unit_value(row['effect'], outcome)} ({low} … {high})"


def _kind_name(kind: str, lang: str) -> str:
    return t("iv.all_kinds", lang=lang) if kind == "all" else label("intervention", kind, lang)


def effect_table(effects: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Rows per kind for the chosen outcome, horizon and tier, ready to show."""
    lang = current_language()
    rows = []
    for r in effects.to_dict("records"):
        naive = r.get("naive")
        rows.append(
            {
                "kind": _kind_name(r["kind"], lang),
                "estimate": _interval(r, outcome),
                "significant": t("iv.yes") if (r["low"] > 0 or r["high"] < 0) else t("iv.no"),
                "treated": r["n_treated"],
                "controls": r["n_controls"],
                "naive": _interval(naive, outcome) if naive else "—",
                "warning": "⚠" if r["disagree"] else "",
            }
        )
    return pd.DataFrame(rows)


def forest_figure(effects: pd.DataFrame, outcome: str) -> go.Figure:
    """Matched estimate and naive contrast per kind, each with its 95% interval."""
    lang = current_language()
    scale = 100 if outcome in ("revenue", "churn") else 1
    names = [_kind_name(k, lang) for k in effects["kind"]]
    fig = go.Figure()
    fig.add_scatter(
        x=effects["effect"] * scale,
        y=names,
        mode="markers",
        name=t("iv.matched"),
        marker={"size": 10, "color": "#1f4e79"},
        error_x={
            "type": "data",
            "symmetric": False,
            "array": (effects["high"] - effects["effect"]) * scale,
            "arrayminus": (effects["effect"] - effects["low"]) * scale,
        },
    )
    naive = effects["naive"].map(lambda n: n["effect"] if n else None)
    naive_lo = effects["naive"].map(lambda n: n["low"] if n else None)
    naive_hi = effects["naive"].map(lambda n: n["high"] if n else None)
    if naive.notna().any():
        fig.add_scatter(
            x=naive * scale,
            y=names,
            mode="markers",
            name=t("iv.naive"),
            marker={"size": 9, "color": "#c0392b", "symbol": "diamond-open"},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (naive_hi - naive) * scale,
                "arrayminus": (naive - naive_lo) * scale,
                "color": "#e6b0aa",
            },
        )
    fig.add_vline(x=0, line_dash="dot", line_color="#7f8c8d")
    fig.update_xaxes(title=t(OUTCOME_UNITS[outcome]))
    fig.update_yaxes(autorange="reversed")
    return charts.titled(fig, t("iv.forest_title"), height=120 + 38 * len(effects))


def study_figure(points: pd.DataFrame, outcome: str, kind_label: str) -> go.Figure:
    """Effect by month relative to the intervention, with its 95% band."""
    scale = 100 if outcome == "revenue" else 1
    fig = go.Figure()
    fig.add_scatter(
        x=points["rel"],
        y=points["high"] * scale,
        mode="lines",
        line={"width": 0},
        showlegend=False,
        hoverinfo="skip",
    )
    fig.add_scatter(
        x=points["rel"],
        y=points["low"] * scale,
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        fillcolor="rgba(46,134,193,0.2)",
        showlegend=False,
        hoverinfo="skip",
    )
    fig.add_scatter(
        x=points["rel"],
        y=points["effect"] * scale,
        mode="lines+markers",
        name=t("iv.matched"),
        line={"color": "#1f4e79"},
    )
    fig.add_hline(y=0, line_dash="dot", line_color="#7f8c8d")
    fig.add_vline(x=0, line_dash="dash", line_color="#c0392b")
    fig.update_xaxes(title=t("iv.rel_month"))
    fig.update_yaxes(title=t(OUTCOME_UNITS[outcome]))
    return charts.titled(fig, t("iv.study_title", kind=kind_label), height=340)


def render_effectiveness(run: dict | None) -> None:
    """Did it work? Matched DiD per kind and tier beside the naive contrast."""
    lang = current_language()
    if run is None or not run.get("stats") or not run["stats"].get("effects"):
        st.info(t("iv.no_effects"))
        return
    stats = run["stats"]
    all_rows = pd.DataFrame(stats["effects"])
    c1, c2, c3 = st.columns(3)
    outcome = c1.radio(
        t("iv.outcome_label"),
        ["nps", "revenue", "churn"],
        format_func=lambda o: t(f"iv.outcome_name.{o}", lang=lang),
        horizontal=True,
        key="_w_eff_outcome",
    )
    horizons = sorted(all_rows["horizon"].unique())
    horizon = c2.selectbox(
        t("iv.horizon"),
        horizons,
        index=horizons.index(6) if 6 in horizons else 0,
        format_func=lambda h: t("iv.months", n=h, lang=lang),
        key="_w_eff_horizon",
    )
    tiers = ["all", *[x for x in ("strategic", "value", "basic") if x in set(all_rows["tier"])]]
    tier = c3.selectbox(
        t("filter.tiers"),
        tiers,
        format_func=lambda x: t("filter.all", lang=lang) if x == "all" else label("tier", x, lang),
        key="_w_eff_tier",
    )
    rows = all_rows[
        (all_rows["outcome"] == outcome)
        & (all_rows["horizon"] == horizon)
        & (all_rows["tier"] == tier)
    ]
    order = {k: i for i, k in enumerate(("all", *INTERVENTION_KINDS))}
    rows = rows.sort_values("kind", key=lambda s: s.map(order)).reset_index(drop=True)
    st.caption(
        t(
            "iv.effects_caption",
            as_of=fmt_date(run["as_of"]),
            first=stats["window"]["first_month"][:7],
            last=stats["window"]["last_month"][:7],
            events=fmt_int(stats["window"]["events"]),
            unit=t(OUTCOME_UNITS[outcome]),
        )
    )
    if rows.empty:
        st.info(t("iv.no_effects_here"))
        return
    st.plotly_chart(forest_figure(rows, outcome), key="eff_forest", width="stretch")
    table = effect_table(rows, outcome)
    table.columns = [
        t("form.field.kind"),
        t("iv.matched_ci"),
        t("iv.significant"),
        t("iv.n_treated"),
        t("iv.n_controls"),
        t("iv.naive_ci"),
        t("iv.warning"),
    ]
    cards.render_table(table, "strata-interventions-effectiveness")
    disagree = rows[rows["disagree"]]
    if len(disagree):
        names = ", ".join(_kind_name(k, lang) for k in disagree["kind"])
        st.warning(t("iv.rtm_warning", kinds=names))
    if outcome == "churn":
        st.caption(t("iv.churn_note"))
    study = stats.get("event_study", {})
    kinds = [k for k in ("all", *INTERVENTION_KINDS) if outcome in study.get(k, {})]
    if kinds and outcome != "churn":
        kind = st.selectbox(
            t("iv.study_kind"),
            kinds,
            format_func=lambda k: _kind_name(k, lang),
            key="_w_eff_kind",
        )
        points = pd.DataFrame(study[kind][outcome])
        if len(points):
            name = _kind_name(kind, lang)
            st.plotly_chart(study_figure(points, outcome, name), key="eff_study", width="stretch")
    with st.expander(t("iv.method_title"), icon=":material/info:"):
        st.markdown(t("iv.method"))


# -------------------------------------------------------------- execution
def render_execution(frame: pd.DataFrame) -> None:
    """Completion, overdue and outcome mix per owner and per team."""
    lang = current_language()
    if frame.empty:
        st.info(t("iv.none"))
        return
    team_col = "team_zh" if lang == "zh" else "team_en"
    for by, heading in (("owner", "iv.by_owner"), (team_col, "iv.by_team")):
        summary = tracking.execution_summary(
            frame.assign(owner=frame["owner"].fillna("—")), by, today()
        )
        st.markdown(f"**{t(heading)}**")
        shown = pd.DataFrame(
            {
                t("iv.who"): summary[by],
                t("iv.total"): summary["total"],
                t("iv.open"): summary["open"],
                t("iv.overdue"): summary["overdue"],
                t("iv.completion"): [
                    "—" if pd.isna(r) else f"{fmt_pct(r, 0)} ({fmt_pct(lo, 0)}–{fmt_pct(hi, 0)})"
                    for r, lo, hi in zip(
                        summary["completion_rate"],
                        summary["completion_low"],
                        summary["completion_high"],
                        strict=True,
                    )
                ],
                t("iv.overdue_rate"): summary["overdue_rate"].map(
                    lambda v: "—" if pd.isna(v) else fmt_pct(v, 0)
                ),
                label("outcome", "achieved", lang): summary["achieved"].map(
                    lambda v: "—" if pd.isna(v) else fmt_pct(v, 0)
                ),
                label("outcome", "partly_achieved", lang): summary["partly_achieved"].map(
                    lambda v: "—" if pd.isna(v) else fmt_pct(v, 0)
                ),
                label("outcome", "not_achieved", lang): summary["not_achieved"].map(
                    lambda v: "—" if pd.isna(v) else fmt_pct(v, 0)
                ),
            }
        )
        cards.render_table(shown, f"strata-interventions-by-{by.split('_')[0]}")
    st.caption(t("iv.execution_note"))


def render_my_alerts(ctx) -> None:
    """On the manager's home page: open alerts and own items due within two weeks."""
    frame = cached.load_my_alerts(ctx.scope, today(), ctx.data_version)
    with st.container(border=True):
        st.subheader(t("iv.home_title"))
        if frame.empty:
            st.caption(t("iv.home_none"))
            return
        rules = frame["rule"].notna()
        due = ~rules
        st.caption(
            t("iv.home_caption", alerts=fmt_int(int(rules.sum())), due=fmt_int(int(due.sum())))
        )
        _table(frame.head(10), "tbl_home_alerts")
        if len(frame) > 10:
            st.caption(t("iv.more", n=fmt_int(len(frame) - 10)))
        st.page_link("pages/interventions.py", label=t("iv.open_page"), icon=":material/task_alt:")


TABS = ("mine", "board", "overdue", "calendar", "alerts", "effectiveness", "execution", "playbooks")


def render_page(ctx) -> None:
    """The whole interventions page."""
    st.title(t("nav.interventions"))
    intervention_forms.render_flash()
    writer = ctx.scope.can_write_accounts
    iv_id = selected_id()
    if iv_id is not None:
        iv = cached.load_intervention(ctx.scope, iv_id)
        if iv is None:
            st.error(t("iv.not_found"))
        else:
            with st.container(border=True):
                intervention_forms.render_detail(ctx, iv)
    info = cached.load_intervention_settings(ctx.data_version)
    accounts = cached.load_scope_accounts(ctx.scope, ctx.data_version) if writer else None
    if writer:
        with st.expander(t("iv.new"), icon=":material/add_task:"):
            intervention_forms.render_create_form(ctx, accounts)
    owners = cached.load_owner_choices(ctx.scope, None, ctx.data_version)
    query = render_filters(ctx, owners)
    frame = cached.load_interventions(ctx.scope, query, ctx.data_version)
    sections = {
        "mine": lambda: render_mine(ctx, frame),
        "board": lambda: render_board(frame),
        "overdue": lambda: render_overdue(frame),
        "calendar": lambda: render_calendar(frame),
        "alerts": lambda: render_alerts(ctx, info),
        "effectiveness": lambda: render_effectiveness(cached.load_effects(ctx.data_version)),
        "execution": lambda: render_execution(frame),
    }
    if writer:
        sections["playbooks"] = lambda: intervention_forms.render_playbook_form(
            ctx, info["playbooks"], accounts
        )
    cards.render_sections("iv.tab", {k: sections[k] for k in TABS if k in sections})


def render_account_interventions(p, ctx) -> None:
    """The account's interventions on its profile, with a form to plan a new one."""
    query = InterventionQuery(account_id=int(p.header["id"]))
    _table(
        cached.load_interventions(ctx.scope, query, ctx.data_version),
        "tbl_iv_account",
        with_account=False,
    )
    if ctx.scope.can_write_accounts and p.header["status"] == "active":
        with st.expander(t("iv.new"), icon=":material/add_task:"):
            intervention_forms.render_create_form(ctx, pd.DataFrame(), fixed_account=p.header)

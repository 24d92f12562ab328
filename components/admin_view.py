"""Data & users (admins): file imports with column mapping, user administration, audit log."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import streamlit as st

from components import cards
from components.i18n import catalog, current_language, fmt_int, label, t
from components.settings_view import run_refresh
from data_access import cached
from data_access.audit import AuditQuery
from data_access.import_files import MAX_BYTES, FileProblem, read_table
from data_access.import_specs import ENTITIES, auto_mapping
from data_access.importing import Problem, describe, problems_frame
from data_access.schema import ROLES
from data_access.users import UserInput
from data_access.writes import NotPermitted, ValidationError

OUTCOME = "_import_outcome"
FLASH = "_admin_flash"
SHOWN_PROBLEMS = 200


def _describe(problem: Problem) -> str:
    return describe(problem, catalog(current_language()))


def _key_fields(entity: str) -> list[str]:
    spec = ENTITIES[entity]
    by_column = {f.column: f.name for f in spec.fields}
    return [by_column.get(k, k) for k in spec.key]


def _template(entity: str) -> bytes:
    return (",".join(f.name for f in ENTITIES[entity].fields) + "\n").encode("utf-8-sig")


def _mapping_widgets(entity: str, columns: list[str], file_id: str, ctx) -> dict[str, str]:
    spec = ENTITIES[entity]
    presets = cached.load_import_presets(ctx.data_version).get(entity, {})
    auto = t("import.preset_auto")
    preset = st.selectbox(
        t("import.preset"),
        ["", *presets],
        format_func=lambda p: p or auto,
        key=f"_w_imp_preset_{entity}",
    )
    base = presets[preset] if preset else auto_mapping(spec, columns)
    missing = any(f.required and base.get(f.name) not in columns for f in spec.fields)
    options = ["", *columns]
    absent = t("import.not_mapped")
    mapping: dict[str, str] = {}
    with st.expander(t("import.mapping"), expanded=missing):
        st.caption(t("import.mapping_note"))
        grid = st.columns(3)
        for i, f in enumerate(spec.fields):
            default = base.get(f.name, "")
            chosen = grid[i % 3].selectbox(
                f.name + (" *" if f.required else ""),
                options,
                index=options.index(default) if default in columns else 0,
                format_func=lambda c: c or absent,
                key=f"_w_imp_map_{entity}_{preset}_{file_id}_{f.name}",
            )
            if chosen:
                mapping[f.name] = chosen
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        name = left.text_input(t("import.preset_name"), max_chars=60, key=f"_w_imp_pname_{entity}")
        if right.button(
            t("import.preset_save"), key=f"imp_psave_{entity}", disabled=not name.strip()
        ):
            try:
                cached.save_import_preset(ctx.scope, entity, name, mapping)
            except ValidationError:
                st.error(
                    t(
                        "form.problem",
                        field=t("import.preset_name"),
                        problem=t("form.error.required"),
                    )
                )
            else:
                st.session_state[FLASH] = t("import.preset_saved", name=name.strip())
                st.rerun()
    return mapping


def _run(ctx, entity: str, data: bytes, name: str, file_id: str, mapping: dict, dry: bool) -> None:
    with st.status(t("import.checking"), expanded=True) as status:
        bar = st.progress(0.0)

        def progress(message: str, fraction: float) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        checked, result = cached.import_file(ctx.scope, entity, data, name, mapping, dry, progress)
        status.update(state="complete" if checked.ok else "error", expanded=False)
    st.session_state[OUTCOME] = {
        "file_id": file_id,
        "entity": entity,
        "ok": checked.ok,
        "rows": checked.rows,
        "n_problems": checked.n_problems,
        "problems": checked.problems,
        "dry": dry,
        "result": result,
    }


def _render_outcome(file_id: str, entity: str, ctx) -> None:
    outcome = st.session_state.get(OUTCOME)
    if not outcome or outcome["file_id"] != file_id or outcome["entity"] != entity:
        return
    if not outcome["ok"]:
        st.error(t("import.rejected", n=fmt_int(outcome["n_problems"])))
        report = problems_frame(outcome["problems"], _describe)
        report["row"] = report["row"].map(
            lambda r: t("import.file_level") if pd.isna(r) else int(r)
        )
        if len(report) > SHOWN_PROBLEMS or outcome["n_problems"] > len(report):
            st.caption(
                t(
                    "import.more_problems",
                    shown=fmt_int(min(len(report), SHOWN_PROBLEMS)),
                    n=fmt_int(outcome["n_problems"]),
                )
            )
        st.dataframe(
            report.head(SHOWN_PROBLEMS),
            hide_index=True,
            width="stretch",
            column_config={
                "row": t("import.col_row"),
                "column": t("import.col_column"),
                "value": t("import.col_value"),
                "message": st.column_config.TextColumn(t("import.col_message"), width="large"),
            },
        )
        st.download_button(
            t("import.report"),
            cards.neutralise_formulas(report).to_csv(index=False).encode("utf-8-sig"),
            file_name=f"strata-import-errors-{entity}.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            key="imp_report",
        )
        return
    result = outcome["result"]
    if outcome["dry"] or result is None:
        st.success(t("import.checked_ok", rows=fmt_int(outcome["rows"])))
        return
    if result.data_version is None:
        st.info(t("import.nothing_changed", rows=fmt_int(result.rows)))
        return
    st.success(
        t(
            "import.imported",
            rows=fmt_int(result.rows),
            inserted=fmt_int(result.inserted),
            updated=fmt_int(result.updated),
            unchanged=fmt_int(result.unchanged),
            version=result.data_version,
        )
    )
    st.caption(t("import.refresh_hint"))
    if st.button(t("import.refresh"), key="imp_refresh"):
        run_refresh(ctx)


def _render_import(ctx) -> None:
    names = {n: t(f"import.entity_name.{n}") for n in ENTITIES}
    entity = st.selectbox(
        t("import.entity"),
        list(ENTITIES),
        format_func=names.__getitem__,
        key="_w_imp_entity",
    )
    st.caption(t("import.key_note", key=" + ".join(_key_fields(entity))))
    st.download_button(
        t("import.template"),
        _template(entity),
        file_name=f"strata-{entity}-template.csv",
        mime="text/csv",
        icon=":material/description:",
        on_click="ignore",
        key=f"imp_template_{entity}",
    )
    upload = st.file_uploader(
        t("import.upload", limit=MAX_BYTES // 1048576),
        type=["csv", "txt", "tsv", "xlsx", "xls"],
        key=f"_w_imp_file_{entity}",
    )
    if upload is None:
        return
    data = upload.getvalue()
    try:
        raw = read_table(data, upload.name)
    except FileProblem as exc:
        st.error(_describe(Problem(exc.params.get("row"), None, exc.code, None, exc.params)))
        return
    st.caption(
        t(
            "import.read_summary",
            rows=fmt_int(len(raw.frame)),
            columns=len(raw.columns),
            kind=raw.kind.upper(),
            encoding=raw.encoding,
        )
    )
    with st.expander(t("import.preview")):
        st.dataframe(raw.frame.head(5), hide_index=True, width="stretch")
    mapping = _mapping_widgets(entity, raw.columns, upload.file_id, ctx)
    dry = st.checkbox(t("import.dry_run"), key="_w_imp_dry")
    if st.button(t("import.run"), type="primary", key="imp_run"):
        _run(ctx, entity, data, upload.name, upload.file_id, mapping, dry)
    _render_outcome(upload.file_id, entity, ctx)


def _show_problems(exc: ValidationError) -> None:
    for field, code in exc.problems:
        problem = (
            t(f"users.error.{code}")
            if f"users.error.{code}" in catalog("en")
            else t(f"form.error.{code}")
        )
        st.error(t("form.problem", field=t(f"users.field.{field}"), problem=problem))


def _team_picker(where, teams: list[dict], current: int | None, key: str) -> int | None:
    ids = [None, *[tm["id"] for tm in teams]]
    names = {
        tm["id"]: f"{tm['code']} · {tm['name_zh' if current_language() == 'zh' else 'name_en']}"
        for tm in teams
    }
    names[None] = t("users.no_team")
    return where.selectbox(
        t("users.field.team_id"),
        ids,
        index=ids.index(current) if current in ids else 0,
        format_func=names.__getitem__,
        key=key,
    )


def _user_fields(prefix: str, teams: list[dict], current: dict | None = None) -> UserInput:
    current = current or {}
    a, b = st.columns(2)
    display = a.text_input(
        t("users.field.display_name"),
        current.get("display_name", ""),
        max_chars=120,
        key=f"{prefix}_name",
    )
    roles = {r: label("role", r) for r in ROLES}
    role = b.selectbox(
        t("users.field.role"),
        ROLES,
        index=ROLES.index(current.get("role", "account_manager")),
        format_func=roles.__getitem__,
        key=f"{prefix}_role",
    )
    c, d = st.columns(2)
    team = _team_picker(c, teams, current.get("team_id"), f"{prefix}_team")
    locales = ["zh", "en"]
    locale = d.selectbox(
        t("users.field.locale"),
        locales,
        index=locales.index(current.get("locale", "zh")),
        format_func=lambda x: {"zh": "简体中文", "en": "English"}[x],
        key=f"{prefix}_locale",
    )
    email = st.text_input(
        t("users.field.email"), current.get("email") or "", max_chars=254, key=f"{prefix}_email"
    )
    active = st.checkbox(
        t("users.field.active"), value=bool(current.get("active", True)), key=f"{prefix}_active"
    )
    return UserInput(display, role, team, locale, active, email.strip() or None)


def _render_users(ctx) -> None:
    frame = cached.load_users(ctx.scope, ctx.data_version)
    teams = cached.load_teams(ctx.data_version)
    shown = pd.DataFrame(
        {
            "username": frame["username"],
            "display_name": frame["display_name"],
            "role": frame["role"].map(lambda r: label("role", r)),
            "team": frame["team"].fillna("—"),
            "active": frame["active"].astype(bool),
            "has_password": frame["has_password"].astype(bool),
            "created_at": pd.to_datetime(frame["created_at"]).dt.strftime("%Y-%m-%d"),
        }
    )
    cards.render_table(
        shown,
        "strata-users",
        column_config={
            "username": t("users.field.username"),
            "display_name": t("users.field.display_name"),
            "role": t("users.field.role"),
            "team": t("users.field.team_id"),
            "active": st.column_config.CheckboxColumn(t("users.field.active")),
            "has_password": st.column_config.CheckboxColumn(t("users.has_password")),
            "created_at": t("users.created"),
        },
        key="users_table",
    )
    with (
        st.expander(t("users.create"), icon=":material/person_add:"),
        st.form("user_create", clear_on_submit=False),
    ):
        username = st.text_input(t("users.field.username"), max_chars=64, key="_w_uc_username")
        data = _user_fields("_w_uc", teams)
        password = st.text_input(t("users.field.password"), type="password", key="_w_uc_pw")
        st.caption(t("users.password_rule"))
        if st.form_submit_button(t("form.save"), type="primary"):
            try:
                cached.save_new_user(ctx.scope, username.strip(), data, password)
            except ValidationError as exc:
                _show_problems(exc)
            except NotPermitted:
                st.error(t("form.not_permitted"))
            else:
                st.session_state[FLASH] = t("users.created_msg", username=username.strip())
                st.rerun()
    st.subheader(t("users.edit"))
    ids = frame["id"].tolist()
    names = dict(zip(ids, frame["username"] + " · " + frame["display_name"], strict=True))
    chosen = st.selectbox(
        t("users.which"),
        ids,
        format_func=names.__getitem__,
        key="_w_ue_user",
    )
    if chosen is None:
        return
    current = frame[frame["id"] == chosen].iloc[0].to_dict()
    with st.form(f"user_edit_{chosen}"):
        data = _user_fields(f"_w_ue_{chosen}", teams, current)
        st.caption(t("users.sessions_note"))
        if st.form_submit_button(t("form.save"), type="primary"):
            try:
                changed = cached.save_user(ctx.scope, int(chosen), data)
            except ValidationError as exc:
                _show_problems(exc)
            else:
                st.session_state[FLASH] = t(
                    "users.saved" if changed else "users.unchanged", username=current["username"]
                )
                st.rerun()
    with st.form(f"user_password_{chosen}", clear_on_submit=True):
        st.markdown(f"**{t('users.reset_password')}**")
        first = st.text_input(t("users.field.password"), type="password", key=f"_w_up_{chosen}")
        second = st.text_input(t("users.repeat_password"), type="password", key=f"_w_up2_{chosen}")
        st.caption(t("users.password_rule"))
        if st.form_submit_button(t("users.reset_password")):
            if first != second:
                st.error(t("users.error.password_mismatch"))
            else:
                try:
                    cached.save_password_reset(ctx.scope, int(chosen), first)
                except ValidationError as exc:
                    _show_problems(exc)
                else:
                    st.session_state[FLASH] = t("users.password_set", username=current["username"])
                    st.rerun()


def _summary(before: object, after: object) -> str:
    keys = sorted(set(before or {}) | set(after or {})) if isinstance(before or after, dict) else []
    return ", ".join(keys[:8]) + (" …" if len(keys) > 8 else "")


def _render_audit(ctx) -> None:
    facets = cached.load_audit_facets(ctx.scope)
    today = dt.date.today()
    a, b, c, d = st.columns(4)
    period = a.date_input(
        t("audit.period"), (today - dt.timedelta(days=30), today), key="_w_au_period"
    )
    start, end = (period[0], period[-1]) if isinstance(period, tuple) and period else (today, today)
    user_names = dict(facets["users"])
    users = b.multiselect(
        t("audit.users"), list(user_names), format_func=user_names.__getitem__, key="_w_au_users"
    )
    entities = c.multiselect(t("audit.entities"), facets["entities"], key="_w_au_entities")
    actions = d.multiselect(t("audit.actions"), facets["actions"], key="_w_au_actions")
    entity_id = st.text_input(t("audit.entity_id"), max_chars=64, key="_w_au_id")
    query = AuditQuery(start, end, tuple(users), tuple(entities), tuple(actions), entity_id)
    rows, total = cached.load_audit(ctx.scope, query)
    st.caption(t("audit.count", shown=fmt_int(len(rows)), total=fmt_int(total)))
    if rows.empty:
        return
    shown = pd.DataFrame(
        {
            "at": pd.to_datetime(rows["at"]).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "username": rows["username"].fillna(t("audit.system")),
            "action": rows["action"],
            "entity": rows["entity"],
            "entity_id": rows["entity_id"].fillna(""),
            "fields": [_summary(x, y) for x, y in zip(rows["before"], rows["after"], strict=True)],
        }
    )
    event = cards.render_table(
        shown,
        "strata-audit",
        column_config={
            "at": t("audit.at"),
            "username": t("audit.user"),
            "action": t("audit.action"),
            "entity": t("audit.entity"),
            "entity_id": t("audit.id"),
            "fields": t("audit.fields"),
        },
        key="audit_table",
        on_select="rerun",
        selection_mode="single-row",
    )
    picked = event.selection.rows if event is not None else []
    if not picked:
        st.caption(t("audit.pick"))
        return
    row = rows.iloc[picked[0]]
    left, right = st.columns(2)
    left.markdown(f"**{t('audit.before')}**")
    left.code(json.dumps(row["before"], ensure_ascii=False, indent=1, default=str), language="json")
    right.markdown(f"**{t('audit.after')}**")
    right.code(json.dumps(row["after"], ensure_ascii=False, indent=1, default=str), language="json")


def render_admin(ctx) -> None:
    """The Data & users page."""
    st.title(t("admin.title"))
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message)
    cards.render_sections(
        "admin",
        {
            "import_tab": lambda: _render_import(ctx),
            "users_tab": lambda: _render_users(ctx),
            "audit_tab": lambda: _render_audit(ctx),
        },
    )

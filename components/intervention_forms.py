"""Intervention forms: create, edit, start / complete / cancel / reopen, apply a playbook.

All writes go through the cache boundary; the write layer validates, checks scope,
audits, bumps the data version and refuses stale edits (optimistic locking).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import TypeVar

import pandas as pd
import streamlit as st

from analytics.playbooks import Playbook
from components import cards
from components.i18n import current_language, fmt_date, fmt_money, label, t
from data_access import cached
from data_access.engine import DatabaseUnavailable
from data_access.interventions import TRANSITIONS, InterventionInput, form_token
from data_access.schema import (
    INTERVENTION_KINDS,
    INTERVENTION_OUTCOMES,
    INTERVENTION_PRIORITIES,
    OFFER_RESPONSES,
)
from data_access.writes import Conflict, NotPermitted, ValidationError

FLASH = "intervention_flash"
PAGE = "pages/interventions.py"
T = TypeVar("T")
FIELDS = ("kind", "title", "owner_id", "due_on", "priority", "expected_effect", "cost", "notes")


def render_flash() -> None:
    """Show the message of the last successful save once."""
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message)


def _show_problems(exc: ValidationError) -> None:
    for field, code in exc.problems:
        name = "subject" if field == "title" else field  # an intervention's title is its subject
        st.error(t("form.problem", field=t(f"form.field.{name}"), problem=t(f"form.error.{code}")))


FAILED = object()


def _attempt(save: Callable[[], T], on_conflict: Callable[[Conflict], None] | None = None):
    """Run a save; translated messages instead of exceptions. ``FAILED`` if it did not save."""
    try:
        return save()
    except ValidationError as exc:
        _show_problems(exc)
    except NotPermitted:
        st.error(t("form.not_permitted"))
    except DatabaseUnavailable:
        st.error(t("form.not_saved_db"))
    except Conflict as exc:
        if on_conflict is None:
            raise
        on_conflict(exc)
    return FAILED


def _nonce(key: str) -> str:
    """A per-form random value: the same filled-in form gives the same idempotency token."""
    return st.session_state.setdefault(f"_nonce_{key}", secrets.token_hex(8))


def _fields(prefix: str, owners: pd.DataFrame, current: dict | None) -> InterventionInput:
    lang = current_language()
    cur = current or {}
    kinds = list(INTERVENTION_KINDS)
    kind = st.selectbox(
        t("form.field.kind"),
        kinds,
        index=kinds.index(cur.get("kind", "care_visit")),
        format_func=lambda k: label("intervention", k, lang),
        key=f"{prefix}_kind",
    )
    title = st.text_input(
        t("form.field.subject"), value=cur.get("title") or "", max_chars=200, key=f"{prefix}_title"
    )
    names = dict(zip(owners["id"], owners["display_name"], strict=True))
    choices = list(names)
    default_owner = cur.get("owner_id")
    owner = st.selectbox(
        t("form.field.owner_id"),
        choices,
        index=choices.index(default_owner) if default_owner in names else 0,
        format_func=lambda i: names.get(i, str(i)),
        key=f"{prefix}_owner",
    )
    left, right = st.columns(2)
    due_value = cur.get("due_on") or dt.date.today() + dt.timedelta(days=7)
    if isinstance(due_value, pd.Timestamp):
        due_value = due_value.date()
    due = left.date_input(t("form.field.due_on"), value=due_value, key=f"{prefix}_due")
    priorities = list(INTERVENTION_PRIORITIES)
    priority = right.selectbox(
        t("form.field.priority"),
        priorities,
        index=priorities.index(cur.get("priority") or "normal"),
        format_func=lambda p: label("priority", p, lang),
        key=f"{prefix}_priority",
    )
    expected = st.text_input(
        t("form.field.expected_effect"),
        value=cur.get("expected_effect") or "",
        max_chars=200,
        key=f"{prefix}_expected",
    )
    cost_value = cur.get("cost")
    cost = st.number_input(
        t("form.field.cost"),
        min_value=0.0,
        max_value=1e9,
        value=None if cost_value is None or pd.isna(cost_value) else float(cost_value),
        step=500.0,
        key=f"{prefix}_cost",
    )
    notes = st.text_area(
        t("form.field.notes"), value=cur.get("notes") or "", max_chars=5000, key=f"{prefix}_notes"
    )
    offered, response = _offer_fields(prefix, cur)
    return InterventionInput(
        kind=kind,
        title=title,
        owner_id=owner,
        due_on=due,
        priority=priority,
        expected_effect=expected,
        cost=cost,
        notes=notes,
        offered_product=offered,
        offer_response=response,
    )


def _offer_fields(prefix: str, cur: dict) -> tuple[str | None, str | None]:
    """Offered product and the client's answer (cross-sell campaigns and pricing offers)."""
    lang = current_language()
    products = cached.load_products(0)
    names = dict(
        zip(products["code"], products["name_zh" if lang == "zh" else "name_en"], strict=True)
    )
    ids = dict(zip(products["id"], products["code"], strict=True))
    current = ids.get(cur.get("offered_product_id"))
    left, right = st.columns(2)
    codes = [None, *names]
    offered = left.selectbox(
        t("form.field.offered_product"),
        codes,
        index=codes.index(current) if current in names else 0,
        format_func=lambda c: t("iv.no_offer", lang=lang) if c is None else names[c],
        key=f"{prefix}_offered",
    )
    answers = [None, *OFFER_RESPONSES]
    response = right.selectbox(
        t("form.field.offer_response"),
        answers,
        index=answers.index(cur.get("offer_response")) if cur.get("offer_response") else 0,
        format_func=lambda r: "—" if r is None else label("offer_response", r, lang),
        key=f"{prefix}_response",
    )
    return offered, response


def render_create_form(ctx, accounts: pd.DataFrame, fixed_account: dict | None = None) -> None:
    """A form to plan a new intervention, for a chosen account or ``fixed_account``."""
    key = f"new_iv_{fixed_account['id'] if fixed_account else 'any'}"
    with st.form(key, clear_on_submit=False):
        if fixed_account is None:
            if accounts.empty:
                st.info(t("common.no_data"))
                st.form_submit_button(t("form.save"), disabled=True)
                return
            labels = dict(
                zip(
                    accounts["account_id"], accounts["code"] + " · " + accounts["name"], strict=True
                )
            )
            account_id = st.selectbox(
                t("iv.account"),
                list(labels),
                index=None,
                format_func=labels.__getitem__,
                placeholder=t("iv.pick_account"),
                key=f"_w_{key}_account",
            )
            team_id = None
            if account_id is not None:
                team_id = int(accounts.set_index("account_id").loc[account_id, "team_id"])
        else:
            account_id, team_id = fixed_account["id"], fixed_account["team_id"]
        owners = cached.load_owner_choices(ctx.scope, team_id, ctx.data_version)
        if fixed_account is None and account_id is None:
            st.caption(t("iv.owner_after_account"))
        data = _fields(f"_w_{key}", owners, {"owner_id": ctx.user.id})
        if st.form_submit_button(t("form.save"), type="primary"):
            if account_id is None:
                st.error(t("form.problem", field=t("iv.account"), problem=t("form.error.required")))
                return
            token = form_token(ctx.user.id, int(account_id), data, _nonce(key))
            result = _attempt(
                lambda: cached.save_new_intervention(ctx.scope, int(account_id), data, token)
            )
            if result is not FAILED:
                new_id, created = result
                st.session_state.pop(f"_nonce_{key}", None)
                message = "iv.saved_new" if created else "iv.already_saved"
                st.session_state[FLASH] = t(message, id=new_id)
                st.rerun()


def _conflict_table(mine: InterventionInput, theirs: dict) -> pd.DataFrame:
    lang = current_language()
    rows = []
    for f in FIELDS:
        a, b = getattr(mine, f), theirs.get(f)
        if f == "due_on" and isinstance(b, str):
            b = dt.date.fromisoformat(b)
        if (a or None) != (b or None):
            rows.append({t("iv.field"): t(f"form.field.{f}"), t("iv.yours"): a, t("iv.theirs"): b})
    rows.append(
        {
            t("iv.field"): t("form.field.status"),
            t("iv.yours"): "",
            t("iv.theirs"): label("status", theirs.get("status"), lang),
        }
    )
    return pd.DataFrame(rows).astype(str)


def _version_key(iv_id: int) -> str:
    return f"iv_version_{iv_id}"


def render_detail(ctx, iv: dict) -> None:
    """One intervention: its facts, its status actions and its edit form."""
    lang = current_language()
    iv_id = int(iv["id"])
    # The version this user started from; a refused save moves it to what is stored.
    expected = st.session_state.setdefault(_version_key(iv_id), int(iv["version"]))
    st.subheader(f"#{iv_id} · {cards.escape_markdown(iv['title'])}")
    facts = {
        t("iv.account"): f"{iv['account_code']} · {iv['account_name']}",
        t("form.field.kind"): label("intervention", iv["kind"], lang),
        t("form.field.status"): label("status", iv["status"], lang),
        t("form.field.owner_id"): iv.get("owner") or "—",
        t("form.field.due_on"): fmt_date(iv["due_on"]),
        t("form.field.priority"): label("priority", iv["priority"], lang),
        t("iv.trigger"): label("trigger", iv["trigger"], lang)
        + (f" · {label('rule', iv['rule'], lang)}" if iv.get("rule") else ""),
        t("form.field.outcome"): label("outcome", iv["outcome"], lang) if iv["outcome"] else "—",
        t("form.field.cost"): fmt_money(iv["cost"]) if iv["cost"] is not None else "—",
        t("iv.version"): str(iv["version"]),
    }
    cards.render_table(
        pd.DataFrame({t("iv.field"): list(facts), t("iv.value"): list(facts.values())}),
        "strata-intervention",
    )
    st.page_link(
        "pages/profile.py",
        label=t("iv.open_profile"),
        icon=":material/person_search:",
        query_params={"account": iv["account_code"]},
    )
    if iv.get("notes"):
        st.text(iv["notes"])
    if not ctx.scope.can_write_accounts:
        return
    _render_status_actions(ctx, iv, expected)
    with st.expander(t("iv.edit"), icon=":material/edit:"):
        owners = cached.load_owner_choices(ctx.scope, int(iv["team_id"]), ctx.data_version)
        with st.form(f"edit_iv_{iv_id}"):
            data = _fields(f"_w_eiv{iv_id}", owners, iv)
            if st.form_submit_button(t("form.save"), type="primary"):

                def conflict(exc: Conflict) -> None:
                    st.session_state[_version_key(iv_id)] = int(exc.current["version"])
                    st.error(t("iv.conflict"))
                    st.dataframe(_conflict_table(data, exc.current), hide_index=True)

                saved = _attempt(
                    lambda: cached.save_intervention_edit(ctx.scope, iv_id, expected, data),
                    conflict,
                )
                if saved is not FAILED:
                    st.session_state.pop(_version_key(iv_id), None)
                    st.session_state[FLASH] = t("iv.saved_edit", id=iv_id)
                    st.rerun()


def _render_status_actions(ctx, iv: dict, expected: int) -> None:
    lang = current_language()
    iv_id = int(iv["id"])
    actions = [a for a, (allowed, _) in TRANSITIONS.items() if iv["status"] in allowed]
    if not actions:
        return
    with st.form(f"status_iv_{iv_id}"):
        st.markdown(f"**{t('iv.change_status')}**")
        action = st.radio(
            t("iv.action"),
            actions,
            horizontal=True,
            format_func=lambda a: t(f"iv.do.{a}", lang=lang),
            key=f"_w_siv{iv_id}_action",
        )
        outcome = st.selectbox(
            t("form.field.outcome"),
            list(INTERVENTION_OUTCOMES[:3]),
            index=None,
            format_func=lambda o: label("outcome", o, lang),
            placeholder=t("iv.outcome_placeholder"),
            key=f"_w_siv{iv_id}_outcome",
        )
        note = st.text_area(t("iv.status_note"), max_chars=2000, key=f"_w_siv{iv_id}_note")
        if st.form_submit_button(t("iv.apply_status"), type="primary"):

            def conflict(exc: Conflict) -> None:
                st.session_state[_version_key(iv_id)] = int(exc.current["version"])
                stored = label("status", exc.current["status"], lang)
                st.error(t("iv.conflict_status", status=stored))

            chosen = outcome if action == "complete" else None
            saved = _attempt(
                lambda: cached.save_intervention_status(
                    ctx.scope, iv_id, expected, action, chosen, note
                ),
                conflict,
            )
            if saved is not FAILED:
                st.session_state.pop(_version_key(iv_id), None)
                done = t(f"iv.do.{action}")
                st.session_state[FLASH] = t("iv.saved_status", id=iv_id, status=done)
                st.rerun()


def render_playbook_form(ctx, playbooks: tuple[Playbook, ...], accounts: pd.DataFrame) -> None:
    """Apply a playbook to one or many accounts, after a preview."""
    lang = current_language()
    if accounts.empty:
        st.info(t("common.no_data"))
        return
    by_code = {p.code: p for p in playbooks}
    code = st.selectbox(
        t("iv.playbook"),
        list(by_code),
        format_func=lambda c: by_code[c].name_zh if lang == "zh" else by_code[c].name_en,
        key="_w_pb_code",
    )
    playbook = by_code[code]
    steps = pd.DataFrame(
        {
            t("iv.step"): range(1, len(playbook.steps) + 1),
            t("form.field.kind"): [label("intervention", s.kind, lang) for s in playbook.steps],
            t("form.field.subject"): [
                s.title_zh if lang == "zh" else s.title_en for s in playbook.steps
            ],
            t("iv.offset_days"): [s.offset_days for s in playbook.steps],
            t("form.field.priority"): [label("priority", s.priority, lang) for s in playbook.steps],
        }
    )
    cards.render_table(steps, "strata-playbook-steps")
    labels = dict(zip(accounts["code"], accounts["code"] + " · " + accounts["name"], strict=True))
    codes = st.multiselect(
        t("iv.accounts"),
        list(labels),
        format_func=labels.__getitem__,
        max_selections=200,
        placeholder=t("iv.pick_accounts"),
        key="_w_pb_accounts",
    )
    start = st.date_input(t("iv.start_on"), value=dt.date.today(), key="_w_pb_start")
    if not codes:
        return
    preview = cached.preview_playbook(ctx.scope, playbook, tuple(codes), start)
    st.caption(t("iv.preview", n=len(preview), accounts=len(codes)))
    shown = preview.assign(
        kind=preview["kind"].map(lambda k: label("intervention", k, lang)),
        due_on=preview["due_on"].map(fmt_date),
    )[["code", "name", "step", "kind", "title", "due_on"]]
    shown.columns = [
        t("col.code"),
        t("col.name"),
        t("iv.step"),
        t("form.field.kind"),
        t("form.field.subject"),
        t("form.field.due_on"),
    ]
    cards.render_table(shown, "strata-playbook-accounts", height=min(400, 40 + 35 * len(shown)))
    token = st.session_state.setdefault("_pb_token", secrets.token_hex(12))
    if st.button(t("iv.apply_playbook", n=len(preview)), type="primary", key="_w_pb_apply"):
        created = _attempt(
            lambda: cached.apply_playbook(ctx.scope, playbook, tuple(codes), start, token)
        )
        if created is not FAILED:
            st.session_state.pop("_pb_token", None)
            st.session_state[FLASH] = t("iv.playbook_applied", n=created, accounts=len(codes))
            st.rerun()

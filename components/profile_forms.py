"""Forms on the profile: log an interaction, add or edit a stakeholder.

They write through the cache boundary; the write functions validate, check scope,
audit and bump the data version, so every user sees the change at once.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from components.i18n import current_language, label, t
from data_access import cached
from data_access.engine import DatabaseUnavailable
from data_access.schema import BUYING_ROLES, CHANNELS
from data_access.writes import (
    Conflict,
    ContactInput,
    InteractionInput,
    NotPermitted,
    ValidationError,
)

FLASH = "profile_flash"


def _show_problems(exc: ValidationError) -> None:
    for field, code in exc.problems:
        st.error(t("form.problem", field=t(f"form.field.{field}"), problem=t(f"form.error.{code}")))


def render_flash() -> None:
    """Show the message of the last successful save once."""
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message)


def render_interaction_form(p, ctx) -> None:
    """A popover form to log a touchpoint with the account."""
    lang = current_language()
    contacts = dict(zip(p.contacts["id"], p.contacts["name"], strict=True))
    popover = st.popover(t("form.log_interaction"), icon=":material/add_comment:", width="stretch")
    with popover, st.form("log_interaction", clear_on_submit=False):
        channel = st.selectbox(
            t("form.field.channel"), CHANNELS, format_func=lambda c: label("channel", c, lang)
        )
        occurred = st.date_input(
            t("form.field.occurred_on"), value=dt.date.today(), max_value=dt.date.today()
        )
        contact = st.selectbox(
            t("form.field.contact_id"),
            [None, *contacts],
            format_func=lambda c: t("form.no_contact", lang=lang) if c is None else contacts[c],
        )
        subject = st.text_input(t("form.field.subject"), max_chars=200)
        notes = st.text_area(t("form.field.notes"), max_chars=5000)
        sentiment = st.radio(
            t("form.field.sentiment"),
            [1, 0, -1],
            index=1,
            horizontal=True,
            format_func=lambda s: label("sentiment", s, lang),
        )
        if st.form_submit_button(t("form.save"), type="primary"):
            data = InteractionInput(
                channel=channel,
                occurred_on=occurred,
                subject=subject,
                notes=notes,
                sentiment=sentiment,
                contact_id=contact,
            )
            try:
                cached.save_interaction(ctx.scope, p.header["id"], data)
            except ValidationError as exc:
                _show_problems(exc)
            except NotPermitted:
                st.error(t("form.not_permitted"))
            except DatabaseUnavailable:
                st.error(t("form.not_saved_db"))
            else:
                st.session_state[FLASH] = t("form.saved_interaction")
                st.rerun()


def _contact_fields(prefix: str, current: dict | None) -> ContactInput:
    lang = current_language()
    cur = current or {}
    name = st.text_input(
        t("form.field.name"), value=cur.get("name", ""), max_chars=120, key=f"{prefix}_name"
    )
    title = st.text_input(
        t("form.field.title"), value=cur.get("title", ""), max_chars=120, key=f"{prefix}_title"
    )
    roles = list(BUYING_ROLES)
    role = st.selectbox(
        t("form.field.buying_role"),
        roles,
        index=roles.index(cur.get("buying_role", "user")),
        format_func=lambda r: label("buying_role", r, lang),
        key=f"{prefix}_role",
    )
    support = st.select_slider(
        t("form.field.support"),
        options=[-2, -1, 0, 1, 2],
        value=int(cur.get("support", 0)),
        format_func=lambda s: label("support", s, lang),
        key=f"{prefix}_support",
    )
    strength = st.slider(
        t("form.field.relationship_strength"),
        1,
        5,
        int(cur.get("relationship_strength", 3)),
        key=f"{prefix}_strength",
    )
    last = cur.get("last_contacted_on")
    last_value = last.date() if isinstance(last, pd.Timestamp) and pd.notna(last) else None
    last = st.date_input(
        t("form.field.last_contacted_on"),
        value=last_value,
        max_value=dt.date.today(),
        key=f"{prefix}_last",
    )
    return ContactInput(
        name=name,
        title=title,
        buying_role=role,
        support=support,
        relationship_strength=strength,
        last_contacted_on=last,
    )


def render_contact_forms(p, ctx) -> None:
    """Add a stakeholder, or edit one with optimistic locking."""
    add, edit = st.columns(2)
    expander = add.expander(t("form.add_contact"), icon=":material/person_add:")
    with expander, st.form("add_contact"):
        data = _contact_fields("_w_nc", None)
        if st.form_submit_button(t("form.save"), type="primary"):
            try:
                cached.save_new_contact(ctx.scope, p.header["id"], data)
            except ValidationError as exc:
                _show_problems(exc)
            except NotPermitted:
                st.error(t("form.not_permitted"))
            except DatabaseUnavailable:
                st.error(t("form.not_saved_db"))
            else:
                st.session_state[FLASH] = t("form.saved_contact", name=data.name)
                st.rerun()
    if p.contacts.empty:
        return
    with edit, st.expander(t("form.edit_contact"), icon=":material/edit:"):
        names = dict(zip(p.contacts["id"], p.contacts["name"], strict=True))
        cid = st.selectbox(
            t("form.which_contact"),
            list(names),
            format_func=names.__getitem__,
            key="_w_edit_contact",
        )
        current = p.contacts.set_index("id").loc[cid].to_dict()
        version_key = f"contact_version_{cid}"
        # The version the user started editing from; a conflict moves it forward.
        expected = st.session_state.setdefault(version_key, int(current["version"]))
        with st.form(f"edit_contact_{cid}"):
            data = _contact_fields(f"_w_ec{cid}", current)
            if st.form_submit_button(t("form.save"), type="primary"):
                try:
                    cached.save_contact_edit(ctx.scope, int(cid), expected, data)
                except ValidationError as exc:
                    _show_problems(exc)
                except NotPermitted:
                    st.error(t("form.not_permitted"))
                except DatabaseUnavailable:
                    st.error(t("form.not_saved_db"))
                except Conflict as exc:
                    st.session_state[version_key] = int(exc.current["version"])
                    st.error(t("form.conflict"))
                    st.json(
                        {
                            k: exc.current[k]
                            for k in (
                                "name",
                                "title",
                                "buying_role",
                                "support",
                                "relationship_strength",
                                "last_contacted_on",
                            )
                        }
                    )
                else:
                    st.session_state.pop(version_key, None)
                    st.session_state[FLASH] = t("form.saved_contact", name=data.name)
                    st.rerun()

"""KPI cards and tables rendered from small specs."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from components.i18n import t

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class KpiSpec:
    """One KPI card: label, formatted value, optional delta and explanatory help."""

    label: str
    value: str
    delta: str | None = None
    delta_color: str = "normal"
    help: str | None = None
    caption: str | None = None


def render_kpi_row(specs: Sequence[KpiSpec], per_row: int = 4) -> None:
    """Render KPI cards in rows of ``per_row``."""
    for start in range(0, len(specs), per_row):
        cols = st.columns(per_row)
        for col, spec in zip(cols, specs[start : start + per_row], strict=False):
            with col:
                st.metric(
                    spec.label,
                    spec.value,
                    delta=spec.delta,
                    delta_color=spec.delta_color,
                    help=spec.help,
                    border=True,
                )
                if spec.caption:
                    st.caption(spec.caption)


PROFILE_URL = "/profile?account="


def profile_links(codes: pd.Series) -> pd.Series:
    """Profile URLs for account codes (shown by :func:`profile_link_column` as the code)."""
    return PROFILE_URL + codes


def profile_link_column() -> object:
    """A table column that shows an account's code and opens its profile."""
    return st.column_config.LinkColumn(t("col.code"), display_text=r"account=(.*)$")


def escape_markdown(text: object) -> str:
    """Free text (names, notes, titles) for Markdown elements: shown as typed, never as markup."""
    return "".join("\\" + ch if ch in "\\`*_{}[]<>()#+-.!|~$:" else ch for ch in str(text))


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v
            )
    return out


def _frame(frame: pd.DataFrame | Callable[[], pd.DataFrame]) -> pd.DataFrame:
    return frame() if callable(frame) else frame


def _csv_bytes(frame: pd.DataFrame | Callable[[], pd.DataFrame]) -> bytes:
    return neutralise_formulas(_frame(frame)).to_csv(index=False).encode("utf-8-sig")


def _xlsx_bytes(frame: pd.DataFrame | Callable[[], pd.DataFrame]) -> bytes:
    out = io.BytesIO()
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        neutralise_formulas(_frame(frame)).to_excel(writer, index=False, sheet_name="Strata")
    return out.getvalue()


def render_downloads(
    frame: pd.DataFrame | Callable[[], pd.DataFrame], basename: str, key: str | None = None
) -> None:
    """CSV and Excel downloads of exactly ``frame``, formula cells neutralised.

    The files are made when a download button is clicked, not on every page run; a
    callable ``frame`` is only built then, too.
    """
    left, right, _ = st.columns([1, 1, 4])
    left.download_button(
        t("export.csv"),
        functools.partial(_csv_bytes, frame),
        file_name=f"{basename}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key=f"{key}_csv" if key else None,
    )
    right.download_button(
        t("export.xlsx"),
        functools.partial(_xlsx_bytes, frame),
        file_name=f"{basename}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:",
        on_click="ignore",
        key=f"{key}_xlsx" if key else None,
    )


def _labelled(frame: pd.DataFrame, column_config: dict | None) -> pd.DataFrame:
    """``frame`` as the table shows it: hidden columns dropped, headers as labelled."""
    if not column_config:
        return frame
    hidden = [c for c, spec in column_config.items() if spec is None and c in frame]
    names = {}
    for col, spec in column_config.items():
        if isinstance(spec, str):
            names[col] = spec
        elif isinstance(spec, dict) and spec.get("label"):
            names[col] = spec["label"]
    return frame.drop(columns=hidden).rename(columns=names)


def render_table(
    frame: pd.DataFrame,
    basename: str,
    column_config: dict | None = None,
    key: str | None = None,
    **kwargs: object,
) -> object:
    """A table and the CSV and Excel downloads of exactly what it shows."""
    event = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config=column_config,
        key=key,
        **kwargs,
    )
    render_downloads(_labelled(frame, column_config), basename, key=f"dl_{key}" if key else None)
    return event


def render_sections(label_prefix: str, sections: dict[str, Callable[[], None]]) -> None:
    """One tab per section, labelled ``t(f"{label_prefix}.{key}")``, each drawn by its function.

    Only the open tab is drawn (choosing another reruns the page): a page's sections
    are not all computed and sent to the browser when one is looked at.
    """
    tabs = st.tabs(
        [t(f"{label_prefix}.{key}") for key in sections],
        key=f"_w_tabs_{label_prefix}",
        on_change="rerun",
    )
    for tab, render in zip(tabs, sections.values(), strict=True):
        if tab.open:
            with tab:
                render()

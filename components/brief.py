"""The one-page meeting brief, as Markdown and as PDF, in the viewer's language.

Both are built from the same :class:`Brief`, whose key figures are the profile page's
own ``key_figures``, so the brief never disagrees with the page.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import streamlit as st
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from components.i18n import fmt_date, fmt_int, fmt_money, fmt_number, fmt_pct, label, t

FONT_FILE = "NotoSansCJKsc-Regular.otf"


@dataclass(frozen=True)
class Brief:
    """What the brief says, already translated and formatted."""

    title: str
    subtitle: str
    figures: list[tuple[str, str, str]]
    changes: list[str]
    risks: list[str]
    talking_points: list[str]
    open_items: list[str]
    suggestions: list[str]
    stakeholders: list[str]
    footer: str
    headings: dict[str, str]


def _risks(p) -> list[str]:
    from components.profile_view import current_stage, gap_sentences

    out = []
    band = p.health["health_band"].iloc[-1] if len(p.health) else None
    if band == "at_risk":
        out.append(t("brief.risk.health", score=fmt_number(p.health["health_score"].iloc[-1], 0)))
    if p.health_direction == "down":
        out.append(t("brief.risk.health_falling", delta=fmt_number(p.health_delta, 1)))
    stage, _ = current_stage(p)
    if stage == "at_risk":
        out.append(t("brief.risk.stage"))
    if p.value.revenue_change is not None and p.value.revenue_change < -0.1:
        out.append(t("brief.risk.revenue", change=fmt_pct(p.value.revenue_change, signed=True)))
    detractors = p.surveys[(p.surveys["survey"] == "nps") & (p.surveys["score"] <= 6)]
    if len(detractors):
        out.append(t("brief.risk.detractors", n=fmt_int(len(detractors))))
    out += gap_sentences(p)
    return out or [t("brief.risk.none")]


def _talking_points(p) -> list[str]:
    from components.profile_view import whitespace_rows

    out = []
    change = p.value.revenue_change
    if change is not None and change > 0.1:
        out.append(t("brief.talk.growth", change=fmt_pct(change, signed=True)))
    elif change is not None and change < -0.1:
        out.append(t("brief.talk.decline", change=fmt_pct(change, signed=True)))
    comments = p.surveys.dropna(subset=["comment"])
    low = comments[(comments["survey"] == "nps") & (comments["score"] <= 6)]
    if len(low):
        out.append(t("brief.talk.feedback", comment=low.iloc[0]["comment"]))
    ws = whitespace_rows(p)
    if len(ws):
        out.append(
            t("brief.talk.product", product=ws.iloc[0]["product"], reason=ws.iloc[0]["reason"])
        )
    if p.value.share_of_wallet is not None and p.value.share_of_wallet < 0.3:
        out.append(t("brief.talk.wallet", share=fmt_pct(p.value.share_of_wallet, 0)))
    if not out:
        out.append(t("brief.talk.default"))
    return out


def build_brief(p) -> Brief:
    """Assemble the brief for one profile in the current language."""
    from components.profile_view import change_sentences, key_figures, whitespace_rows

    h = p.header
    figures = [
        (k.label, k.value, " · ".join(x for x in (k.delta, k.caption) if x)) for k in key_figures(p)
    ]
    open_iv = p.interventions[p.interventions["status"].isin(["planned", "in_progress"])]
    open_items = [
        f"{r.title} · {label('status', r.status)} · "
        f"{t('profile.due', date=fmt_date(r.due_on.date()) if pd.notna(r.due_on) else '—')}"
        for r in open_iv.itertuples()
    ] or [t("brief.none")]
    suggestions = [f"{r.product}: {r.reason}" for r in whitespace_rows(p).itertuples()] or [
        t("brief.none")
    ]
    key_people = p.contacts.sort_values(
        ["buying_role", "relationship_strength"], ascending=[True, False]
    ).head(5)
    stakeholders = [
        f"{r.name} · {r.title} · {label('buying_role', r.buying_role)} · "
        f"{label('support', r.support)} · "
        + t(
            "brief.last_contact",
            date=fmt_date(r.last_contacted_on.date()) if pd.notna(r.last_contacted_on) else "—",
        )
        for r in key_people.itertuples()
    ] or [t("brief.none")]
    return Brief(
        title=t("brief.title", name=h["name"]),
        subtitle=" · ".join(
            [
                h["code"],
                label("tier", h["tier"]),
                label("industry", h["industry"]),
                t("profile.owner", name=h["owner_name"] or "—"),
                t("brief.as_of", date=fmt_date(p.as_of)),
            ]
        ),
        figures=figures,
        changes=change_sentences(p),
        risks=_risks(p),
        talking_points=_talking_points(p),
        open_items=open_items,
        suggestions=suggestions,
        stakeholders=stakeholders,
        footer=t("brief.footer", money=fmt_money(p.value.revenue_12m)),
        headings={
            key: t(f"brief.section.{key}")
            for key in (
                "figures",
                "changes",
                "risks",
                "talking_points",
                "open_items",
                "suggestions",
                "stakeholders",
            )
        }
        | {"metric": t("profile.metric"), "value": t("brief.value"), "context": t("brief.context")},
    )


def _sections(b: Brief) -> list[tuple[str, list[str]]]:
    h = b.headings
    return [
        (h["changes"], b.changes),
        (h["risks"], b.risks),
        (h["talking_points"], b.talking_points),
        (h["open_items"], b.open_items),
        (h["suggestions"], b.suggestions),
        (h["stakeholders"], b.stakeholders),
    ]


def to_markdown(b: Brief) -> str:
    """The brief as Markdown."""
    h = b.headings
    lines = [
        f"# {b.title}",
        "",
        b.subtitle,
        "",
        f"## {h['figures']}",
        "",
        f"| {h['metric']} | {h['value']} | {h['context']} |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {v} | {c} |" for a, v, c in b.figures]
    for heading, items in _sections(b):
        lines += ["", f"## {heading}", ""] + [f"- {x}" for x in items]
    lines += ["", f"_{b.footer}_", ""]
    return "\n".join(lines)


@cache
def font_path() -> Path:
    """The CJK font shipped by the mplfonts package (nothing is downloaded)."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the mplfonts package (CJK font) is not installed")
    path = Path(spec.submodule_search_locations[0]) / "fonts" / FONT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{FONT_FILE} is missing from the mplfonts package")
    return path


def to_pdf(b: Brief) -> bytes:
    """The brief as a one-page A4 PDF with an embedded (subset) CJK font."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_margins(14, 12, 14)
    pdf.add_page()
    pdf.add_font("cjk", "", str(font_path()))
    # One weight ships; headings use it too (fpdf2 would otherwise ask for a bold file).
    pdf.add_font("cjk", "B", str(font_path()))
    pdf.set_title(b.title)
    pdf.set_font("cjk", size=15)
    pdf.multi_cell(0, 8, b.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("cjk", size=8.5)
    pdf.set_text_color(90, 90, 90)
    pdf.multi_cell(0, 5, b.subtitle, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(1)
    pdf.set_font("cjk", size=10.5)
    pdf.cell(0, 6, b.headings["figures"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("cjk", size=8)
    with pdf.table(col_widths=(30, 25, 75), line_height=4.6, first_row_as_headings=True) as table:
        row = table.row()
        for head in (b.headings["metric"], b.headings["value"], b.headings["context"]):
            row.cell(head)
        for a, v, c in b.figures:
            row = table.row()
            for cell in (a, v, c):
                row.cell(cell)
    for heading, items in _sections(b):
        pdf.ln(1.5)
        pdf.set_font("cjk", size=10.5)
        pdf.cell(0, 6, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("cjk", size=8)
        for item in items:
            pdf.multi_cell(0, 4.4, f"• {item}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font("cjk", size=7)
    pdf.set_text_color(110, 110, 110)
    pdf.multi_cell(0, 4, b.footer, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def render_brief_downloads(p) -> None:
    """Download buttons for the brief (PDF and Markdown)."""
    b = build_brief(p)
    name = f"brief-{p.header['code']}-{p.as_of:%Y%m}"
    # The PDF is made only when asked for: subsetting the CJK font takes a moment.
    st.download_button(
        t("brief.download_pdf"),
        lambda: to_pdf(b),
        file_name=f"{name}.pdf",
        mime="application/pdf",
        icon=":material/picture_as_pdf:",
        width="stretch",
        on_click="ignore",
        key="brief_pdf",
    )
    st.download_button(
        t("brief.download_md"),
        to_markdown(b).encode("utf-8"),
        file_name=f"{name}.md",
        mime="text/markdown",
        icon=":material/description:",
        width="stretch",
        on_click="ignore",
        key="brief_md",
    )

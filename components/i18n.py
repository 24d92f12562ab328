"""Translations (``locales/*.toml``) and locale-aware numbers and dates via Babel."""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from pathlib import Path

import streamlit as st
from babel.dates import format_date, format_skeleton
from babel.numbers import format_compact_decimal, format_decimal, format_percent

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = {"zh": "简体中文", "en": "English"}
BABEL_LOCALE = {"zh": "zh_Hans_CN", "en": "en"}
DEFAULT_LANGUAGE = "zh"


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalog(lang: str) -> dict[str, str]:
    """All messages of one language as ``dotted.key -> text``."""
    path = LOCALES_DIR / f"{lang}.toml"
    return _flatten(tomllib.loads(path.read_text(encoding="utf-8")))


def current_language() -> str:
    """The viewer's language for this session."""
    lang = st.session_state.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, /, lang: str | None = None, **values: object) -> str:
    """The message ``key`` in the current language, with ``{placeholders}`` filled."""
    text = catalog(lang or current_language()).get(key)
    if text is None:
        text = catalog("en").get(key, key)
    return text.format(**values) if values else text


def label(group: str, code: object, lang: str | None = None) -> str:
    """Translated name of a code, e.g. ``label("tier", "strategic")``.

    Tier names an admin configured take precedence over the built-in translations.
    """
    lang = lang or current_language()
    if group == "tier":
        configured = st.session_state.get("tier_names", {}).get(code)
        if configured:
            return configured[1] if lang == "zh" else configured[0]
    text = catalog(lang).get(f"{group}.{code}")
    return text if text is not None else str(code)


def _loc(lang: str | None = None) -> str:
    return BABEL_LOCALE[lang or current_language()]


def fmt_money(value: float | None, currency: str = "¥", lang: str | None = None) -> str:
    """Compact amount: 1.2亿 / 5.7万 in Chinese, 123.5M / 56.8K in English."""
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    lang = lang or current_language()
    # Below the first compact unit (万 in Chinese, K in English) show whole yuan.
    if abs(value) < (1e4 if lang == "zh" else 1e3):
        body = format_decimal(round(abs(value)), format="#,##0", locale=_loc(lang))
    else:
        body = format_compact_decimal(
            abs(value), format_type="short", locale=_loc(lang), fraction_digits=1
        )
    return f"{sign}{currency}{body}"


def fmt_int(value: float | None) -> str:
    """Whole number with the locale's grouping."""
    return "—" if value is None else format_decimal(round(value), format="#,##0", locale=_loc())


def fmt_number(value: float | None, digits: int = 1) -> str:
    """Decimal number with ``digits`` fraction digits."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0." + "0" * digits, locale=_loc())


def fmt_pct(value: float | None, digits: int = 1, signed: bool = False) -> str:
    """A ratio as a percentage, optionally with a sign."""
    if value is None:
        return "—"
    pattern = "#,##0." + "0" * digits + "%"
    if signed:
        pattern = "+" + pattern + ";-" + pattern
    return format_percent(value, format=pattern, locale=_loc())


def fmt_date(day: dt.date | None) -> str:
    """A date in the locale's medium format."""
    return "—" if day is None else format_date(day, format="medium", locale=_loc())


def fmt_month(day: dt.date, lang: str | None = None) -> str:
    """A month like 2026年10月 or Oct 2026."""
    return format_skeleton("yMMM", day, locale=_loc(lang))


def money_unit(largest: float) -> tuple[float, str]:
    """Divisor and unit for an axis of amounts: 万元 / 亿元 in Chinese, K / M / B CNY in English."""
    big = abs(largest)
    if current_language() == "zh":
        return (1e8, "亿元") if big >= 1e8 else (1e4, "万元")
    for divisor, unit in ((1e9, "B CNY"), (1e6, "M CNY"), (1e3, "K CNY")):
        if big >= divisor:
            return divisor, unit
    return 1.0, "CNY"

"""Unit: every user-facing string exists in both languages, with the same placeholders."""

import re
import string
from pathlib import Path

import pytest

from components.i18n import catalog, fmt_money
from data_access import demo_catalog
from data_access.schema import (
    BUYING_ROLES,
    CHANNELS,
    HEALTH_BANDS,
    INTERVENTION_KINDS,
    INTERVENTION_STATUSES,
    ROLES,
    STAGES,
    TIERS,
)

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("components/*.py")]


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys() -> None:
    assert set(catalog("en")) == set(catalog("zh"))


def test_placeholders_agree_between_languages() -> None:
    en, zh = catalog("en"), catalog("zh")
    wrong = [k for k in en if _placeholders(en[k]) != _placeholders(zh[k])]
    assert wrong == []


def test_every_key_used_in_code_exists() -> None:
    used = set()
    for path in SOURCES:
        used |= set(re.findall(r"\bt\(\s*[\"']([a-z0-9_]+\.[a-z0-9_.]+)[\"']", path.read_text()))
    assert used, "no message keys found: the pattern is out of date"
    assert sorted(used - set(catalog("en"))) == []


@pytest.mark.parametrize(
    ("group", "codes"),
    [
        ("tier", TIERS),
        ("band", HEALTH_BANDS),
        ("stage", STAGES),
        ("role", ROLES),
        ("region", demo_catalog.REGIONS),
        ("industry", demo_catalog.INDUSTRIES),
        ("channel", CHANNELS),
        ("buying_role", BUYING_ROLES),
        ("status", INTERVENTION_STATUSES),
        ("intervention", INTERVENTION_KINDS),
        ("team_role", ("relationship_manager", *demo_catalog.DEPARTMENTS)),
        ("segment", ("large", "mid", "sme")),
        ("sentiment", ("1", "0", "-1")),
        ("support", ("-2", "-1", "0", "1", "2")),
    ],
)
def test_every_code_has_a_label(group: str, codes: tuple[str, ...]) -> None:
    for lang in ("en", "zh"):
        missing = [c for c in codes if f"{group}.{c}" not in catalog(lang)]
        assert missing == [], lang


def test_amounts_use_wan_and_yi_in_chinese_and_k_m_b_in_english() -> None:
    assert fmt_money(123_456_789, lang="zh") == "¥1.2亿"
    assert fmt_money(56_789, lang="zh") == "¥5.7万"
    assert fmt_money(123_456_789, lang="en") == "¥123.5M"
    assert fmt_money(-1_234, lang="en") == "-¥1.2K"
    assert fmt_money(3917.2899999999995, lang="zh") == "¥3,917"
    assert fmt_money(999.6, lang="en") == "¥1,000"

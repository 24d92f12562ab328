"""What each importable entity looks like: its fields, their types and rules, its natural key.

A field's ``name`` is the canonical column header (also what exports and templates use);
``aliases`` are other headers recognised when a file is mapped automatically, including
the Chinese ones that CRM and core-banking extracts carry.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from data_access import demo_catalog
from data_access.schema import (
    BUYING_ROLES,
    CHANNELS,
    INTERVENTION_KINDS,
    INTERVENTION_OUTCOMES,
    INTERVENTION_PRIORITIES,
    INTERVENTION_STATUSES,
    OFFER_RESPONSES,
    ROLES,
    STAGES,
    SURVEYS,
)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
MONEY_MAX = 1e12
SCORE_RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


@dataclass(frozen=True)
class Field:
    """One column of an import file."""

    name: str
    kind: str  # text | int | number | date | month | bool | choice | ref
    required: bool = False
    max_len: int = 200
    choices: tuple[str, ...] = ()
    group: str | None = None  # message group whose labels are accepted as choice values
    ref: str | None = None  # accounts | products | teams | users | contacts
    target: str | None = None
    low: float | None = None
    high: float | None = None
    default: object = None
    past_only: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def column(self) -> str:
        """The database column this field fills."""
        if self.target:
            return self.target
        return f"{self.name}_id" if self.kind == "ref" else self.name


@dataclass(frozen=True)
class Entity:
    """An importable entity: the table it fills and the fields forming its natural key."""

    name: str
    table: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _account(**kw) -> Field:
    return Field(
        "account",
        "ref",
        required=True,
        ref="accounts",
        aliases=("account_code", "客户编号", "客户代码", "客户号"),
        **kw,
    )


def _product(name: str = "product", required: bool = True) -> Field:
    return Field(
        name,
        "ref",
        required=required,
        ref="products",
        aliases=("product_code", "产品代码", "产品编号", "产品"),
    )


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "teams",
            "teams",
            (
                Field("code", "text", True, 32, aliases=("team_code", "团队代码", "团队编号")),
                Field("name_en", "text", True, 120, aliases=("english_name", "英文名称")),
                Field(
                    "name_zh", "text", True, 120, aliases=("chinese_name", "中文名称", "团队名称")
                ),
                Field(
                    "region",
                    "choice",
                    True,
                    choices=demo_catalog.REGIONS,
                    group="region",
                    aliases=("区域", "地区"),
                ),
            ),
            ("code",),
        ),
        Entity(
            "users",
            "users",
            (
                Field("username", "text", True, 64, aliases=("login", "用户名", "登录名")),
                Field("display_name", "text", True, 120, aliases=("name", "姓名", "显示名称")),
                Field("role", "choice", True, choices=ROLES, group="role", aliases=("角色",)),
                Field("team", "ref", ref="teams", aliases=("team_code", "团队", "团队代码")),
                Field(
                    "locale",
                    "choice",
                    choices=("zh", "en"),
                    default="zh",
                    aliases=("language", "语言"),
                ),
                Field("active", "bool", default=True, aliases=("enabled", "启用", "状态")),
                Field("email", "text", max_len=254, aliases=("e-mail", "mail", "邮箱", "电子邮件")),
            ),
            ("username",),
        ),
        Entity(
            "accounts",
            "accounts",
            (
                Field(
                    "code",
                    "text",
                    True,
                    32,
                    aliases=("account_code", "客户编号", "客户代码", "客户号"),
                ),
                Field(
                    "name",
                    "text",
                    True,
                    200,
                    aliases=("account_name", "客户名称", "名称", "企业名称"),
                ),
                Field(
                    "industry",
                    "choice",
                    True,
                    choices=demo_catalog.INDUSTRIES,
                    group="industry",
                    aliases=("行业",),
                ),
                Field(
                    "region",
                    "choice",
                    True,
                    choices=demo_catalog.REGIONS,
                    group="region",
                    aliases=("区域", "地区"),
                ),
                Field(
                    "segment",
                    "choice",
                    True,
                    choices=("large", "mid", "sme"),
                    group="segment",
                    aliases=("客户规模", "规模"),
                ),
                Field("tier", "choice", True, group="tier", aliases=("客群", "客户分层", "分层")),
                Field("team", "ref", True, ref="teams", aliases=("team_code", "团队", "团队代码")),
                Field(
                    "owner", "ref", ref="users", aliases=("owner_username", "客户经理", "负责人")
                ),
                Field(
                    "onboarded_on",
                    "date",
                    True,
                    past_only=True,
                    aliases=("onboarded", "开户日期", "建立关系日期"),
                ),
                Field(
                    "status",
                    "choice",
                    choices=("active", "churned"),
                    default="active",
                    group="account_status",
                    aliases=("状态",),
                ),
                Field("churned_on", "date", past_only=True, aliases=("流失日期",)),
                Field(
                    "parent", "ref", ref="accounts", aliases=("parent_code", "集团客户", "上级客户")
                ),
                Field(
                    "annual_turnover",
                    "number",
                    low=0,
                    high=1e14,
                    aliases=("turnover", "年营业额", "营业收入"),
                ),
                Field("potential", "number", low=0, high=MONEY_MAX, aliases=("潜力", "潜在收入")),
            ),
            ("code",),
        ),
        Entity(
            "products",
            "products",
            (
                Field("code", "text", True, 32, aliases=("product_code", "产品代码", "产品编号")),
                Field("name_en", "text", True, 120, aliases=("english_name", "英文名称")),
                Field(
                    "name_zh", "text", True, 120, aliases=("chinese_name", "中文名称", "产品名称")
                ),
                Field("category", "text", True, 40, aliases=("产品类别", "类别")),
                Field(
                    "margin_rate",
                    "number",
                    low=0,
                    high=1,
                    default=0.3,
                    aliases=("margin", "利润率"),
                ),
            ),
            ("code",),
        ),
        Entity(
            "holdings",
            "holdings",
            (
                _account(),
                _product(),
                Field(
                    "opened_on",
                    "date",
                    True,
                    past_only=True,
                    aliases=("opened", "开通日期", "签约日期"),
                ),
                Field(
                    "closed_on", "date", past_only=True, aliases=("closed", "关闭日期", "解约日期")
                ),
            ),
            ("account_id", "product_id", "opened_on"),
        ),
        Entity(
            "revenue",
            "revenue_monthly",
            (
                _account(),
                _product(),
                Field("month", "month", True, past_only=True, aliases=("period", "月份", "期间")),
                Field(
                    "revenue",
                    "number",
                    True,
                    low=0,
                    high=MONEY_MAX,
                    aliases=("收入", "营业收入", "金额"),
                ),
                Field("balance", "number", low=0, high=1e14, aliases=("余额", "日均余额")),
            ),
            ("account_id", "product_id", "month"),
        ),
        Entity(
            "transactions",
            "transactions",
            (
                _account(),
                Field(
                    "occurred_on",
                    "date",
                    True,
                    past_only=True,
                    aliases=("date", "交易日期", "日期"),
                ),
                Field(
                    "amount", "number", True, low=0.01, high=MONEY_MAX, aliases=("交易金额", "金额")
                ),
            ),
            ("account_id", "occurred_on", "amount"),
        ),
        Entity(
            "contacts",
            "contacts",
            (
                _account(),
                Field("name", "text", True, 120, aliases=("contact_name", "联系人", "姓名")),
                Field("title", "text", max_len=120, default="", aliases=("职务", "职位")),
                Field(
                    "buying_role",
                    "choice",
                    True,
                    choices=BUYING_ROLES,
                    group="buying_role",
                    aliases=("role", "决策角色", "角色"),
                ),
                Field("support", "int", low=-2, high=2, default=0, aliases=("支持度", "态度")),
                Field(
                    "relationship_strength",
                    "int",
                    low=1,
                    high=5,
                    default=3,
                    aliases=("relationship", "关系强度"),
                ),
                Field(
                    "last_contacted_on",
                    "date",
                    past_only=True,
                    aliases=("last_contacted", "最近联系日期"),
                ),
            ),
            ("account_id", "name"),
        ),
        Entity(
            "interactions",
            "interactions",
            (
                _account(),
                Field(
                    "occurred_on",
                    "date",
                    True,
                    past_only=True,
                    aliases=("date", "日期", "互动日期"),
                ),
                Field(
                    "channel",
                    "choice",
                    True,
                    choices=CHANNELS,
                    group="channel",
                    aliases=("渠道", "方式"),
                ),
                Field("subject", "text", True, 200, aliases=("主题", "事项")),
                Field("notes", "text", max_len=5000, aliases=("备注", "记录")),
                Field("sentiment", "int", low=-1, high=1, default=0, aliases=("情绪", "态度")),
                Field("contact", "ref", ref="contacts", aliases=("contact_name", "联系人")),
                Field("user", "ref", ref="users", aliases=("username", "员工", "客户经理")),
            ),
            ("account_id", "occurred_on", "channel", "subject"),
        ),
        Entity(
            "survey_responses",
            "survey_responses",
            (
                _account(),
                Field(
                    "survey",
                    "choice",
                    True,
                    choices=SURVEYS,
                    group="survey",
                    aliases=("问卷", "调查类型"),
                ),
                Field("score", "int", True, low=0, high=10, aliases=("得分", "评分", "分数")),
                Field(
                    "responded_on",
                    "date",
                    True,
                    past_only=True,
                    aliases=("date", "日期", "答卷日期"),
                ),
                Field("comment", "text", max_len=5000, aliases=("意见", "评论", "留言")),
                Field(
                    "channel",
                    "choice",
                    choices=CHANNELS,
                    group="channel",
                    default="online",
                    aliases=("渠道",),
                ),
                Field("contact", "ref", ref="contacts", aliases=("contact_name", "联系人")),
            ),
            ("account_id", "survey", "responded_on", "contact_id"),
        ),
        Entity(
            "lifecycle_events",
            "lifecycle_events",
            (
                _account(),
                Field(
                    "stage",
                    "choice",
                    True,
                    choices=STAGES,
                    group="stage",
                    aliases=("阶段", "生命周期阶段"),
                ),
                Field(
                    "entered_on", "date", True, past_only=True, aliases=("date", "日期", "进入日期")
                ),
                Field("reason", "text", max_len=200, aliases=("原因",)),
            ),
            ("account_id", "stage", "entered_on"),
        ),
        Entity(
            "interventions",
            "interventions",
            (
                Field(
                    "reference",
                    "text",
                    True,
                    60,
                    target="request_token",
                    aliases=("id", "ref", "编号", "单号"),
                ),
                _account(),
                Field(
                    "kind",
                    "choice",
                    True,
                    choices=INTERVENTION_KINDS,
                    group="intervention",
                    aliases=("type", "类型"),
                ),
                Field("title", "text", True, 200, aliases=("标题", "事项")),
                Field("owner", "ref", ref="users", aliases=("owner_username", "负责人")),
                Field("due_on", "date", aliases=("due", "截止日期")),
                Field(
                    "status",
                    "choice",
                    choices=INTERVENTION_STATUSES,
                    group="status",
                    default="planned",
                    aliases=("状态",),
                ),
                Field(
                    "priority",
                    "choice",
                    choices=INTERVENTION_PRIORITIES,
                    group="priority",
                    default="normal",
                    aliases=("优先级",),
                ),
                Field("completed_on", "date", past_only=True, aliases=("completed", "完成日期")),
                Field(
                    "outcome",
                    "choice",
                    choices=INTERVENTION_OUTCOMES,
                    group="outcome",
                    aliases=("结果",),
                ),
                Field("notes", "text", max_len=5000, aliases=("备注",)),
                Field("cost", "number", low=0, high=1e9, aliases=("费用", "成本")),
                _product("offered_product", required=False),
                Field(
                    "offer_response",
                    "choice",
                    choices=OFFER_RESPONSES,
                    group="offer_response",
                    aliases=("客户反馈",),
                ),
            ),
            ("request_token",),
        ),
        Entity(
            "loyalty_points",
            "loyalty_points",
            (
                _account(),
                Field("month", "month", True, past_only=True, aliases=("period", "月份")),
                Field("earned", "number", True, low=0, high=1e10, aliases=("获得积分", "积分获得")),
                Field(
                    "redeemed",
                    "number",
                    low=0,
                    high=1e10,
                    default=0.0,
                    aliases=("兑换积分", "积分兑换"),
                ),
                Field("balance", "number", True, low=0, high=1e11, aliases=("积分余额", "余额")),
            ),
            ("account_id", "month"),
        ),
    )
}

INTERVENTION_REFERENCE_PREFIX = "import:"


def normalise_header(text: str) -> str:
    """Header text compared for automatic mapping: width-folded, lower case, no separators."""
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    return re.sub(r"[\s_\-./()（）]+", "", folded)


def auto_mapping(entity: Entity, columns: list[str]) -> dict[str, str]:
    """Field → file column for every field whose name or alias matches a header."""
    by_norm = {normalise_header(c): c for c in reversed(columns)}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for f in entity.fields:
        for candidate in (f.name, *f.aliases):
            col = by_norm.get(normalise_header(candidate))
            if col is not None and col not in used:
                mapping[f.name] = col
                used.add(col)
                break
    return mapping


@cache
def _catalog(lang: str) -> dict:
    return tomllib.loads((LOCALES_DIR / f"{lang}.toml").read_text(encoding="utf-8"))


def error_messages(lang: str = "en") -> dict[str, str]:
    """Import problem messages of one language as ``import.error.<code> -> text``."""
    return {f"import.error.{k}": v for k, v in _catalog(lang)["import"]["error"].items()}


@cache
def _labels() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for lang in ("en", "zh"):
        tree = _catalog(lang)
        for group, values in tree.items():
            if isinstance(values, dict):
                bucket = out.setdefault(group, {})
                for code, text in values.items():
                    if isinstance(text, str):
                        bucket[normalise_header(text)] = code
    return out


def choice_lookup(f: Field, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Accepted spellings of a choice field → its code: the code and its names in both languages."""
    choices = f.choices or tuple((extra or {}).values())
    lookup: dict[str, str] = {}
    if f.group:
        for text, code in _labels().get(f.group, {}).items():
            if code in choices:
                lookup[text] = code
    for spelled, code in (extra or {}).items():
        lookup[normalise_header(spelled)] = code
    for code in choices:
        lookup[normalise_header(code)] = code
    return lookup

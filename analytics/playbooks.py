"""Playbooks: a named sequence of interventions applied to one or many accounts."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import pandas as pd

KINDS = (
    "care_visit",
    "business_review",
    "executive_sponsor_visit",
    "pricing_offer",
    "cross_sell_campaign",
    "service_recovery",
    "training",
    "event_invite",
)
OWNERS = ("account_owner", "me")
PRIORITIES = ("low", "normal", "high")


@dataclass(frozen=True)
class PlaybookStep:
    """One intervention of a playbook, due ``offset_days`` after the start."""

    kind: str
    title_en: str
    title_zh: str
    offset_days: int
    owner: str = "account_owner"
    priority: str = "normal"


@dataclass(frozen=True)
class Playbook:
    code: str
    name_en: str
    name_zh: str
    steps: tuple[PlaybookStep, ...]

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if not self.code.strip() or len(self.code) > 40:
            out.append(("code", "required"))
        if not self.name_en.strip() or not self.name_zh.strip():
            out.append(("name", "required"))
        if not self.steps:
            out.append(("steps", "required"))
        for step in self.steps:
            if (
                step.kind not in KINDS
                or step.owner not in OWNERS
                or step.priority not in PRIORITIES
            ):
                out.append(("steps", "invalid_choice"))
            if not 0 <= step.offset_days <= 365:
                out.append(("offset_days", "out_of_range"))
            if not step.title_en.strip() or not step.title_zh.strip():
                out.append(("title", "required"))
            if len(step.title_en) > 95 or len(step.title_zh) > 95:
                out.append(("title", "too_long_200"))
        return sorted(set(out))

    def to_json(self) -> dict:
        return asdict(self) | {"steps": [asdict(s) for s in self.steps]}

    @classmethod
    def from_json(cls, value: dict) -> Playbook:
        steps = tuple(PlaybookStep(**s) for s in value["steps"])
        return cls(value["code"], value["name_en"], value["name_zh"], steps)


def _step(kind: str, en: str, zh: str, days: int, priority: str = "normal") -> PlaybookStep:
    return PlaybookStep(kind, en, zh, days, "account_owner", priority)


DEFAULT_PLAYBOOKS = (
    Playbook(
        "recovery",
        "Service recovery",
        "服务补救",
        (
            _step("service_recovery", "Resolve the complaint", "处理投诉", 0, "high"),
            _step("care_visit", "Follow-up visit", "回访", 14),
            _step("business_review", "Review the relationship", "关系回顾", 45),
        ),
    ),
    Playbook(
        "sponsor_change",
        "New decision maker",
        "决策人变更",
        (
            _step(
                "executive_sponsor_visit", "Meet the new decision maker", "拜会新决策人", 0, "high"
            ),
            _step(
                "business_review", "Business review with the new sponsor", "与新决策人业务回顾", 30
            ),
            _step("training", "Onboard their team on our services", "为其团队做服务培训", 60),
        ),
    ),
    Playbook(
        "qbr_cycle",
        "Quarterly business review",
        "季度业务回顾",
        (
            _step("business_review", "Quarterly business review", "季度业务回顾", 0),
            _step("care_visit", "Check on agreed actions", "跟进约定事项", 30),
        ),
    ),
    Playbook(
        "cross_sell",
        "Cross-sell push",
        "交叉销售",
        (
            _step("cross_sell_campaign", "Present the product proposal", "介绍产品方案", 0),
            _step("care_visit", "Follow up on the proposal", "跟进方案", 21),
        ),
    ),
)


def plan(
    playbook: Playbook,
    accounts: pd.DataFrame,
    start: dt.date,
    me: int,
) -> pd.DataFrame:
    """The interventions applying ``playbook`` would create (the preview, and the write).

    ``accounts``: account_id, code, name, owner_id. Returns account_id, code, name, step,
    kind, title (bilingual), due_on, owner_id, priority.
    """
    rows = []
    for acc in accounts.itertuples(index=False):
        for n, step in enumerate(playbook.steps):
            owner = acc.owner_id if step.owner == "account_owner" and pd.notna(acc.owner_id) else me
            rows.append(
                {
                    "account_id": int(acc.account_id),
                    "code": acc.code,
                    "name": acc.name,
                    "step": n + 1,
                    "kind": step.kind,
                    "title": f"{step.title_en} · {step.title_zh}",
                    "due_on": start + dt.timedelta(days=step.offset_days),
                    "owner_id": int(owner),
                    "priority": step.priority,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "account_id",
            "code",
            "name",
            "step",
            "kind",
            "title",
            "due_on",
            "owner_id",
            "priority",
        ],
    )
